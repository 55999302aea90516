using Weightless.Core.History;

namespace Weightless.Integration.Tests.History;

public class ConsoleAndEventsTests
{
    private readonly HistoryTestContext _context = new();

    [Fact]
    public async Task Console_lines_are_overwritten_by_later_posts_at_lower_offsets()
    {
        var run = HistoryTestContext.NewRun();
        var first = Enumerable.Range(0, 600).Select(i => $"2026-11-28T17:54:17.{i:D6} line {i}\n").ToList();
        first[3] = "ERROR 2026-11-28T17:54:17.000003 boom\n";
        Assert.Equal(600, await _context.Console.WriteAsync(run, 0, first));
        Assert.Equal(600, await _context.Console.WriteAsync(run, 0, first));
        // A progress bar redrawn: lines 250..259 replaced, and the count does not shrink.
        var redraw = Enumerable.Range(0, 10).Select(i => $"progress {i * 10}%\r").ToList();
        Assert.Equal(600, await _context.Console.WriteAsync(run, 250, redraw));
        var all = await _context.Console.ReadAsync(run, 0, 10_000);
        Assert.Equal(600, all.Count);
        Assert.Equal(Enumerable.Range(0, 600).Select(i => (long)i), all.Select(l => l.Index));
        Assert.Equal("progress 0%\r", all[250].Raw);
        Assert.Equal(first[260], all[260].Raw);
        Assert.True(all[3].IsStderr);
        Assert.Equal("2026-11-28T17:54:17.000003 boom\n", all[3].Text);
        Assert.Equal(1, all.Count(l => l.IsStderr));
        var page = await _context.Console.ReadAsync(run, 240, 20);
        Assert.Equal(Enumerable.Range(240, 20).Select(i => (long)i), page.Select(l => l.Index));
        Assert.Equal(first.Skip(590), (await _context.Console.ReadAsync(run, 590, 100)).Select(l => l.Raw));
        Assert.Equal(600, await _context.Console.GetLineCountAsync(run));
    }

    [Fact]
    public async Task Concurrent_console_posts_to_different_lines_all_land()
    {
        var run = HistoryTestContext.NewRun();
        await Task.WhenAll(Enumerable.Range(0, 8).Select(p => Task.Run(() =>
            _context.Console.WriteAsync(run, p * 50, Enumerable.Range(0, 50).Select(i => $"p{p} l{i}").ToList()))));
        var all = await _context.Console.ReadAsync(run, 0, 1000);
        Assert.Equal(400, all.Count);
        Assert.Equal(400, await _context.Console.GetLineCountAsync(run));
        Assert.Equal("p7 l49", all[^1].Raw);
    }

    [Fact]
    public async Task Events_append_idempotently_and_index_system_keys()
    {
        var run = HistoryTestContext.NewRun();
        var lines = Enumerable.Range(0, 20).Select(i =>
            $"{{\"system.cpu\": {i}.5, \"system.gpu.0.gpu\": NaN, \"system.memory\": 12, \"_wandb\": true, \"_timestamp\": {1795888401 + i}, \"_runtime\": {i}}}").ToList();
        Assert.Equal(10, await _context.Events.AppendAsync(run, 0, lines[..10]));
        Assert.Equal(20, await _context.Events.AppendAsync(run, 10, lines[10..]));
        Assert.Equal(20, await _context.Events.AppendAsync(run, 0, lines[..10]));
        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => _context.Events.AppendAsync(run, 10, lines[10..])));
        Assert.Equal(lines, (await _context.Events.ReadLinesAsync(run, 0, 100)).Select(l => l.Text));
        var rows = await _context.Events.ReadRowsAsync(run);
        Assert.Equal(20, rows.Count);
        Assert.Equal(3.5, rows[3].Flat["system.cpu"]);
        var keys = await _context.Events.GetKeysAsync(run);
        Assert.Equal(20, keys.TypeCounts("system.gpu.0.gpu")["number"]);
        Assert.Equal(20, keys.TypeCounts("_wandb")["boolean"]);
        Assert.Equal(20, await _context.Events.GetLineCountAsync(run));
    }

    [Fact]
    public async Task The_ingestor_applies_a_whole_post()
    {
        var run = HistoryTestContext.NewRun();
        var body = $$$"""
            {"files": {
              "wandb-history.jsonl": {"offset": 0, "content": [{{{string.Join(",", HistoryTestContext.Lines(0, 130).Select(l => System.Text.Json.JsonSerializer.Serialize(l)))}}}]},
              "wandb-summary.json": {"offset": 0, "content": ["{\"loss\": 0.5}", "{\"loss\": NaN, \"_step\": 129}"]},
              "wandb-events.jsonl": {"offset": 0, "content": ["{\"system.cpu\": 1.0, \"_timestamp\": 1.5}"]},
              "output.log": {"offset": 0, "content": ["hello\n", "ERROR bad\n"]}},
             "complete": true, "exitcode": 0, "uploaded": ["config.yaml"], "dropped": 0}
            """;
        var request = FileStreamRequest.Parse(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(body)));
        var applied = await _context.Ingestor.ApplyAsync(run, request);
        Assert.Equal(130, applied.HistoryLineCount);
        Assert.Equal(129, applied.LastStep);
        Assert.Equal(1, applied.EventsLineCount);
        Assert.Equal(2, applied.LogLineCount);
        Assert.Equal("{\"loss\": NaN, \"_step\": 129}", applied.SummaryJson);
        Assert.True(applied.Complete);
        Assert.Equal(0, applied.ExitCode);
        Assert.Equal(["config.yaml"], applied.Uploaded);
        Assert.Equal(applied, await _context.Ingestor.ApplyAsync(run, request) with { Uploaded = applied.Uploaded });

        var heartbeat = await _context.Ingestor.ApplyAsync(run, FileStreamRequest.Parse(new MemoryStream("{}"u8.ToArray())));
        Assert.Null(heartbeat.HistoryLineCount);
        Assert.Null(heartbeat.SummaryJson);
        Assert.False(heartbeat.Complete);
    }
}
