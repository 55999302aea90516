using Weightless.Core.History;

namespace Weightless.Integration.Tests.History;

/// <summary>
/// Raw M4 reads of short runs come from the per-instance <see cref="RawSeriesCache"/>: they must stay
/// exactly the brute-force M4 of the stored rows while the run changes (appends, lower steps, a rewind)
/// and when many calls ask at once.
/// </summary>
public class RawSeriesCacheTests
{
    private readonly HistoryTestContext _context = new();

    private HistoryStore History => _context.History;

    private async Task AssertExactAsync(Weightless.Core.Runs.RunKey run, Random random, int queries)
    {
        var points = await _context.LossPointsAsync(run);
        var last = points[^1].Step;
        for (var q = 0; q < queries; q++)
        {
            var min = q % 3 == 0 ? 0 : random.NextInt64(0, last);
            var max = q % 4 == 0 ? last + 5 : random.NextInt64(min, last + 1);
            var buckets = random.Next(1, 300);
            var expected = M4Compute.BruteForce(points, M4Levels.PlanQuery(min, max, buckets));
            var answer = await History.QueryM4Async(run, ["loss", "nested.grad.norm", "never-logged"], min, max, buckets, null, null);
            Assert.Equal(expected, answer["loss"]);
            Assert.Empty(answer["never-logged"]);
        }
    }

    [Fact]
    public async Task Raw_m4_follows_appends_lower_steps_and_rewinds_exactly()
    {
        var run = HistoryTestContext.NewRun();
        var random = new Random(11);
        await History.AppendHistoryAsync(run, 0, HistoryTestContext.Lines(0, 300));
        await AssertExactAsync(run, random, 20);

        // New lines, a re-logged lower step (dropped) and a spike: a new state, so the cached series is not reused.
        var more = HistoryTestContext.Lines(300, 200);
        more.Insert(50, HistoryTestContext.Line(10, 1e9));
        more.Add(HistoryTestContext.Line(500, 1e12));
        await History.AppendHistoryAsync(run, 300, more);
        await AssertExactAsync(run, random, 20);
        var full = await History.QueryM4Async(run, "loss", 0, 600, 50);
        Assert.Contains(full, b => b.Max?.Value == 1e12);
        Assert.DoesNotContain(full, b => b.Max?.Value == 1e9);

        await History.RewindAsync(run, 250);
        await AssertExactAsync(run, random, 20);
        Assert.Empty(await History.QueryM4Async(run, "loss", 251, 600, 50));
    }

    [Fact]
    public async Task Concurrent_raw_m4_calls_share_one_read_and_agree()
    {
        var run = HistoryTestContext.NewRun();
        await History.AppendHistoryAsync(run, 0, HistoryTestContext.Lines(0, 2000));
        var points = await _context.LossPointsAsync(run);
        var expected = M4Compute.BruteForce(points, M4Levels.PlanQuery(0, 1999, 500));
        var answers = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => History.QueryM4Async(run, "loss", 0, 1999, 500)));
        Assert.All(answers, a => Assert.Equal(expected, a));
    }
}
