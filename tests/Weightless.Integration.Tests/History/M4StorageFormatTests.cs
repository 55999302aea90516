using Azure.Data.Tables;
using Weightless.Core.History;
using Weightless.Core.Runs;

namespace Weightless.Integration.Tests.History;

/// <summary>
/// Rollup levels and page formats across versions: runs stored before the intermediate levels and the
/// compact page format existed still answer exactly (planned with the levels they have), keep doing so
/// as they grow, and a chart reaching a run's ends reads no raw rows.
/// </summary>
public class M4StorageFormatTests
{
    private readonly HistoryTestContext _context = new();

    private HistoryStore History => _context.History;

    /// <summary>Rewrites a run's derived data as the previous version stored it: levels 0-3 only, fixed-width pages, no level count or first step in the state.</summary>
    private async Task MakeLegacyAsync(RunKey run)
    {
        await History.FlushRollupsAsync(run);
        var table = await _context.Storage.TableAsync(HistoryStore.TableName);
        var pages = new List<TableEntity>();
        await foreach (var entity in table.QueryPartitionAsync<TableEntity>(run.PartitionKey, "m:", "m;"))
        {
            pages.Add(entity);
        }
        foreach (var entity in pages)
        {
            var level = entity.GetInt32("Level")!.Value;
            if (level >= M4Levels.LegacyLevelCount)
            {
                await table.DeleteAsync(run.PartitionKey, entity.RowKey);
                continue;
            }
            var page = LineStream.DecodePage(entity);
            var legacy = new TableEntity(run.PartitionKey, entity.RowKey)
            {
                ["Applied"] = page.AppliedThrough,
                ["Metric"] = entity.GetString("Metric"),
                ["Level"] = level,
                ["Page"] = entity.GetInt64("Page"),
            };
            LineCodec.WriteData(legacy, page.Serialize(M4Page.FixedFormat, M4Levels.Widths[level], entity.GetInt64("Page")!.Value));
            await table.UpsertAsync(legacy);
        }
        var state = (await table.GetAsync<TableEntity>(run.PartitionKey, "keys"))!;
        state.Remove("Levels");
        state.Remove("FirstStep");
        // Nor a rollup watermark: every folded line was in the pages.
        state.Remove("RollupApplied");
        state.Remove("RollupMaxStep");
        await table.UpsertAsync(state);
    }

    private async Task AssertMatchesBruteForceAsync(RunKey run, int levelCount, Random random)
    {
        var points = await _context.LossPointsAsync(run);
        var last = points[^1].Step;
        for (var q = 0; q < 25; q++)
        {
            var min = q % 3 == 0 ? 0 : random.NextInt64(0, last);
            var max = q % 2 == 0 ? last + random.Next(0, 40) : random.NextInt64(min, last + 1);
            var buckets = random.Next(1, 120);
            var expected = M4Compute.BruteForce(points, M4Levels.PlanQuery(min, max, buckets, levelCount));
            Assert.Equal(expected, await History.QueryM4Async(run, "loss", min, max, buckets));
        }
    }

    [Fact]
    public async Task Runs_stored_with_the_legacy_levels_and_fixed_pages_answer_exactly_and_keep_their_level_set_as_they_grow()
    {
        var run = HistoryTestContext.NewRun();
        for (var post = 0; post < 3; post++)
        {
            await History.AppendHistoryAsync(run, post * 700, HistoryTestContext.Lines(post * 700, 700));
        }
        Assert.Equal(M4Levels.LevelCount, (await History.GetM4ExtentAsync(run)).Levels);
        await MakeLegacyAsync(run);
        var extent = await History.GetM4ExtentAsync(run);
        Assert.Equal(M4Levels.LegacyLevelCount, extent.Levels);
        Assert.Null(extent.FirstStep);
        // 2,100 steps at 30 buckets: the current levels would use width 64, the legacy run has only 16.
        Assert.Equal(64, M4Levels.PlanQuery(0, 2099, 30).LevelWidth);
        var random = new Random(4);
        await AssertMatchesBruteForceAsync(run, M4Levels.LegacyLevelCount, random);

        await History.AppendHistoryAsync(run, 2100, HistoryTestContext.Lines(2100, 900));
        await AssertMatchesBruteForceAsync(run, M4Levels.LegacyLevelCount, random);
        await History.FlushRollupsAsync(run);
        var table = await _context.Storage.TableAsync(HistoryStore.TableName);
        var levels = new HashSet<int>();
        var formats = new HashSet<int>();
        await foreach (var entity in table.QueryPartitionAsync<TableEntity>(run.PartitionKey, "m:", "m;"))
        {
            levels.Add(entity.GetInt32("Level")!.Value);
            formats.Add(LineStream.PageFormat(entity));
        }
        Assert.All(levels, level => Assert.True(level < M4Levels.LegacyLevelCount));
        // Pages the new post touched were rewritten compact; untouched ones stay fixed-width and readable.
        Assert.Equal([M4Page.FixedFormat, M4Page.CompactFormat], formats.Order());

        // A rebuild (as after a rewind) derives everything again with the current levels.
        await History.Stream.RebuildAsync(run, CancellationToken.None);
        Assert.Equal(M4Levels.LevelCount, (await History.GetM4ExtentAsync(run)).Levels);
        Assert.Equal(0, (await History.GetM4ExtentAsync(run)).FirstStep);
        await AssertMatchesBruteForceAsync(run, M4Levels.LevelCount, random);
    }

    [Fact]
    public async Task A_range_reaching_the_runs_ends_reads_only_rollup_pages()
    {
        var run = HistoryTestContext.NewRun();
        // Steps 40..3039: neither end is level-aligned.
        await History.AppendHistoryAsync(run, 0, HistoryTestContext.Lines(40, 3000));
        var points = await _context.LossPointsAsync(run);
        foreach (var (min, max, buckets) in new[] { (0L, 3039L, 30), (40L, 3039L, 11), (3L, 5000L, 40), (0L, 3039L, 100) })
        {
            var stats = new M4QueryStats();
            var actual = await History.QueryM4Async(run, ["loss"], min, max, buckets, null, stats);
            var plan = M4Levels.PlanQuery(min, max, buckets);
            Assert.False(plan.IsRaw);
            Assert.Equal(M4Compute.BruteForce(points, plan), actual["loss"]);
            Assert.Equal(0, stats[M4Stage.RawRead].Calls);
        }
        // Cutting into the data still reads the raw edge.
        var inner = new M4QueryStats();
        var cut = await History.QueryM4Async(run, ["loss"], 100, 2999, 20, null, inner);
        Assert.Equal(M4Compute.BruteForce(points, M4Levels.PlanQuery(100, 2999, 20)), cut["loss"]);
        Assert.Equal(2, inner[M4Stage.RawRead].Calls);
    }
}
