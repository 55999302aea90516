using Azure.Data.Tables;
using Weightless.Core.History;
using Weightless.Core.Runs;

namespace Weightless.Integration.Tests.History;

/// <summary>
/// Chart reads store a snapshot of each metric's pages at the level they read, under the run state's ETag:
/// a fresh store (a new instance: empty page cache) answers a chart of an unchanged run from point reads
/// alone, exactly, and every change to the history (a post, a rewind) makes the snapshots stale.
/// </summary>
public class RollupSnapshotTests
{
    private readonly HistoryTestContext _context = new();

    /// <summary>A store of its own (an empty <see cref="RollupPageCache"/>) over the same tables: a cold instance.</summary>
    private HistoryStore FreshStore() => new(_context.Storage, TimeProvider.System);

    private async Task<M4QueryStats> AssertExactAsync(HistoryStore store, RunKey run, long min, long max, int buckets)
    {
        var stats = new M4QueryStats();
        var points = await _context.LossPointsAsync(run);
        var actual = await store.QueryM4Async(run, ["loss"], min, max, buckets, null, stats);
        Assert.Equal(M4Compute.BruteForce(points, M4Levels.PlanQuery(min, max, buckets)), actual["loss"]);
        return stats;
    }

    [Fact]
    public async Task A_fresh_store_answers_an_unchanged_run_from_snapshots_exactly_and_a_post_or_rewind_makes_them_stale()
    {
        var run = HistoryTestContext.NewRun();
        await _context.History.AppendHistoryAsync(run, 0, HistoryTestContext.Lines(0, 5000));

        // The first full-range read queries the pages and stores the snapshot.
        var first = await AssertExactAsync(FreshStore(), run, 0, 4999, 60);
        Assert.Equal(1, first[M4Stage.PageRead].Calls);
        Assert.Equal(1, first[M4Stage.SnapshotWrite].Items);

        // A cold instance: no page query; zoomed ranges at the same level are served by the same snapshot.
        foreach (var (min, max, buckets) in new[] { (0L, 4999L, 60), (0L, 9000L, 100), (700L, 4321L, 50) })
        {
            var plan = M4Levels.PlanQuery(min, max, buckets);
            Assert.Equal(M4Levels.PlanQuery(0, 4999, 60).Level, plan.Level);
            var cold = await AssertExactAsync(FreshStore(), run, min, max, buckets);
            Assert.Equal(0, cold[M4Stage.PageRead].Calls);
            Assert.Equal(1, cold[M4Stage.SnapshotRead].Items);
        }

        // A post (a spike in a page the snapshot holds): the snapshot is stale, the page is read again.
        var spike = HistoryTestContext.Line(5000, 1e9);
        await _context.History.AppendHistoryAsync(run, 5000, [spike, .. HistoryTestContext.Lines(5001, 999)]);
        var afterPost = await AssertExactAsync(FreshStore(), run, 0, 5999, 60);
        Assert.Equal(1, afterPost[M4Stage.PageRead].Calls);
        Assert.Contains((await FreshStore().QueryM4Async(run, "loss", 0, 5999, 60)), b => b.Max is { Step: 5000, Value: 1e9 });

        // A rewind before the spike: no snapshot taken before it answers any more.
        await _context.History.RewindAsync(run, 3500);
        await AssertExactAsync(FreshStore(), run, 0, 5999, 60);
        Assert.DoesNotContain(await FreshStore().QueryM4Async(run, "loss", 0, 5999, 60), b => b.Max is { Value: 1e9 });
    }

    [Fact]
    public async Task A_metric_without_pages_at_the_level_is_snapshotted_as_empty_and_a_partial_read_stores_nothing()
    {
        var run = HistoryTestContext.NewRun();
        // 9,000 steps: three pages at width 64 (4,096 steps a page).
        await _context.History.AppendHistoryAsync(run, 0, HistoryTestContext.Lines(0, 9000));
        var table = await _context.Storage.TableAsync(HistoryStore.TableName);

        // A range cutting into the run covers only part of its pages: nothing is stored.
        var partial = M4Levels.PlanQuery(4500, 8999, 40);
        Assert.Equal(64, partial.LevelWidth);
        await AssertExactAsync(FreshStore(), run, 4500, 8999, 40);
        Assert.Null(await table.GetAsync<TableEntity>(run.PartitionKey, RollupSnapshot.RowKey(partial.Level, "loss")));

        // A metric the run never logged: its empty snapshot spares the next cold read the query too.
        var store = FreshStore();
        var answer = await store.QueryM4Async(run, ["loss", "absent"], 0, 8999, 100, null, new M4QueryStats());
        Assert.Empty(answer["absent"]);
        var stats = new M4QueryStats();
        var again = await FreshStore().QueryM4Async(run, ["loss", "absent"], 0, 8999, 100, null, stats);
        Assert.Equal(0, stats[M4Stage.PageRead].Calls);
        Assert.Equal(2, stats[M4Stage.SnapshotRead].Items);
        Assert.Equal(answer["loss"], again["loss"]);
        Assert.Empty(again["absent"]);
    }
}
