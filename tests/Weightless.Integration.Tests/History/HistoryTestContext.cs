using System.Text.Json;
using Azure.Data.Tables;
using Microsoft.Extensions.Options;
using Weightless.Core.History;
using Weightless.Core.Runs;
using Weightless.Core.Storage;
using Weightless.Tests.Infrastructure;

namespace Weightless.Integration.Tests.History;

/// <summary>
/// The history stores over Azurite, with a name prefix of their own. Rollup pages are written once enough
/// lines are pending (300 by default, so the tests' posts of 100-700 lines leave runs with both written and
/// pending rollups).
/// </summary>
internal sealed class HistoryTestContext
{
    public HistoryTestContext(int rollupFlushLines = 300)
    {
        Storage = TestStorage.NewAccount();
        HistoryOptions = new HistoryOptions { RollupFlushLines = rollupFlushLines };
        History = NewInstance();
        Events = new EventsStore(Storage);
        Console = new ConsoleLogStore(Storage);
        Ingestor = new FileStreamIngestor(History, Events, Console);
    }

    public StorageAccount Storage { get; }

    public HistoryOptions HistoryOptions { get; }

    /// <summary>Another history store over the same tables: a second instance with caches of its own.</summary>
    public HistoryStore NewInstance() => new(Storage, TimeProvider.System, Options.Create(HistoryOptions));

    public HistoryStore History { get; }
    public EventsStore Events { get; }
    public ConsoleLogStore Console { get; }
    public FileStreamIngestor Ingestor { get; }

    /// <summary>The run's numeric <c>loss</c> points as stored, for brute-force M4 comparisons.</summary>
    public async Task<List<M4Point>> LossPointsAsync(RunKey run) =>
        (await History.ReadRowsAsync(run, null, null))
            .Where(r => r.Flat.TryGetValue("loss", out var v) && HistoryValues.AsNumber(v) is not null)
            .Select(r => new M4Point(r.Step!.Value, HistoryValues.AsNumber(r.Flat["loss"])!.Value)).ToList();

    public static RunKey NewRun(string id = "run1") => new("team-a", "proj/x", id + Guid.NewGuid().ToString("N")[..6]);

    /// <summary>A W&amp;B-like history line; every 37th loss is NaN, nested keys included.</summary>
    public static string Line(long step, double? loss = null) =>
        loss is { } l
            ? $"{{\"loss\": {Number(l)}, \"nested\": {{\"lr\": 0.01, \"grad\": {{\"norm\": {step % 7}}}}}, \"_step\": {step}, \"_runtime\": {step * 0.1:0.0}, \"_timestamp\": {1795888401 + step}}}"
            : Line(step, step % 37 == 5 ? double.NaN : Math.Sin(step / 10.0));

    public static string Number(double value) =>
        double.IsNaN(value) ? "NaN" : double.IsPositiveInfinity(value) ? "Infinity" : double.IsNegativeInfinity(value) ? "-Infinity" : value.ToString("R", System.Globalization.CultureInfo.InvariantCulture);

    public static List<string> Lines(long fromStep, int count) => Enumerable.Range(0, count).Select(i => Line(fromStep + i)).ToList();

    /// <summary>
    /// Everything derived, as comparable text: key index, decoded rollup slots (not watermarks), line count —
    /// after writing the run's pending rollups (as its completion does), since when pages are written depends on
    /// which instance folded which post.
    /// </summary>
    public async Task<string> DerivedSnapshotAsync(RunKey run)
    {
        await History.FlushRollupsAsync(run);
        var keys = (await History.GetKeysAsync(run)).ToHistoryKeys().ToJsonString();
        var table = await Storage.TableAsync(HistoryStore.TableName);
        var pages = new List<string>();
        await foreach (var entity in table.QueryPartitionAsync<TableEntity>(run.PartitionKey, "m:", "m;"))
        {
            var page = LineStream.DecodePage(entity);
            pages.Add(entity.RowKey + "=" + JsonSerializer.Serialize(page.Slots.Select(kv => new { kv.Key, Bucket = kv.Value.ToBucket(0, 0).ToString() })));
        }
        return keys + "\n" + string.Join("\n", pages) + "\nlines=" + await History.GetLineCountAsync(run);
    }

    public async Task<List<string>> ChunkKeysAsync(RunKey run, string tableName = HistoryStore.TableName)
    {
        var table = await Storage.TableAsync(tableName);
        var keys = new List<string>();
        await foreach (var entity in table.QueryPartitionAsync<TableEntity>(run.PartitionKey, "c:", "c;"))
        {
            keys.Add(entity.RowKey);
        }
        return keys;
    }
}
