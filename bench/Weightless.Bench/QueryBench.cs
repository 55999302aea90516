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
/// (the REST list call minus HTTP: role check, project read, run index, query). Cold = the in-process index
/// dropped before each call (snapshot blob download + decode + change-log tail); warm = cached (the default
/// reads the change-log tail on every call); revalidating = Freshness zero explicitly, snapshot saves off.
/// Options: --runs (100000), --changes (200 runs changed after the snapshot), --iterations (30), --cold-iterations (7), --storage.
/// </summary>
internal sealed class QueryBench : IBenchScenario
{
    private const string Filter = "{\"$and\": [{\"config.c0\": {\"$gt\": 0.25}}, {\"state\": {\"$in\": [\"finished\", \"crashed\"]}}, {\"summary_metrics.s3\": {\"$lt\": 0.8}}]}";
    private const string Sort = "-summary_metrics.s1";

    public string Name => "query";

    public string Description => "runs filter + sort + first page of 50 over --runs runs x 20 config x 20 summary keys, warm and cold (--runs, --iterations, --cold-iterations, --storage)";

    public async Task<int> RunAsync(BenchOptions options, CancellationToken cancellationToken)
    {
        var runCount = (int)options.Long("runs", 100_000);
        var iterations = (int)options.Long("iterations", 30);
        var coldIterations = (int)options.Long("cold-iterations", 7);
        var prefix = "q" + Guid.NewGuid().ToString("N")[..8];
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
        await tenancy.CreateUserAsync(entity, null, isInstanceAdmin: false, cancellationToken);
        var principal = new Principal(entity, false, AuthMethod.ApiKey);
        Console.WriteLine($"runs={runCount:N0} config keys=20 summary keys=20 prefix={prefix}");

        var seed = Stopwatch.StartNew();
        var projects = await storage.TableAsync(RunService.ProjectsTable);
        await projects.AddAsync(new ProjectRow { PartitionKey = TableKeys.Escape(entity), RowKey = TableKeys.Escape(project), Name = project, CreatedAt = DateTimeOffset.UtcNow }, cancellationToken);
        var table = await storage.TableAsync(RunService.RunsTable);
        var random = new Random(1);
        var epoch = DateTimeOffset.UtcNow.AddDays(-30);
        const int batch = 1000;
        for (var start = 0; start < runCount; start += batch)
        {
            var actions = new List<TableTransactionAction>(batch);
            for (var i = start; i < Math.Min(runCount, start + batch); i++)
            {
                actions.Add(new TableTransactionAction(TableTransactionActionType.UpsertReplace, MakeRun(random, entity, project, i, epoch)));
            }
            await table.SubmitBatchAsync(actions, cancellationToken);
        }
        Console.WriteLine($"seeded {runCount:N0} run rows in {seed.Elapsed.TotalSeconds:N1} s");

        var build = Stopwatch.StartNew();
        await index.RebuildAsync(entity, project, cancellationToken);
        var container = await storage.ContainerAsync(RunIndexService.ContainerName);
        long snapshotBytes = 0;
        await foreach (var blob in container.ListAsync(entity + "/", cancellationToken))
        {
            snapshotBytes += blob.Properties.ContentLength ?? 0;
        }
        Console.WriteLine($"full index build (read all runs, parse config/summary, save snapshot): {build.Elapsed.TotalSeconds:N1} s; snapshot blob {snapshotBytes / 1e6:N1} MB");

        // Runs changed after the snapshot, through RunService (each write adds a change-log entry): cold
        // starts apply them from the log's tail.
        var changes = (int)options.Long("changes", 200);
        var runService = provider.GetRequiredService<RunService>();
        var changed = Stopwatch.StartNew();
        for (var i = 0; i < changes; i++)
        {
            var id = "r" + (i * (runCount / Math.Max(1, changes))).ToString("D6", CultureInfo.InvariantCulture);
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

        var cold = new List<double>();
        for (var i = 0; i < coldIterations; i++)
        {
            index.Evict(entity, project);
            GC.Collect();
            var watch = Stopwatch.StartNew();
            await service.ListRunsAsync(principal, entity, project, spec, cancellationToken);
            cold.Add(watch.Elapsed.TotalMilliseconds);
        }
        Report("cold (index evicted: snapshot download + decode + change-log tail + query)", cold);
        var download = new List<double>();
        var decode = new List<double>();
        for (var i = 0; i < coldIterations; i++)
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
        Report("    of which snapshot download alone", download);
        Report("    of which snapshot decode alone", decode);
        var beyond = cold.Order().ElementAt(cold.Count / 2) - download.Order().ElementAt(download.Count / 2) - decode.Order().ElementAt(decode.Count / 2);
        Console.WriteLine($"    cold p50 beyond snapshot download + decode: {beyond:N1} ms");

        var warm = new List<double>();
        for (var i = 0; i < iterations; i++)
        {
            var watch = Stopwatch.StartNew();
            await service.ListRunsAsync(principal, entity, project, spec, cancellationToken);
            warm.Add(watch.Elapsed.TotalMilliseconds);
        }
        Report("warm (cached index, change-log tail read per call by default; role check + project read + in-memory query)", warm);

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

    /// <summary>Prints p50/p90/min/max of latency samples in milliseconds.</summary>
    internal static void Report(string title, List<double> samples)
    {
        var sorted = samples.Order().ToList();
        double At(double q) => sorted[Math.Min(sorted.Count - 1, (int)Math.Floor(q * sorted.Count))];
        Console.WriteLine($"{title}: n={sorted.Count} p50 {At(0.5):N1} ms, p90 {At(0.9):N1} ms, min {sorted[0]:N1} ms, max {sorted[^1]:N1} ms");
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
        var id = "r" + index.ToString("D6", CultureInfo.InvariantCulture);
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
