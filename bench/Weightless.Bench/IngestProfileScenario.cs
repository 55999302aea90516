using System.Collections.Concurrent;
using System.Diagnostics.Tracing;
using Microsoft.Extensions.Options;
using Weightless.Core.History;
using Weightless.Core.Runs;
using Weightless.Core.Storage;

namespace Weightless.Bench;

/// <summary>
/// Where one run's file_stream ingest allocates: the posts of <c>bench ingest</c> (1), with the runtime's
/// allocation sampling (one event per ~100 KB allocated, naming the type being allocated when the
/// threshold was crossed) summed by type, plus the bytes each stage of a post allocates on its own
/// thread (request parse, the ingestor). Options: --rows (100000), --metrics (10), --batch (1000),
/// --top (30), --storage, --warmup-posts (40).
/// </summary>
internal sealed class IngestProfileScenario : IBenchScenario
{
    public string Name => "ingest-profile";

    public string Description => "allocations of file_stream ingest by type and stage (--rows, --metrics, --batch, --top, --storage, --warmup-posts)";

    public async Task<int> RunAsync(BenchOptions options, CancellationToken cancellationToken)
    {
        var rows = options.Long("rows", 100_000);
        var metrics = (int)options.Long("metrics", 10);
        var batch = (int)options.Long("batch", 1000);
        var top = (int)options.Long("top", 30);
        var prefix = "p" + Guid.NewGuid().ToString("N")[..8];
        var storage = new StorageAccount(Options.Create(new StorageOptions { ConnectionString = options.Storage, TablePrefix = prefix }), new StorageMetrics());
        var history = new HistoryStore(storage, TimeProvider.System);
        var ingestor = IngestScenario.NewIngestor(storage, history);
        var run = new RunKey("bench", "ingest", "run-" + prefix);
        await IngestScenario.WarmUpAsync(ingestor, options, batch, metrics, cancellationToken);

        var bodies = new List<byte[]>();
        for (long offset = 0; offset < rows; offset += batch)
        {
            bodies.Add(IngestScenario.Body(offset, (int)Math.Min(batch, rows - offset), metrics));
        }
        using var listener = new AllocationListener();
        long parseBytes = 0, applyBytes = 0;
        var total = GC.GetTotalAllocatedBytes(precise: true);
        var collections = new[] { GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2) };
        var wall = System.Diagnostics.Stopwatch.StartNew();
        listener.Enabled = true;
        foreach (var body in bodies)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            var request = FileStreamRequest.Parse(body);
            var parsed = GC.GetAllocatedBytesForCurrentThread();
            parseBytes += parsed - before;
            await ingestor.ApplyAsync(run, request, cancellationToken);
            // Continuations may finish on another thread: the ingestor's share is what is left of the total.
            applyBytes += GC.GetAllocatedBytesForCurrentThread() - parsed;
        }
        listener.Enabled = false;
        var elapsed = wall.Elapsed;
        total = GC.GetTotalAllocatedBytes(precise: true) - total;
        Console.WriteLine($"{rows:N0} rows in {bodies.Count} posts, {elapsed.TotalSeconds:N1} s: allocated {total / (double)rows:N0} B/row in total; "
            + $"request parse {parseBytes / (double)rows:N0} B/row; GCs gen0/1/2 {GC.CollectionCount(0) - collections[0]}/{GC.CollectionCount(1) - collections[1]}/{GC.CollectionCount(2) - collections[2]}");
        var sampled = listener.Bytes.Values.Sum();
        Console.WriteLine($"  sampled allocations by type (share of {sampled / 1e6:N0} MB sampled; large = on the large object heap):");
        foreach (var (type, bytes) in listener.Bytes.OrderByDescending(kv => kv.Value).Take(top))
        {
            Console.WriteLine($"    {bytes * (double)total / Math.Max(1, sampled) / rows,8:N0} B/row  {bytes * 100.0 / Math.Max(1, sampled),5:N1}%  {type}");
        }
        await StagesAsync(history, storage, run, bodies, rows, cancellationToken);
        return 0;
    }

    /// <summary>Bytes allocated (all threads) by each step of a post, each run alone over the same bodies.</summary>
    private static async Task StagesAsync(HistoryStore history, StorageAccount storage, RunKey run, List<byte[]> bodies, long rows, CancellationToken cancellationToken)
    {
        var requests = bodies.ConvertAll(b => FileStreamRequest.Parse(b));
        var lines = requests.ConvertAll(r => r.File(FileStreamRequest.HistoryFile)!.Content);
        async Task Measure(string stage, Func<Task> action)
        {
            var before = GC.GetTotalAllocatedBytes(precise: true);
            var wall = System.Diagnostics.Stopwatch.StartNew();
            await action();
            var elapsed = wall.Elapsed;
            Console.WriteLine($"  stage {stage,-34} {(GC.GetTotalAllocatedBytes(precise: true) - before) / (double)rows,8:N0} B/row {elapsed.TotalMicroseconds / rows,7:N2} us/row wall");
        }
        Console.WriteLine("  stages alone (allocated on all threads):");
        await Measure("parse request body", () => { requests.ForEach(_ => { }); bodies.ForEach(b => FileStreamRequest.Parse(b)); return Task.CompletedTask; });
        var chunks = new List<List<(Azure.Data.Tables.TableEntity Entity, byte[]? SpilledData, int First, int Count)>>();
        await Measure("build chunks (frame + Brotli)", () =>
        {
            long offset = 0;
            foreach (var post in lines)
            {
                chunks.Add(history.Stream.BuildChunks(run, offset, post));
                offset += post.Count;
            }
            return Task.CompletedTask;
        });
        var other = run with { RunId = run.RunId + "-chunks" };
        await Measure("write chunks (SDK + HTTP)", async () =>
        {
            foreach (var post in chunks)
            {
                await history.Stream.WriteChunksAsync(other, post, cancellationToken);
            }
        });
        var rowsParsed = new List<HistoryRow>();
        await Measure("parse + flatten rows", () =>
        {
            long index = 0;
            foreach (var post in lines)
            {
                foreach (var line in post)
                {
                    rowsParsed.Add(HistoryValues.ParseRow(index++, line)!);
                }
            }
            return Task.CompletedTask;
        });
        await Measure("key index", () =>
        {
            var keys = new KeyIndex();
            rowsParsed.ForEach(r => keys.AddRow(r.Flat));
            return Task.CompletedTask;
        });
        var table = await storage.TableAsync(HistoryStore.TableName);
        await Measure("point read (state row) x posts", async () =>
        {
            foreach (var _ in bodies)
            {
                await table.GetAsync<Azure.Data.Tables.TableEntity>(run.PartitionKey, "keys", cancellationToken);
            }
        });
    }

    /// <summary>The runtime's GCAllocationTick events (keyword GC, verbose), summed by type name and heap.</summary>
    private sealed class AllocationListener : EventListener
    {
        public ConcurrentDictionary<string, long> Bytes { get; } = new(StringComparer.Ordinal);

        public volatile bool Enabled;

        protected override void OnEventSourceCreated(EventSource eventSource)
        {
            if (eventSource.Name == "Microsoft-Windows-DotNETRuntime")
            {
                EnableEvents(eventSource, EventLevel.Verbose, (EventKeywords)0x1);
            }
        }

        protected override void OnEventWritten(EventWrittenEventArgs eventData)
        {
            if (!Enabled || eventData.EventName is null || !eventData.EventName.StartsWith("GCAllocationTick", StringComparison.Ordinal) || eventData.Payload is null)
            {
                return;
            }
            var names = eventData.PayloadNames!;
            var type = names.IndexOf("TypeName") is var t and >= 0 ? eventData.Payload[t] as string ?? "?" : "?";
            var kind = names.IndexOf("AllocationKind") is var k and >= 0 ? Convert.ToInt32(eventData.Payload[k], System.Globalization.CultureInfo.InvariantCulture) : 0;
            var amount = names.IndexOf("AllocationAmount64") is var a and >= 0 ? Convert.ToInt64(eventData.Payload[a], System.Globalization.CultureInfo.InvariantCulture) : 100_000;
            Bytes.AddOrUpdate(kind == 1 ? type + " (large)" : type, amount, (_, n) => n + amount);
        }
    }
}
