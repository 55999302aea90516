using System.Globalization;
using System.Text;
using System.Text.Json;
using Azure.Data.Tables;
using Microsoft.Extensions.Options;
using Weightless.Core.History;
using Weightless.Core.Runs;
using Weightless.Core.Storage;

namespace Weightless.Bench;

/// <summary>
/// History ingestion. (1) One run streams <c>--rows</c> rows x <c>--metrics</c> metrics in file_stream
/// posts of <c>--batch</c> lines: body parse + <see cref="FileStreamIngestor.ApplyAsync"/> (chunks, key index,
/// M4 rollups) on the configured storage. (3) The same line bytes written as one entity per row in
/// 100-entity batches (the naive design). Prints rows/s, process CPU per row and the ratio.
/// The bench posts one after another, as the W&amp;B clients do (one file_stream request in flight per
/// run), so (1)'s wall time is the server's CPU plus the storage round trips of each post.
/// Options: --rows (1000000), --metrics (10), --batch (1000), --baseline-rows (default = rows), --storage,
/// --stages 1 (CPU stage breakdown first; --stages-rows, default 100000), --stages-only 1 (just that),
/// --storage-pid (the Azurite process: its CPU per row during (1) and (3)), --warmup-posts (40, to another run),
/// --flush-lines (pending history lines that write the rollup pages, <see cref="HistoryOptions.RollupFlushLines"/>).
/// </summary>
internal sealed class IngestScenario : IBenchScenario
{
    public string Name => "ingest";

    public string Description => "file_stream history ingest vs one-entity-per-row (--rows, --metrics, --batch, --baseline-rows, --storage, --stages, --stages-only, --storage-pid, --warmup-posts, --flush-lines)";

    public async Task<int> RunAsync(BenchOptions options, CancellationToken cancellationToken)
    {
        var rows = options.Long("rows", 1_000_000);
        var metrics = (int)options.Long("metrics", 10);
        var batch = (int)options.Long("batch", 1000);
        var baselineRows = options.Long("baseline-rows", rows);
        var prefix = "b" + Guid.NewGuid().ToString("N")[..8];
        var metricsCounter = new StorageMetrics();
        var storage = new StorageAccount(Options.Create(new StorageOptions { ConnectionString = options.Storage, TablePrefix = prefix }), metricsCounter);
        var historyOptions = new HistoryOptions();
        historyOptions.RollupFlushLines = (int)options.Long("flush-lines", historyOptions.RollupFlushLines);
        var history = new HistoryStore(storage, TimeProvider.System, Options.Create(historyOptions));
        var ingestor = NewIngestor(storage, history);
        var run = new RunKey("bench", "ingest", "run-" + prefix);
        Console.WriteLine($"rows={rows:N0} metrics={metrics} batch={batch} flush-lines={historyOptions.RollupFlushLines} prefix={prefix}");
        var storagePid = options.String("storage-pid") is { } pid ? int.Parse(pid, CultureInfo.InvariantCulture) : (int?)null;
        if (options.String("stages") is not null || options.String("stages-only") is not null)
        {
            Stages(history, run, options.Long("stages-rows", 100_000), metrics, batch);
            if (options.String("stages-only") is not null)
            {
                return 0;
            }
        }

        await WarmUpAsync(ingestor, options, batch, metrics, cancellationToken);

        var ingest = new Meter();
        var ingestCost = new SideCost(storagePid);
        long rawBytes = 0;
        for (long offset = 0; offset < rows; offset += batch)
        {
            var count = (int)Math.Min(batch, rows - offset);
            var body = Body(offset, count, metrics);
            rawBytes += body.Length;
            var applied = await ingestCost.MeasureAsync(() => ingest.MeasureAsync(async () =>
                await ingestor.ApplyAsync(run, FileStreamRequest.Parse(body), cancellationToken)));
            if (applied.HistoryLineCount != offset + count)
            {
                throw new InvalidOperationException($"Line count {applied.HistoryLineCount} after offset {offset}.");
            }
            if ((offset / batch) % 100 == 99)
            {
                Console.WriteLine($"  ... {offset + count:N0} rows, {(offset + count) / ingest.Wall.TotalSeconds:N0} rows/s");
            }
        }
        // The run completes: its pending rollup pages are written (what file_stream's complete does), counted in (1).
        await ingestCost.MeasureAsync(() => ingest.MeasureAsync(async () =>
        {
            await history.FlushRollupsAsync(run, cancellationToken);
            return 0;
        }));
        var ingestOps = metricsCounter.Snapshot();
        Report("(1) file_stream ingest (chunks + key index + M4 rollups)", rows, ingest);
        ingestCost.Report(rows);
        Console.WriteLine($"    request bodies {rawBytes / 1e6:N1} MB; storage operations: {string.Join(", ", ingestOps.Select(kv => $"{kv.Key}={kv.Value}"))}");

        var query = new Meter();
        var m4 = await query.MeasureAsync(() => history.QueryM4Async(run, "m0", 0, rows - 1, 1000, cancellationToken));
        Console.WriteLine($"    M4 query m0 over all {rows:N0} steps, 1000 buckets: {m4.Count} buckets in {query.Wall.TotalMilliseconds:N0} ms");
        var keys = await history.GetKeysAsync(run, cancellationToken);
        Console.WriteLine($"    key index: {keys.Count} keys, lastStep {keys.LastStep}");

        // (3) The naive layout: the same line bytes, one entity per row, 100-row transactions.
        var table = await storage.TableAsync("historyrows");
        var naive = new Meter();
        var naiveCost = new SideCost(storagePid);
        for (long offset = 0; offset < baselineRows; offset += batch)
        {
            var count = (int)Math.Min(batch, baselineRows - offset);
            var lines = Lines(offset, count, metrics);
            await naiveCost.MeasureAsync(() => naive.MeasureAsync(async () =>
            {
                var actions = new List<TableTransactionAction>(count);
                for (var i = 0; i < count; i++)
                {
                    var entity = new TableEntity(run.PartitionKey, (offset + i).ToString("D12", CultureInfo.InvariantCulture)) { ["Line"] = lines[i] };
                    actions.Add(new TableTransactionAction(TableTransactionActionType.UpsertReplace, entity));
                }
                await table.SubmitBatchAsync(actions, cancellationToken);
                return 0;
            }));
        }
        Report("(3) one entity per row, 100-entity batches", baselineRows, naive);
        naiveCost.Report(baselineRows);

        var ingestRate = rows / ingest.Wall.TotalSeconds;
        var naiveRate = baselineRows / naive.Wall.TotalSeconds;
        Console.WriteLine($"ratio (1)/(3): {ingestRate / naiveRate:N2}x rows/s; CPU per row {ingest.Cpu.TotalMicroseconds / rows / (naive.Cpu.TotalMicroseconds / baselineRows):N2}x");
        return 0;
    }

    /// <summary>
    /// The CPU-only stages of one post, each timed alone over the same bodies (no storage): where the
    /// server's CPU per row goes. Storage round trips and the Azure SDK are the remainder of (1).
    /// </summary>
    private static void Stages(HistoryStore history, RunKey run, long rows, int metrics, int batch)
    {
        var bodies = new List<byte[]>();
        for (long offset = 0; offset < rows; offset += batch)
        {
            bodies.Add(Body(offset, (int)Math.Min(batch, rows - offset), metrics));
        }
        var requests = bodies.Select(b => FileStreamRequest.Parse(b)).ToList();
        var parsedRows = new List<HistoryRow>();
        // The best of three timed passes (after a warm one): on a shared machine a single pass varied 3-5x.
        void Time(string stage, Action action)
        {
            action();
            var wall = TimeSpan.MaxValue;
            var spent = TimeSpan.MaxValue;
            long allocated = 0;
            for (var pass = 0; pass < 3; pass++)
            {
                var cpu = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime;
                var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
                var stopwatch = System.Diagnostics.Stopwatch.StartNew();
                action();
                wall = TimeSpan.FromTicks(Math.Min(wall.Ticks, stopwatch.Elapsed.Ticks));
                spent = TimeSpan.FromTicks(Math.Min(spent.Ticks, (System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime - cpu).Ticks));
                allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
            }
            Console.WriteLine($"    stage {stage,-28} {wall.TotalMicroseconds / rows,7:N2} us/row wall, {spent.TotalMicroseconds / rows,7:N2} us/row CPU, {allocated / (double)rows,7:N0} B/row allocated (best of 3)");
        }
        Console.WriteLine($"  CPU stages over {rows:N0} rows:");
        Time("parse request body", () => bodies.ForEach(b => FileStreamRequest.Parse(b)));
        Time("encode chunks (Brotli)", () =>
        {
            long offset = 0;
            foreach (var request in requests)
            {
                var lines = request.File(FileStreamRequest.HistoryFile)!.Content;
                history.Stream.BuildChunks(run, offset, lines);
                offset += lines.Count;
            }
        });
        Time("frame lines (UTF-8 + varint)", () => requests.ForEach(r =>
        {
            var lines = r.File(FileStreamRequest.HistoryFile)!.Content;
            LineCodec.Frame(lines, 0, lines.Count);
        }));
        // The chunk codec's options on the same framed blocks: CPU per row and compressed size.
        var frames = requests.Select(r => r.File(FileStreamRequest.HistoryFile)!.Content).Select(lines => LineCodec.Frame(lines, 0, lines.Count)).ToList();
        var rawBytes = frames.Sum(f => (long)f.LongLength);
        foreach (var (quality, window) in new[] { (0, 16), (1, 16), (1, 18), (1, 22), (2, 16) })
        {
            long compressed = 0;
            Time($"Brotli q{quality} w{window}", () => compressed = frames.Sum(f => (long)LineCodec.Compress(f, quality, window).Length));
            Console.WriteLine($"      {rawBytes / (double)compressed:N1}x, {compressed / (double)rows:N1} bytes/row");
        }
        {
            long compressed = 0;
            Time("ZLib fastest", () => compressed = frames.Sum(f =>
            {
                using var output = new MemoryStream();
                using (var zlib = new System.IO.Compression.ZLibStream(output, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true))
                {
                    zlib.Write(f);
                }
                return output.Length;
            }));
            Console.WriteLine($"      {rawBytes / (double)compressed:N1}x, {compressed / (double)rows:N1} bytes/row");
        }
        Time("parse + flatten rows", () =>
        {
            parsedRows.Clear();
            long index = 0;
            foreach (var request in requests)
            {
                foreach (var line in request.File(FileStreamRequest.HistoryFile)!.Content)
                {
                    parsedRows.Add(HistoryValues.ParseRow(index++, line)!);
                }
            }
        });
        Time("key index", () =>
        {
            var keys = new KeyIndex();
            parsedRows.ForEach(r => keys.AddRow(r.Flat));
        });
        Time("M4 contributions", () =>
        {
            for (var i = 0; i < parsedRows.Count; i += batch)
            {
                var points = new LineStream.RollupPoints();
                for (var j = i; j < Math.Min(parsedRows.Count, i + batch); j++)
                {
                    points.Add(parsedRows[j], parsedRows[j].Step!.Value);
                }
                points.AddTo(new Dictionary<(int Level, long Page, string Metric), List<(int Slot, long Line, long Step, double Value)>>());
            }
        });
    }

    /// <summary>
    /// What a measured section costs besides this process's CPU: bytes allocated and collections (a
    /// sequential bench runs nothing else meanwhile), and the storage emulator's CPU when its pid is given.
    /// </summary>
    private sealed class SideCost(int? storagePid)
    {
        private long _allocated;
        private readonly int[] _collections = new int[3];
        private TimeSpan _storageCpu;

        public async Task<T> MeasureAsync<T>(Func<Task<T>> section)
        {
            var allocated = GC.GetTotalAllocatedBytes(precise: true);
            var collections = new[] { GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2) };
            var storage = StorageCpu();
            try
            {
                return await section();
            }
            finally
            {
                _allocated += GC.GetTotalAllocatedBytes(precise: true) - allocated;
                for (var generation = 0; generation < 3; generation++)
                {
                    _collections[generation] += GC.CollectionCount(generation) - collections[generation];
                }
                _storageCpu += StorageCpu() - storage;
            }
        }

        public void Report(long rows)
        {
            var storage = storagePid is null ? "" : $"; storage process CPU {_storageCpu.TotalSeconds:N1} s = {_storageCpu.TotalMicroseconds / rows:N1} us/row";
            Console.WriteLine($"    allocated {_allocated / (double)rows:N0} B/row; GCs gen0/1/2 {_collections[0]}/{_collections[1]}/{_collections[2]}{storage}");
        }

        /// <summary>user + system time of the storage process from /proc (clock ticks of 10 ms).</summary>
        private TimeSpan StorageCpu()
        {
            if (storagePid is not { } pid)
            {
                return TimeSpan.Zero;
            }
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            // Fields after the command: state is field 3, utime 14 and stime 15 (1-based, see proc(5)).
            var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            return TimeSpan.FromMilliseconds(ticks * 10);
        }
    }

    private static void Report(string title, long rows, Meter meter) =>
        Console.WriteLine($"{title}: {rows:N0} rows in {meter.Wall.TotalSeconds:N1} s = {rows / meter.Wall.TotalSeconds:N0} rows/s; process CPU {meter.Cpu.TotalSeconds:N1} s = {meter.Cpu.TotalMicroseconds / rows:N1} us/row");

    internal static FileStreamIngestor NewIngestor(StorageAccount storage, HistoryStore history) =>
        new(history, new EventsStore(storage), new ConsoleLogStore(storage));

    /// <summary>
    /// Warms up table creation and JIT outside the measurement with --warmup-posts (40) posts to another run.
    /// One post is not enough: a profile of a 100-post run showed ~30% of the process CPU in the JIT (tiered
    /// compilation re-compiles hot methods over the first dozens of calls), which a long-running host pays
    /// once, not per row.
    /// </summary>
    internal static async Task WarmUpAsync(FileStreamIngestor ingestor, BenchOptions options, int batch, int metrics, CancellationToken cancellationToken)
    {
        var warmupRun = new RunKey("bench", "ingest", "warmup");
        for (long post = 0; post < options.Long("warmup-posts", 40); post++)
        {
            await ingestor.ApplyAsync(warmupRun, FileStreamRequest.Parse(Body(post * batch, batch, metrics)), cancellationToken);
        }
    }

    internal static List<string> Lines(long offset, int count, int metrics)
    {
        var lines = new List<string>(count);
        var builder = new StringBuilder(64 + metrics * 32);
        for (var i = 0; i < count; i++)
        {
            var step = offset + i;
            builder.Clear().Append('{');
            for (var m = 0; m < metrics; m++)
            {
                var value = Math.Sin(step / (100.0 + m)) * (m + 1) + (step % 997 == 0 ? 50 : 0);
                builder.Append('"').Append('m').Append(m).Append("\": ").Append(value.ToString("R", CultureInfo.InvariantCulture)).Append(", ");
            }
            builder.Append("\"_step\": ").Append(step)
                .Append(", \"_runtime\": ").Append((step * 0.05).ToString("R", CultureInfo.InvariantCulture))
                .Append(", \"_timestamp\": ").Append((1795888401.5 + step * 0.05).ToString("R", CultureInfo.InvariantCulture)).Append('}');
            lines.Add(builder.ToString());
        }
        return lines;
    }

    internal static byte[] Body(long offset, int count, int metrics) =>
        JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object>
        {
            ["files"] = new Dictionary<string, object>
            {
                [FileStreamRequest.HistoryFile] = new { offset, content = Lines(offset, count, metrics) },
            },
            ["dropped"] = 0,
        });
}
