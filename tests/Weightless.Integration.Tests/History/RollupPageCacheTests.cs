using Weightless.Core.History;
using Weightless.Core.Runs;

namespace Weightless.Integration.Tests.History;

/// <summary>
/// Chart reads keep rollup pages in memory under the run state's ETag: repeated reads answer the
/// same, and every change to the history (a post, a rewind) is seen by the next read.
/// </summary>
public class RollupPageCacheTests
{
    private readonly HistoryTestContext _context = new();

    private HistoryStore History => _context.History;

    private async Task AssertExactAsync(RunKey run, long min, long max, int buckets)
    {
        var expected = M4Compute.BruteForce(await _context.LossPointsAsync(run), M4Levels.PlanQuery(min, max, buckets));
        Assert.Equal(expected, await History.QueryM4Async(run, "loss", min, max, buckets));
    }

    [Fact]
    public async Task Cached_chart_reads_see_every_later_post_and_rewind()
    {
        var run = HistoryTestContext.NewRun();
        await History.AppendHistoryAsync(run, 0, HistoryTestContext.Lines(0, 4000));
        // 0..9,999 at 50 buckets: a rollup plan (width 64) whose pages cover steps not logged yet.
        Assert.False(M4Levels.PlanQuery(0, 9999, 50).IsRaw);
        await AssertExactAsync(run, 0, 9999, 50);
        await AssertExactAsync(run, 0, 9999, 50);

        // A spike in a page the cached read already held.
        var spike = HistoryTestContext.Line(4000, 1e9);
        await History.AppendHistoryAsync(run, 4000, [spike, .. HistoryTestContext.Lines(4001, 2999)]);
        await AssertExactAsync(run, 0, 9999, 50);
        var buckets = await History.QueryM4Async(run, "loss", 0, 9999, 50);
        Assert.Contains(buckets, b => b.Max is { Step: 4000, Value: 1e9 });

        // A rewind before the spike: the next read no longer shows it.
        await History.RewindAsync(run, 3500);
        await AssertExactAsync(run, 0, 9999, 50);
        Assert.DoesNotContain(await History.QueryM4Async(run, "loss", 0, 9999, 50), b => b.Max is { Value: 1e9 });
    }
}
