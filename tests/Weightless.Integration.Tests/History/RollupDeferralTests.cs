using Azure.Data.Tables;
using Weightless.Core.History;
using Weightless.Core.Runs;

namespace Weightless.Integration.Tests.History;

/// <summary>
/// Rollup pages written behind a rollup watermark: a post folds its rows into pending rollups and pages are
/// written every 1,000 pending lines here (or on completion). M4 stays exact at every moment — while lines are
/// pending, after a flush, when a second instance (no cache) takes over mid-stream, and after completion —
/// and no line is ever counted twice in the pages.
/// </summary>
public class RollupDeferralTests
{
    private const int FlushLines = 1000;
    private readonly HistoryTestContext _context = new(FlushLines);

    private HistoryStore History => _context.History;

    /// <summary>Posts of <paramref name="count"/> spiky lines (NaN every 37th, some steps repeated and dropped).</summary>
    private static List<string> SpikyLines(long fromStep, int count) =>
        Enumerable.Range(0, count).Select(i =>
        {
            var step = fromStep + i;
            // Every 50th line repeats an earlier step: stored, but not an effective row.
            return i % 50 == 49
                ? HistoryTestContext.Line(step - 10, 1e6)
                : HistoryTestContext.Line(step, step % 97 == 0 ? -1e9 : null);
        }).ToList();

    private async Task AssertExactAsync(HistoryStore history, RunKey run, Random random, int queries = 30)
    {
        var points = await _context.LossPointsAsync(run);
        var last = points[^1].Step;
        for (var q = 0; q < queries; q++)
        {
            var min = q % 3 == 0 ? 0 : random.NextInt64(0, last);
            var max = q % 2 == 0 ? last + random.Next(0, 40) : random.NextInt64(min, last + 1);
            var buckets = random.Next(1, 60);
            var plan = M4Levels.PlanQuery(min, max, buckets);
            Assert.Equal(M4Compute.BruteForce(points, plan), await history.QueryM4Async(run, "loss", min, max, buckets));
        }
        // Whole-run charts at the widths that end inside a level bucket at the rollup watermark.
        foreach (var buckets in new[] { 1, 3, 10, 50 })
        {
            var plan = M4Levels.PlanQuery(0, last, buckets);
            Assert.Equal(M4Compute.BruteForce(points, plan), await history.QueryM4Async(run, "loss", 0, last, buckets));
        }
    }

    private Task<int> PageCountAsync(RunKey run) => RowCountAsync(run, "m:", "m;");

    /// <summary>Rows of the run's partition with keys in [from, to).</summary>
    private async Task<int> RowCountAsync(RunKey run, string from, string to)
    {
        var table = await _context.Storage.TableAsync(HistoryStore.TableName);
        var count = 0;
        await foreach (var _ in table.QueryPartitionAsync<TableEntity>(run.PartitionKey, from, to))
        {
            count++;
        }
        return count;
    }

    [Fact]
    public async Task M4_is_exact_with_pending_lines_after_a_flush_after_a_cache_miss_and_after_completion()
    {
        var run = HistoryTestContext.NewRun();
        var random = new Random(29);

        // (a) Mid-stream, nothing written yet: 900 pending lines, no page, answers from raw rows.
        for (var offset = 0; offset < 900; offset += 300)
        {
            await History.AppendHistoryAsync(run, offset, SpikyLines(offset, 300));
        }
        var extent = await History.GetM4ExtentAsync(run);
        Assert.Equal(900, extent.Applied);
        Assert.Equal(0, extent.RollupApplied);
        Assert.Null(extent.PagesLastStep);
        Assert.Equal(0, await PageCountAsync(run));
        await AssertExactAsync(History, run, random);

        // (b) The post reaching 1,000 pending lines writes the pages; the next ones are pending again.
        await History.AppendHistoryAsync(run, 900, SpikyLines(900, 300));
        extent = await History.GetM4ExtentAsync(run);
        Assert.Equal(1200, extent.RollupApplied);
        Assert.Equal(extent.LastStep, extent.PagesLastStep);
        Assert.True(await PageCountAsync(run) > 0);
        await AssertExactAsync(History, run, random);
        await History.AppendHistoryAsync(run, 1200, SpikyLines(1200, 333));
        extent = await History.GetM4ExtentAsync(run);
        Assert.Equal(1200, extent.RollupApplied);
        Assert.Equal(1533, extent.Applied);
        await AssertExactAsync(History, run, random);

        // (c) A second instance (no cache) continues mid-stream: it reads the pending lines back, writes them
        // with its post, and both instances answer exactly; the first instance's stale cache then recovers.
        var other = _context.NewInstance();
        await other.AppendHistoryAsync(run, 1533, SpikyLines(1533, 100));
        extent = await other.GetM4ExtentAsync(run);
        Assert.Equal(1633, extent.RollupApplied);
        await AssertExactAsync(other, run, random);
        await AssertExactAsync(History, run, random);
        await History.AppendHistoryAsync(run, 1633, SpikyLines(1633, 250));
        await other.AppendHistoryAsync(run, 1883, SpikyLines(1883, 250));
        await History.AppendHistoryAsync(run, 2133, SpikyLines(2133, 250));
        Assert.True((await History.GetM4ExtentAsync(run)).RollupApplied < 2383);
        await AssertExactAsync(History, run, random);
        await AssertExactAsync(other, run, random);

        // (d) Completion writes everything: whole-run charts then read pages only.
        await History.FlushRollupsAsync(run);
        extent = await History.GetM4ExtentAsync(run);
        Assert.Equal(extent.Applied, extent.RollupApplied);
        Assert.Equal(extent.LastStep, extent.PagesLastStep);
        await AssertExactAsync(History, run, random);
        var points = await _context.LossPointsAsync(run);
        var stats = new M4QueryStats();
        var whole = await History.QueryM4Async(run, ["loss"], 0, points[^1].Step, 20, null, stats);
        Assert.Equal(M4Compute.BruteForce(points, M4Levels.PlanQuery(0, points[^1].Step, 20)), whole["loss"]);
        Assert.Equal(0, stats[M4Stage.RawRead].Calls);

        // No line counted twice: the pages equal those of the same lines sent in one post and written at once.
        var single = HistoryTestContext.NewRun();
        var all = (await History.ReadLinesAsync(run, 0, 10_000)).Select(l => l.Text).ToList();
        await History.AppendHistoryAsync(single, 0, all);
        Assert.Equal(await _context.DerivedSnapshotAsync(single), await _context.DerivedSnapshotAsync(run));
    }

    [Fact]
    public async Task A_page_written_past_the_readers_watermark_is_not_counted_twice()
    {
        // The reader plans with an extent taken before a flush; the flush then writes the bucket holding the
        // old watermark's last step with later steps in it. The query must not count those steps again.
        var run = HistoryTestContext.NewRun();
        await History.AppendHistoryAsync(run, 0, HistoryTestContext.Lines(0, 1000));
        await History.AppendHistoryAsync(run, 1000, HistoryTestContext.Lines(1000, 500));
        var before = await History.GetM4ExtentAsync(run);
        Assert.Equal(1000, before.RollupApplied);
        await History.FlushRollupsAsync(run);
        var points = await _context.LossPointsAsync(run);
        foreach (var buckets in new[] { 1, 5, 20, 90 })
        {
            var plan = M4Levels.PlanQuery(0, 1499, buckets);
            var actual = await History.QueryM4Async(run, ["loss"], 0, 1499, buckets, before, null);
            Assert.Equal(M4Compute.BruteForce(points, plan), actual["loss"]);
        }
    }

    [Fact]
    public async Task Retried_shuffled_and_concurrent_posts_give_identical_M4_while_pending_and_after_completion()
    {
        var posts = Enumerable.Range(0, 8).Select(p => ((long)p * 170, SpikyLines(p * 170, 170))).ToList();
        var once = HistoryTestContext.NewRun();
        foreach (var (offset, lines) in posts)
        {
            await History.AppendHistoryAsync(once, offset, lines);
        }
        var shuffled = HistoryTestContext.NewRun();
        var random = new Random(7);
        foreach (var (offset, lines) in Enumerable.Repeat(posts, 5).SelectMany(p => p).OrderBy(_ => random.Next()))
        {
            await History.AppendHistoryAsync(shuffled, offset, lines);
        }
        var concurrent = HistoryTestContext.NewRun();
        var instances = new[] { History, _context.NewInstance(), _context.NewInstance() };
        await Task.WhenAll(Enumerable.Repeat(posts, 5).SelectMany(p => p).Select((p, i) => Task.Run(() => instances[i % 3].AppendHistoryAsync(concurrent, p.Item1, p.Item2))));

        var queries = new[] { (0L, 1400L, 7), (0L, 1359L, 40), (100L, 1200L, 13), (3L, 1500L, 60) };
        foreach (var run in new[] { shuffled, concurrent })
        {
            foreach (var (min, max, buckets) in queries)
            {
                Assert.Equal(await History.QueryM4Async(once, "loss", min, max, buckets), await History.QueryM4Async(run, "loss", min, max, buckets));
            }
        }
        var expected = await _context.DerivedSnapshotAsync(once);
        foreach (var run in new[] { shuffled, concurrent })
        {
            Assert.Equal(expected, await _context.DerivedSnapshotAsync(run));
            foreach (var (min, max, buckets) in queries)
            {
                Assert.Equal(await History.QueryM4Async(once, "loss", min, max, buckets), await History.QueryM4Async(run, "loss", min, max, buckets));
            }
        }
    }

    [Fact]
    public async Task A_flush_larger_than_one_transaction_is_written_in_several_and_reads_exactly()
    {
        // 60 metrics x 5 levels x several pages: far more than 100 page entities in one flush.
        var run = HistoryTestContext.NewRun();
        var lines = Enumerable.Range(0, 1200).Select(step =>
            "{" + string.Join(", ", Enumerable.Range(0, 60).Select(m => $"\"m{m}\": {Math.Sin(step / (m + 1.0)).ToString("R", System.Globalization.CultureInfo.InvariantCulture)}")) + $", \"loss\": {step % 13}, \"_step\": {step}}}").ToList();
        await History.AppendHistoryAsync(run, 0, lines[..600]);
        await History.AppendHistoryAsync(run, 600, lines[600..]);
        var extent = await History.GetM4ExtentAsync(run);
        Assert.Equal(1200, extent.RollupApplied);
        Assert.True(await PageCountAsync(run) > 100);
        await AssertExactAsync(History, run, new Random(3), 10);
        var m7 = (await History.ReadRowsAsync(run, null, null)).Select(r => new M4Point(r.Step!.Value, HistoryValues.AsNumber(r.Flat["m7"])!.Value)).ToList();
        var plan = M4Levels.PlanQuery(0, 1199, 30);
        Assert.Equal(M4Compute.BruteForce(m7, plan), await History.QueryM4Async(run, "m7", 0, 1199, 30));
    }

    private Task<int> StepEntryCountAsync(RunKey run) => RowCountAsync(run, "s:", "s;");

    /// <summary>Rows read by step range (through the step index) equal the whole history filtered by step.</summary>
    private static async Task AssertRowsByStepAsync(HistoryStore history, RunKey run, Random random)
    {
        var all = (await history.ReadRowsAsync(run, null, null)).Select(r => r.Step!.Value).ToList();
        var last = all[^1];
        for (var q = 0; q < 12; q++)
        {
            var min = q == 0 ? last : random.NextInt64(0, last + 1);
            var max = q == 1 ? last + 5 : random.NextInt64(min, last + 1);
            var rows = await history.ReadRowsAsync(run, min, max);
            Assert.Equal(all.Where(s => s >= min && s <= max), rows.Select(r => r.Step!.Value));
        }
    }

    [Fact]
    public async Task The_step_index_entry_of_pending_lines_waits_for_the_flush_and_step_reads_and_rewind_stay_exact()
    {
        var run = HistoryTestContext.NewRun();
        var random = new Random(31);
        for (var offset = 0; offset < 900; offset += 300)
        {
            await History.AppendHistoryAsync(run, offset, SpikyLines(offset, 300));
        }
        // Posts before a flush write no step-index entry: the state describes those lines.
        Assert.Equal(0, await StepEntryCountAsync(run));
        await AssertRowsByStepAsync(History, run, random);

        await History.AppendHistoryAsync(run, 900, SpikyLines(900, 300));
        Assert.Equal(1, await StepEntryCountAsync(run));
        await History.AppendHistoryAsync(run, 1200, SpikyLines(1200, 200));
        Assert.Equal(1, await StepEntryCountAsync(run));
        await AssertRowsByStepAsync(History, run, random);
        // A second instance (no cache) reads the same, and continues the tail.
        var other = _context.NewInstance();
        await AssertRowsByStepAsync(other, run, random);
        await other.AppendHistoryAsync(run, 1400, SpikyLines(1400, 100));
        await AssertRowsByStepAsync(History, run, random);

        // Rewind to a step inside the unflushed tail keeps exactly the rows up to it.
        var before = (await History.ReadRowsAsync(run, null, null)).Select(r => r.Step!.Value).ToList();
        var keepThrough = before.Where(s => s > 1300).First();
        await History.RewindAsync(run, keepThrough);
        Assert.Equal(before.Where(s => s <= keepThrough), (await History.ReadRowsAsync(run, null, null)).Select(r => r.Step!.Value));
        await AssertRowsByStepAsync(History, run, random);
    }
}
