using System.Diagnostics;
using System.Globalization;
using System.Text;
using Azure.Data.Tables;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Weightless.Core.Auth;
using Weightless.Core.Hosting;
using Weightless.Core.Query;
using Weightless.Core.Runs;
using Weightless.Core.Storage;
using Weightless.Core.Tenancy;

namespace Weightless.Bench;

/// <summary>
/// The runs table at scale: <c>--runs</c> runs (100,000) with 20 config and 20 summary keys written to the
/// runs table, then "filter + sort + first page of 50" through <see cref="RunQueryService.ListRunsAsync"/>
/// (the REST list call minus HTTP: role check, project read, run index, query). Seeding writes a change-log
/// entry per run (as a one-time writer does). Cold = the in-process index dropped before each call (snapshot
/// opened with ranged reads: header + runs, change-log tail, re-reads of runs it may not hold, the filter and
/// sort columns decoded, the page's rows point-read), first against the full build's snapshot with
/// --changes runs changed after it, then right after a resave; warm = cached (the default reads the
/// change-log tail on every call); revalidating = Freshness zero explicitly, snapshot saves off.
/// Under saves = warm while a writer changes runs through RunService and snapshot saves run back to back
/// (freeze under the lock, encode + upload outside it); per-query stages (lock wait, refresh, engine, GC
/// pause) are printed for the slowest queries, with each save's freeze/encode/upload times.
/// Options: --runs (100000), --changes (200 runs changed after the snapshot), --iterations (30), --cold-iterations (7),
/// --save-iterations (300 queries under saves; 0 skips that part), --prefix (query runs an earlier run seeded under that table prefix),
/// --reseed-tail (with --prefix: rewrite the last N runs, rows and change-log entries, just before the full build, as a bulk
/// seed that has just finished leaves them; 0 by default), --storage.
/// </summary>
internal sealed class QueryBench : IBenchScenario
{
    private const string Filter = "{\"$and\": [{\"config.c0\": {\"$gt\": 0.25}}, {\"state\": {\"$in\": [\"finished\", \"crashed\"]}}, {\"summary_metrics.s3\": {\"$lt\": 0.8}}]}";
    private const string Sort = "-summary_metrics.s1";

    public string Name => "query";

    public string Description => "runs filter + sort + first page of 50 over --runs runs x 20 config x 20 summary keys, warm, cold and under snapshot saves (--runs, --changes, --iterations, --cold-iterations, --save-iterations, --prefix, --reseed-tail, --storage)";

    public async Task<int> RunAsync(BenchOptions options, CancellationToken cancellationToken)
    {
        var runCount = (int)options.Long("runs", 100_000);
        var iterations = (int)options.Long("iterations", 30);
        var coldIterations = (int)options.Long("cold-iterations", 7);
        // --prefix reuses the runs an earlier bench seeded under that table prefix (seeding 100,000 runs
        // into disk-backed Azurite takes many minutes): before/after comparisons read the same data.
        var reused = options.String("prefix");
        var prefix = reused ?? "q" + Guid.NewGuid().ToString("N")[..8];
        // The same registrations the Function apps use, so the bench follows their constructors.
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Storage:ConnectionString"] = options.Storage,
            ["Storage:TablePrefix"] = prefix,
        }).Build();
        var services = new ServiceCollection().AddLogging().AddSingleton<IConfiguration>(configuration);
        services.AddWeightlessCore(configuration, "weightless-bench").AddWeightlessRuns(configuration).AddWeightlessQuery(configuration);
        await using var provider = services.BuildServiceProvider();
        var storage = provider.GetRequiredService<StorageAccount>();
        var tenancy = provider.GetRequiredService<TenancyService>();
        RunQueryService Service(RunIndexService index) => ActivatorUtilities.CreateInstance<RunQueryService>(provider, index);
        RunIndexService Index(RunIndexOptions indexOptions) => ActivatorUtilities.CreateInstance<RunIndexService>(provider, Options.Create(indexOptions));
        var index = Index(new RunIndexOptions());
        var service = Service(index);
        const string entity = "bench";
        const string project = "sweep";
        if (reused is null)
        {
            await tenancy.CreateUserAsync(entity, null, isInstanceAdmin: false, cancellationToken);
        }
        var principal = new Principal(entity, false, AuthMethod.ApiKey);
        Console.WriteLine($"runs={runCount:N0} config keys=20 summary keys=20 prefix={prefix}");

        var seed = Stopwatch.StartNew();
        var projects = await storage.TableAsync(RunService.ProjectsTable);
        var table = await storage.TableAsync(RunService.RunsTable);
        var changeLog = await storage.TableAsync(RunChangeLog.TableName);
        var random = new Random(1);
        var epoch = DateTimeOffset.UtcNow.AddDays(-30);
        const int batch = 1000;
        // A reused prefix can still start like a fresh seed: its last --reseed-tail runs are written again
        // right before the build (a bulk seed's newest runs, logged within the change-log margin of the build).
        var reseedTail = reused is null ? 0 : (int)Math.Min(runCount, options.Long("reseed-tail", 0));
        for (var start = reused is null ? 0 : runCount - reseedTail; start < runCount; start += batch)
        {
            if (start == 0 && reused is null)
            {
                await projects.AddAsync(new ProjectRow { PartitionKey = TableKeys.Escape(entity), RowKey = TableKeys.Escape(project), Name = project, CreatedAt = DateTimeOffset.UtcNow }, cancellationToken);
            }
            var actions = new List<TableTransactionAction>(batch);
            for (var i = start; i < Math.Min(runCount, start + batch); i++)
            {
                actions.Add(new TableTransactionAction(TableTransactionActionType.UpsertReplace, MakeRun(random, entity, project, i, epoch)));
            }
            // Transactions of 100 rows, so each row's new ETag comes back for its change-log entry.
            var etags = (await Task.WhenAll(actions.Chunk(100).Select(chunk => table.SubmitTransactionAsync(chunk, cancellationToken)))).SelectMany(e => e).ToList();
            // The entries a one-time writer logs (no lease, naming the version written): a reader that read
            // the run after them, or read that version, never re-reads it for them.
            var time = RunChangeLog.TimeKey(DateTimeOffset.UtcNow);
            await changeLog.SubmitBatchAsync(actions.Select((a, i) => new TableTransactionAction(TableTransactionActionType.UpsertReplace, new RunChangeRow
            {
                PartitionKey = a.Entity.PartitionKey,
                RowKey = TableKeys.Compose(time, ((RunRow)a.Entity).RunId, "seed"),
                RunId = ((RunRow)a.Entity).RunId,
                LeaseSeconds = 0,
                RunETag = etags[i]?.ToString(),
            })).ToList(), cancellationToken);
        }
        Console.WriteLine(reused is null ? $"seeded {runCount:N0} run rows in {seed.Elapsed.TotalSeconds:N1} s"
            : $"reusing the runs seeded under prefix {prefix}; rewrote the last {reseedTail:N0} in {seed.Elapsed.TotalSeconds:N1} s");

        var build = Stopwatch.StartNew();
        await index.RebuildAsync(entity, project, cancellationToken);
        var container = await storage.ContainerAsync(RunIndexService.ContainerName);
        long snapshotBytes = 0;
        await foreach (var blob in container.ListAsync(entity + "/", cancellationToken))
        {
            snapshotBytes += blob.Properties.ContentLength ?? 0;
        }
        Console.WriteLine($"full index build (read all runs, parse config/summary, save snapshot): {build.Elapsed.TotalSeconds:N1} s; snapshot blob {snapshotBytes / 1e6:N1} MB");
        if (index.RecentSaves is [.., var buildSave])
        {
            Console.WriteLine($"    snapshot save: encode {buildSave.EncodeMs:N0} ms, upload {buildSave.UploadMs:N0} ms, {buildSave.Bytes / 1e6:N1} MB; then change-log compaction {buildSave.CompactMs:N0} ms");
        }

        // Runs changed after the snapshot, through RunService (each write adds a change-log entry): cold
        // starts apply them from the log's tail.
        var changes = (int)options.Long("changes", 200);
        var runService = provider.GetRequiredService<RunService>();
        var changed = Stopwatch.StartNew();
        for (var i = 0; i < changes; i++)
        {
            var id = RunId(i * (runCount / Math.Max(1, changes)));
            await runService.UpdateAsync(new RunKey(entity, project, id), (row, _) =>
            {
                row.DisplayName = "renamed-" + id;
                return Task.FromResult(true);
            }, cancellationToken);
        }
        Console.WriteLine($"changed {changes} runs after the snapshot through RunService in {changed.Elapsed.TotalSeconds:N1} s (change-log entries)");

        var spec = new RunQuerySpec(RunFilter.Parse(Filter), RunQueryEngine.ParseSort([Sort]), 50, null);
        var first = await service.ListRunsAsync(principal, entity, project, spec, cancellationToken);
        Console.WriteLine($"query: filter {Filter} sort {Sort} limit 50 -> {first.Runs.Count} runs of {first.Total:N0} matching");
        GC.Collect();
        Console.WriteLine($"managed heap with the index loaded: {GC.GetTotalMemory(forceFullCollection: true) / 1e6:N0} MB");

        await MeasureColdAsync($"cold against the full build's snapshot ({changes} runs changed after it)", index, service, principal, entity, project, spec, coldIterations, cancellationToken);
        var resave = Stopwatch.StartNew();
        await index.SaveAsync(entity, project, cancellationToken);
        Console.WriteLine($"resave (refresh + encode + upload): {resave.Elapsed.TotalMilliseconds:N0} ms");
        if (index.RecentSaves is [.., var save])
        {
            Console.WriteLine($"    snapshot save: encode {save.EncodeMs:N0} ms, upload {save.UploadMs:N0} ms, {save.Bytes / 1e6:N1} MB; then change-log compaction {save.CompactMs:N0} ms");
        }
        await MeasureColdAsync("cold right after a resave", index, service, principal, entity, project, spec, coldIterations, cancellationToken);

        var download = new List<double>();
        var decode = new List<double>();
        for (var i = 0; i < Math.Min(3, coldIterations); i++)
        {
            var watch = Stopwatch.StartNew();
            await foreach (var blob in container.ListAsync(entity + "/", cancellationToken))
            {
                var content = await container.DownloadAsync(blob.Name, cancellationToken);
                download.Add(watch.Elapsed.TotalMilliseconds);
                watch.Restart();
                RunIndexCodec.Read(content!.Value.Content.ToMemory());
                decode.Add(watch.Elapsed.TotalMilliseconds);
            }
        }
        Report("    for comparison: whole-snapshot download (what a cold start read before ranged reads)", download);
        await ColumnReadsAsync(container, entity, coldIterations, cancellationToken);
        await PageReadsAsync(table, entity, project, runCount, first.Runs.Count, coldIterations, cancellationToken);
        Report("    for comparison: whole-snapshot decode (every column)", decode);

        // Warm = every column decoded (a lazily opened table decodes the rest once it is queried again).
        await index.ReadAsync(entity, project, t => t.LiveCount, cancellationToken);
        var warm = new List<double>();
        for (var i = 0; i < iterations; i++)
        {
            var watch = Stopwatch.StartNew();
            await service.ListRunsAsync(principal, entity, project, spec, cancellationToken);
            warm.Add(watch.Elapsed.TotalMilliseconds);
        }
        Report("warm (cached index, change-log tail read per call by default; role check + project read + in-memory query)", warm);
        await WarmUnderSavesAsync(options, storage, runService, principal, entity, project, runCount, spec, Service, Index, cancellationToken);

        var engineOnly = new List<double>();
        await index.ReadAsync(entity, project, t =>
        {
            for (var i = 0; i < iterations; i++)
            {
                var watch = Stopwatch.StartNew();
                RunQueryEngine.Execute(t, spec);
                engineOnly.Add(watch.Elapsed.TotalMilliseconds);
            }
            return 0;
        }, cancellationToken);
        Report("engine only (filter + top-50 over the in-memory index)", engineOnly);

        var revalidating = Index(new RunIndexOptions { Freshness = TimeSpan.Zero, SaveInterval = TimeSpan.FromHours(1) });
        var revalidatingService = Service(revalidating);
        await revalidatingService.ListRunsAsync(principal, entity, project, spec, cancellationToken);
        var revalidated = new List<double>();
        for (var i = 0; i < iterations; i++)
        {
            var watch = Stopwatch.StartNew();
            await revalidatingService.ListRunsAsync(principal, entity, project, spec, cancellationToken);
            revalidated.Add(watch.Elapsed.TotalMilliseconds);
        }
        Report("warm, revalidating every call (change-log tail since the watermark)", revalidated);
        return 0;
    }

    /// <summary>Cold queries (the index evicted before each) with the p50 of each stage.</summary>
    private static async Task MeasureColdAsync(string title, RunIndexService index, RunQueryService service, Principal principal, string entity, string project, RunQuerySpec spec, int iterations, CancellationToken cancellationToken)
    {
        var cold = new List<double>();
        var stages = new List<RunIndexReadTiming>();
        for (var i = 0; i < iterations; i++)
        {
            index.Evict(entity, project);
            GC.Collect();
            var watch = Stopwatch.StartNew();
            await service.ListRunsAsync(principal, entity, project, spec, cancellationToken);
            cold.Add(watch.Elapsed.TotalMilliseconds);
            stages.Add(index.LastRead!);
        }
        Report(title, cold);
        double P50(Func<RunIndexReadTiming, double> stage) => stages.Select(stage).Order().ElementAt(stages.Count / 2);
        Console.WriteLine($"    stage p50s: snapshot first read (header + runs bytes; ~0 when it overlapped the access check) {P50(s => s.HeaderMs):N1} ms, open (+ runs decoded) {P50(s => s.OpenMs):N1} ms, change-log tail (its own read, overlapping the open) {P50(s => s.TailMs):N1} ms, " +
            $"filter/sort columns beyond the tail {P50(s => s.ColumnsMs):N1} ms, row versions {P50(s => s.VersionsMs):N1} ms, re-reads {P50(s => s.RereadMs):N1} ms ({P50(s => s.RunsReread):N0} runs), refresh wall {P50(s => s.RefreshMs):N1} ms (columns in at {P50(s => s.ColumnsInMs):N1} ms, page worked out in {P50(s => s.PageMs):N1} ms), " +
            $"query + page rows (fetched during the tail) {P50(s => s.ReadMs):N1} ms; role check + project read (with the snapshot's first read) {cold.Order().ElementAt(cold.Count / 2) - P50(s => s.LockWaitMs + s.RefreshMs + s.ColumnsMs + s.ReadMs):N1} ms");
    }

    /// <summary>The query's filter and sort columns alone: their ranged reads at once (as a cold open makes them), then decoded.</summary>
    private static async Task ColumnReadsAsync(BlobStore container, string entity, int iterations, CancellationToken cancellationToken)
    {
        string? blobName = null;
        await foreach (var blob in container.ListAsync(entity + "/", cancellationToken))
        {
            blobName = blob.Name;
        }
        var first = (await container.DownloadRangeAsync(blobName!, 0, 1 << 20, null, cancellationToken))!.Value;
        var header = RunIndexCodec.ReadHeader(first.Content.ToMemory().Span, out _)!;
        var wanted = new[] { (RunFieldKind.Config, "c0"), (RunFieldKind.Column, "state"), (RunFieldKind.Summary, "s3"), (RunFieldKind.Summary, "s1") };
        var segments = header.Columns.Where(c => wanted.Contains((c.Kind, c.Name))).ToList();
        var read = new List<double>();
        var decode = new List<double>();
        for (var i = 0; i < iterations; i++)
        {
            var watch = Stopwatch.StartNew();
            var bytes = await Task.WhenAll(segments.Select(async s => (await container.DownloadRangeAsync(blobName!, s.Offset, s.Length, first.ETag, cancellationToken))!.Value.Content.ToMemory()));
            read.Add(watch.Elapsed.TotalMilliseconds);
            watch.Restart();
            foreach (var b in bytes)
            {
                RunIndexCodec.ReadColumnPages(b.Span, header.Count);
            }
            decode.Add(watch.Elapsed.TotalMilliseconds);
        }
        Report($"    for comparison: the query's {segments.Count} column segments ({segments.Sum(s => s.Length) / 1e6:N2} MB: {string.Join(", ", segments.Select(s => $"{s.Name} {s.Length / 1e3:N0} KB"))}) read at once", read);
        Report("    for comparison: those segments decoded (one after another)", decode);
    }

    /// <summary>A page's worth of run rows point-read alone: all at once (as a cold page is fetched), 8 at a time, and one after another.</summary>
    private static async Task PageReadsAsync(TableStore table, string entity, string project, int runCount, int count, int iterations, CancellationToken cancellationToken)
    {
        var partition = RunService.PartitionOf(entity, project);
        var random = new Random(5);
        foreach (var parallelism in new[] { count, 8, 1 })
        {
            var samples = new List<double>();
            for (var i = 0; i < iterations; i++)
            {
                var ids = Enumerable.Range(0, count).Select(_ => RunId(random.Next(runCount))).ToArray();
                var watch = Stopwatch.StartNew();
                await Parallel.ForEachAsync(ids, new ParallelOptions { MaxDegreeOfParallelism = parallelism, CancellationToken = cancellationToken },
                    async (id, ct) => await table.GetAsync<RunRow>(partition, TableKeys.Escape(id), ct));
                samples.Add(watch.Elapsed.TotalMilliseconds);
            }
            Report($"    for comparison: {count} run rows point-read {(parallelism == count ? "all at once" : parallelism == 1 ? "one after another" : $"{parallelism} at a time")}", samples);
        }
    }

    /// <summary>The id of the seeded run at <paramref name="index"/>.</summary>
    private static string RunId(int index) => "r" + index.ToString("D6", CultureInfo.InvariantCulture);

    /// <summary>Prints p50/p90/p99/min/max of latency samples in milliseconds.</summary>
    internal static void Report(string title, List<double> samples)
    {
        var sorted = samples.Order().ToList();
        double At(double q) => sorted[Math.Min(sorted.Count - 1, (int)Math.Floor(q * sorted.Count))];
        Console.WriteLine($"{title}: n={sorted.Count} p50 {At(0.5):N1} ms, p90 {At(0.9):N1} ms, p99 {At(0.99):N1} ms, min {sorted[0]:N1} ms, max {sorted[^1]:N1} ms");
    }

    /// <summary>
    /// Warm queries while a writer changes a run every ~20 ms through RunService (change log included)
    /// and the index saves its snapshot whenever the last save is over (SaveInterval and SaveBackoff zero):
    /// every query overlaps a freeze, an encode, an upload or change-log pruning. Prints the stages of the slowest queries.
    /// </summary>
    private static async Task WarmUnderSavesAsync(BenchOptions options, StorageAccount storage, RunService runService, Principal principal, string entity, string project, int runCount,
        RunQuerySpec spec, Func<RunIndexService, RunQueryService> service, Func<RunIndexOptions, RunIndexService> index, CancellationToken cancellationToken)
    {
        var count = (int)options.Long("save-iterations", 300);
        if (count <= 0)
        {
            return;
        }
        var saving = index(new RunIndexOptions { SaveInterval = TimeSpan.Zero, SaveBackoff = 0 });
        var saver = service(saving);
        await saver.ListRunsAsync(principal, entity, project, spec, cancellationToken);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var written = 0;
        var writer = Task.Run(async () =>
        {
            var random = new Random(3);
            while (!stop.IsCancellationRequested)
            {
                var id = RunId(random.Next(runCount));
                await runService.UpdateAsync(new RunKey(entity, project, id), (row, _) =>
                {
                    row.Summary = "{\"s1\": " + random.NextDouble().ToString("R", CultureInfo.InvariantCulture) + "}";
                    return Task.FromResult(true);
                }, CancellationToken.None);
                written++;
                await Task.Delay(20, CancellationToken.None);
            }
        }, CancellationToken.None);
        // An Azurite probe: one small point read every 50 ms, independent of the index. When it stalls
        // too, the storage emulator (not the index) is what a slow query waited for.
        var projects = await storage.TableAsync(RunService.ProjectsTable);
        var probes = new List<double>();
        var probe = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var watch = Stopwatch.StartNew();
                await projects.GetAsync<ProjectRow>(TableKeys.Escape(entity), TableKeys.Escape(project), CancellationToken.None);
                probes.Add(watch.Elapsed.TotalMilliseconds);
                await Task.Delay(50, CancellationToken.None);
            }
        }, CancellationToken.None);
        var samples = new List<(double Ms, RunIndexReadTiming? Stages, double GcMs)>();
        var gcCount = GC.CollectionCount(2);
        for (var i = 0; i < count; i++)
        {
            var gc = GC.GetTotalPauseDuration();
            var watch = Stopwatch.StartNew();
            await saver.ListRunsAsync(principal, entity, project, spec, cancellationToken);
            samples.Add((watch.Elapsed.TotalMilliseconds, saving.LastRead, (GC.GetTotalPauseDuration() - gc).TotalMilliseconds));
        }
        await stop.CancelAsync();
        await writer;
        await probe;
        var saves = saving.RecentSaves;
        Report($"warm under saves ({written} run changes written meanwhile, {saves.Count} snapshot saves, {GC.CollectionCount(2) - gcCount} gen2 GCs)", samples.Select(s => s.Ms).ToList());
        foreach (var (ms, stages, gcMs) in samples.OrderByDescending(s => s.Ms).Take(3))
        {
            Console.WriteLine($"    slow query {ms:N1} ms: lock wait {stages?.LockWaitMs:N1} ms, refresh (change-log tail + {stages?.RunsReread} runs re-read) {stages?.RefreshMs:N1} ms, engine {stages?.ReadMs:N1} ms, GC pauses {gcMs:N1} ms");
        }
        Report("    lock wait per query", samples.Select(s => s.Stages?.LockWaitMs ?? 0).ToList());
        Report("    refresh per query (change-log tail read + re-reads, against Azurite)", samples.Select(s => s.Stages?.RefreshMs ?? 0).ToList());
        Report("    Azurite probe (one point read every 50 ms, meanwhile)", probes);
        if (saves.Count > 0)
        {
            Report("    save: freeze under the lock", saves.Select(s => s.FreezeMs).ToList());
            Report("    save: encode (outside the lock)", saves.Select(s => s.EncodeMs).ToList());
            Report("    save: upload (outside the lock)", saves.Select(s => s.UploadMs).ToList());
            Console.WriteLine($"    snapshot {saves[^1].Bytes / 1e6:N1} MB");
        }
    }

    private static RunRow MakeRun(Random random, string entity, string project, int index, DateTimeOffset epoch)
    {
        var config = new StringBuilder("{");
        for (var k = 0; k < 20; k++)
        {
            var value = k % 4 == 3 ? $"\"opt{random.Next(5)}\"" : random.NextDouble().ToString("R", CultureInfo.InvariantCulture);
            config.Append(k == 0 ? "" : ", ").Append($"\"c{k}\": {{\"desc\": null, \"value\": {value}}}");
        }
        config.Append('}');
        var summary = new StringBuilder("{");
        for (var k = 0; k < 20; k++)
        {
            summary.Append(k == 0 ? "" : ", ").Append($"\"s{k}\": ").Append(random.NextDouble().ToString("R", CultureInfo.InvariantCulture));
        }
        summary.Append('}');
        var id = RunId(index);
        var created = epoch.AddSeconds(index * 20 + random.Next(10));
        return new RunRow
        {
            PartitionKey = RunService.PartitionOf(entity, project),
            RowKey = TableKeys.Escape(id),
            Entity = entity,
            Project = project,
            RunId = id,
            DisplayName = "run-" + index.ToString(CultureInfo.InvariantCulture),
            Config = config.ToString(),
            Summary = summary.ToString(),
            Tags = random.Next(3) == 0 ? "[\"baseline\"]" : "[]",
            Group = "g" + random.Next(20).ToString(CultureInfo.InvariantCulture),
            JobType = "train",
            State = random.Next(4) switch { 0 => RunStates.Crashed, 1 => RunStates.Running, _ => RunStates.Finished },
            CreatedBy = entity,
            CreatedAt = created,
            UpdatedAt = created,
            HeartbeatAt = created.AddMinutes(random.Next(1, 600)),
        };
    }
}
