using Weightless.Core.History;
using Weightless.Core.Storage;
using Weightless.Tests.Infrastructure;

namespace Weightless.Integration.Tests.History;

/// <summary>
/// The per-post path of a run's history: consecutive posts fold from the cached state without a
/// table query, and the cache never hides lines another instance left waiting behind a gap.
/// </summary>
public class IngestHotPathTests
{
    private readonly StorageMetrics _metrics = new();
    private readonly StorageAccount _storage;
    private readonly HistoryStore _history;

    public IngestHotPathTests()
    {
        _storage = TestStorage.NewAccount(_metrics);
        _history = new HistoryStore(_storage, TimeProvider.System);
    }

    private long Queries => _metrics.Snapshot().GetValueOrDefault("table.query.ok");

    [Fact]
    public async Task Consecutive_posts_of_one_instance_run_no_table_query()
    {
        var run = HistoryTestContext.NewRun();
        await _history.AppendHistoryAsync(run, 0, HistoryTestContext.Lines(0, 100));
        var queriesBefore = Queries;
        for (var offset = 100; offset < 600; offset += 100)
        {
            var appended = await _history.AppendHistoryAsync(run, offset, HistoryTestContext.Lines(offset, 100));
            Assert.Equal(offset + 100, appended.LineCount);
            Assert.Equal(offset + 99, appended.LastStep);
        }
        Assert.Equal(queriesBefore, Queries);
        Assert.Equal(600, (await _history.GetKeysAsync(run)).TypeCounts("loss")["number"]);
        Assert.Equal(HistoryTestContext.Lines(0, 600), (await _history.ReadLinesAsync(run, 0, 1000)).Select(l => l.Text));
    }

    [Fact]
    public async Task A_cached_post_filling_a_gap_folds_the_lines_another_instance_left_behind_it()
    {
        var other = new HistoryStore(_storage, TimeProvider.System);
        var run = HistoryTestContext.NewRun();
        await _history.AppendHistoryAsync(run, 0, HistoryTestContext.Lines(0, 100));
        // The other instance stores lines 200..299 first; they wait behind the gap 100..199.
        var early = await other.AppendHistoryAsync(run, 200, HistoryTestContext.Lines(200, 100));
        Assert.Equal(99, early.LastStep);
        Assert.Equal(100, (await _history.GetKeysAsync(run)).TypeCounts("loss")["number"]);
        // This instance's cached state ends exactly where its post starts, so it would fold only its
        // own lines; the waiting lines changed the state's ETag, so it lists and folds them too.
        var filled = await _history.AppendHistoryAsync(run, 100, HistoryTestContext.Lines(100, 100));
        Assert.Equal(300, filled.LineCount);
        Assert.Equal(299, filled.LastStep);
        Assert.Equal(300, (await other.GetKeysAsync(run)).TypeCounts("loss")["number"]);
        Assert.Equal(300, await other.GetLineCountAsync(run));
        var next = await _history.AppendHistoryAsync(run, 300, HistoryTestContext.Lines(300, 50));
        Assert.Equal(350, next.LineCount);
        Assert.Equal(349, next.LastStep);
    }

    [Fact]
    public async Task A_gap_in_a_new_run_waits_without_hiding_lines_from_the_filler()
    {
        var other = new HistoryStore(_storage, TimeProvider.System);
        var run = HistoryTestContext.NewRun();
        var early = await other.AppendHistoryAsync(run, 100, HistoryTestContext.Lines(100, 100));
        Assert.Null(early.LastStep);
        Assert.Equal(0, (await _history.GetKeysAsync(run)).Count);
        var filled = await _history.AppendHistoryAsync(run, 0, HistoryTestContext.Lines(0, 100));
        Assert.Equal(200, filled.LineCount);
        Assert.Equal(199, filled.LastStep);
        Assert.Equal(200, (await other.GetKeysAsync(run)).TypeCounts("loss")["number"]);
    }
}
