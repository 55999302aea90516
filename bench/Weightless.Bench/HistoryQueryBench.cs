using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Weightless.Core.Auth;
using Weightless.Core.Hosting;
using Weightless.Core.History;
using Weightless.Core.Query;
using Weightless.Core.Runs;
using Weightless.Core.Storage;
using Weightless.Core.Tenancy;

namespace Weightless.Bench;

/// <summary>
/// History reads at scale, through the REST API's services minus HTTP (role checks included):
/// (2) one metric of <c>--steps</c> steps (1,000,000) → <c>--buckets</c> (1,000) M4 buckets;
/// (3) a chart call: <c>--chart-runs</c> (20) runs × <c>--chart-metrics</c> (5) metrics × <c>--chart-steps</c>
/// (100,000) steps at <c>--buckets</c> buckets; (c) the dashboard's first render: <c>--dash-runs</c> (10, W&amp;B's default
/// visible runs) runs × <c>--dash-metrics</c> (20) metrics × <c>--dash-steps</c> (100,000) steps at <c>--dash-buckets</c>
/// (600, about a panel's pixel width) in the dashboard's columns format (6 columns), cold and warm, as one call and
/// as two concurrent calls (the first <c>--dash-split</c> (6) metrics, then the rest); (4) full history
/// export (CSV, JSON lines, Parquet) rows/s (<c>--export 0</c> skips it).
/// Seeding goes through the ingest path (<see cref="FileStreamIngestor"/>: chunks, key index, M4 rollups) in
/// posts of <c>--batch</c> (10,000) lines. "cold" = a fresh service provider (new clients, no cached
/// table handles, no in-memory rollup reads; the first such call after a change also stores the rollup snapshots
/// later cold calls read), "warm" = repeated calls. Options also: --iterations (20), --storage, --prefix (query data an
/// earlier run seeded under that table prefix instead of seeding), --extra-runs (0) runs of --extra-metrics (20) x
/// --extra-steps (100,000) seeded next to the measured ones first (also into a reused prefix: the table grows, to show
/// how cold reads scale with everything else stored in the history table), --drop-snapshots 1 (delete the measured
/// runs' rollup snapshots first, so the first cold call shows the query path), --storage-pid (the Azurite process: its
/// CPU per cold chart and first-render call is printed next to the bench's own).
/// </summary>
internal sealed class HistoryQueryBench : IBenchScenario
{
    private const string Entity = "bench";
    private const string Project = "charts";

    /// <summary>The columns the dashboard's line panels draw from.</summary>
    private static readonly string[] DashColumns = ["start", "end", "lastX", "lastY", "minY", "maxY"];

    public string Name => "history";

    public string Description => "M4 of one 1M-step metric, a 20 runs x 5 metrics x 100k steps chart call, the dashboard's 10 x 20 x 100k first render, history export rows/s (--steps, --chart-runs, --chart-metrics, --chart-steps, --dash-runs, --dash-metrics, --dash-steps, --dash-buckets, --dash-split, --buckets, --batch, --iterations, --export, --prefix, --extra-runs, --extra-metrics, --extra-steps, --drop-snapshots, --storage-pid, --storage)";

    public async Task<int> RunAsync(BenchOptions options, CancellationToken cancellationToken)
    {
        var steps = options.Long("steps", 1_000_000);
        var chartRuns = (int)options.Long("chart-runs", 20);
        var chartMetrics = (int)options.Long("chart-metrics", 5);
        var chartSteps = options.Long("chart-steps", 100_000);
        var buckets = (int)options.Long("buckets", 1000);
        var batch = (int)options.Long("batch", 10_000);
        var iterations = (int)options.Long("iterations", 20);
        var dashRuns = (int)options.Long("dash-runs", 10);
        var dashMetrics = (int)options.Long("dash-metrics", 20);
        var dashSteps = options.Long("dash-steps", 100_000);
        var dashBuckets = (int)options.Long("dash-buckets", 600);
        var dashSplit = (int)Math.Clamp(options.Long("dash-split", 6), 1, Math.Max(1, dashMetrics - 1));
        // --prefix reuses data an earlier run seeded under that table prefix (query changes measured without reseeding).
        var reuse = options.String("prefix");
        // --storage-pid: the Azurite process, whose CPU per cold call is printed next to this process's (work, not wall
        // time: comparable on a loaded machine).
        var storagePid = options.String("storage-pid") is { } pid ? int.Parse(pid, CultureInfo.InvariantCulture) : (int?)null;
        var prefix = reuse ?? "h" + Guid.NewGuid().ToString("N")[..8];
        Console.WriteLine($"steps={steps:N0} chart={chartRuns} runs x {chartMetrics} metrics x {chartSteps:N0} steps buckets={buckets} batch={batch:N0} prefix={prefix}");

        ServiceProvider Provider()
        {
            var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Storage:ConnectionString"] = options.Storage,
                ["Storage:TablePrefix"] = prefix,
            }).Build();
            var services = new ServiceCollection().AddLogging().AddSingleton<IConfiguration>(configuration);
            services.AddWeightlessCore(configuration, "weightless-bench").AddWeightlessRuns(configuration).AddWeightlessQuery(configuration);
            return services.BuildServiceProvider();
        }

        var principal = new Principal(Entity, false, AuthMethod.ApiKey);
        var admin = new Principal("admin", true, AuthMethod.ApiKey);
        var longRun = "long";
        var chartIds = Enumerable.Range(0, chartRuns).Select(i => "c" + i.ToString("D2", CultureInfo.InvariantCulture)).ToList();
        var dashIds = Enumerable.Range(0, dashRuns).Select(i => "d" + i.ToString("D2", CultureInfo.InvariantCulture)).ToList();
        if (reuse is not null)
        {
            await using var probe = Provider();
            if (await probe.GetRequiredService<TenancyService>().GetEntityAsync(Entity, cancellationToken) is null)
            {
                Console.Error.WriteLine($"--prefix {reuse}: nothing was seeded under that table prefix; run without --prefix to seed.");
                return 2;
            }
        }
        else
        {
            await using var seedProvider = Provider();
            await seedProvider.GetRequiredService<TenancyService>().CreateUserAsync(Entity, null, isInstanceAdmin: false, cancellationToken);
            var runs = seedProvider.GetRequiredService<RunService>();
            var ingestor = seedProvider.GetRequiredService<FileStreamIngestor>();
            var historyStore = seedProvider.GetRequiredService<HistoryStore>();
            foreach (var id in chartIds.Concat(dashIds).Prepend(longRun))
            {
                await runs.UpsertAsync(admin, new UpsertRunCommand { Entity = Entity, Project = Project, Name = id, State = "finished" }, cancellationToken);
            }
            var seed = Stopwatch.StartNew();
            await SeedAsync(ingestor, historyStore, new RunKey(Entity, Project, longRun), steps, 1, batch, cancellationToken);
            Console.WriteLine($"seeded {longRun}: {steps:N0} steps x 1 metric in {seed.Elapsed.TotalSeconds:N1} s ({steps / seed.Elapsed.TotalSeconds:N0} rows/s through FileStreamIngestor)");
            seed.Restart();
            await Parallel.ForEachAsync(chartIds, new ParallelOptions { MaxDegreeOfParallelism = 4, CancellationToken = cancellationToken }, async (id, ct) =>
                await SeedAsync(ingestor, historyStore, new RunKey(Entity, Project, id), chartSteps, chartMetrics, batch, ct));
            var chartRows = chartSteps * chartRuns;
            Console.WriteLine($"seeded {chartRuns} chart runs: {chartRows:N0} rows x {chartMetrics} metrics in {seed.Elapsed.TotalSeconds:N1} s ({chartRows / seed.Elapsed.TotalSeconds:N0} rows/s, 4 runs in parallel)");
            await Parallel.ForEachAsync(dashIds, new ParallelOptions { MaxDegreeOfParallelism = 4, CancellationToken = cancellationToken }, async (id, ct) =>
                await SeedAsync(ingestor, historyStore, new RunKey(Entity, Project, id), dashSteps, dashMetrics, batch, ct));
        }

        var extraRuns = (int)options.Long("extra-runs", 0);
        if (extraRuns > 0)
        {
            var extraMetrics = (int)options.Long("extra-metrics", 20);
            var extraSteps = options.Long("extra-steps", 100_000);
            await using var seedProvider = Provider();
            var runs = seedProvider.GetRequiredService<RunService>();
            var ingestor = seedProvider.GetRequiredService<FileStreamIngestor>();
            var historyStore = seedProvider.GetRequiredService<HistoryStore>();
            var tag = Guid.NewGuid().ToString("N")[..6];
            var extraIds = Enumerable.Range(0, extraRuns).Select(i => "x" + tag + i.ToString("D3", CultureInfo.InvariantCulture)).ToList();
            var seed = Stopwatch.StartNew();
            await Parallel.ForEachAsync(extraIds, new ParallelOptions { MaxDegreeOfParallelism = 4, CancellationToken = cancellationToken }, async (id, ct) =>
            {
                await runs.UpsertAsync(admin, new UpsertRunCommand { Entity = Entity, Project = Project, Name = id, State = "finished" }, ct);
                await SeedAsync(ingestor, historyStore, new RunKey(Entity, Project, id), extraSteps, extraMetrics, batch, ct);
            });
            Console.WriteLine($"seeded {extraRuns} extra runs: {extraRuns * extraSteps:N0} rows x {extraMetrics} metrics in {seed.Elapsed.TotalSeconds:N1} s");
        }
        await using (var counter = Provider())
        {
            var table = await counter.GetRequiredService<StorageAccount>().TableAsync(HistoryStore.TableName);
            if (options.Long("drop-snapshots", 0) != 0)
            {
                // The first cold call then pays what every cold call paid before snapshots: page range queries.
                foreach (var id in chartIds.Prepend(longRun))
                {
                    var partition = new RunKey(Entity, Project, id).PartitionKey;
                    await foreach (var snapshot in table.QueryPartitionAsync<Azure.Data.Tables.TableEntity>(partition, "n:", "n;", cancellationToken))
                    {
                        await table.DeleteAsync(partition, snapshot.RowKey, cancellationToken: cancellationToken);
                    }
                }
            }
            long entities = 0;
            await foreach (var _ in table.QueryAsync<Azure.Data.Tables.TableEntity>(null, select: ["RowKey"], cancellationToken: cancellationToken))
            {
                entities++;
            }
            Console.WriteLine($"history table: {entities:N0} entities");
        }

        var single = new M4Request([longRun], ["m0"], null, null, null, buckets);
        var chart = new M4Request(chartIds, Enumerable.Range(0, chartMetrics).Select(m => "m" + m.ToString(CultureInfo.InvariantCulture)).ToList(), null, null, null, buckets);
        var dashboard = new M4Request(dashIds, Enumerable.Range(0, dashMetrics).Select(m => "m" + m.ToString(CultureInfo.InvariantCulture)).ToList(), null, null, null, dashBuckets);

        // Cold: a fresh provider per call (new storage clients and connections).
        var coldSingle = new List<double>();
        var coldChart = new List<double>();
        var coldSingleOps = new List<string>();
        var coldChartOps = new List<string>();
        var coldChartPhases = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            await using var provider = Provider();
            var service = provider.GetRequiredService<HistoryQueryService>();
            var counts = provider.GetRequiredService<StorageMetrics>();
            var start = counts.Snapshot();
            var watch = Stopwatch.StartNew();
            await service.QueryM4Async(principal, Entity, Project, single, cancellationToken);
            coldSingle.Add(watch.Elapsed.TotalMilliseconds);
            var middle = counts.Snapshot();
            var timing = new M4WireTiming();
            var cpu = CpuMeter.Start(storagePid);
            watch.Restart();
            await service.QueryM4Async(principal, Entity, Project, chart, cancellationToken, timing);
            coldChart.Add(watch.Elapsed.TotalMilliseconds);
            coldChartPhases.Add(timing.HeaderValue() + cpu.Stop());
            coldSingleOps.Add(PerCall(start, middle, 1));
            coldChartOps.Add(PerCall(middle, counts.Snapshot(), 1));
        }

        await using var warmProvider = Provider();
        var history = warmProvider.GetRequiredService<HistoryQueryService>();
        var metrics = warmProvider.GetRequiredService<StorageMetrics>();
        var answer = await history.QueryM4Async(principal, Entity, Project, single, cancellationToken);
        Console.WriteLine($"(2) M4 {longRun}/m0 over {steps:N0} steps: {answer.Series[0].Count} buckets from {answer.Series[0].Source}");
        QueryBench.Report("(2) cold (new provider)", coldSingle);
        Console.WriteLine($"    first cold call {coldSingle[0]:N1} ms: {coldSingleOps[0]}; last: {coldSingleOps[^1]}");
        var before = metrics.Snapshot();
        var stagesBefore = Stages(history.Stats);
        QueryBench.Report("(2) warm", await RepeatAsync(iterations, () => history.QueryM4Async(principal, Entity, Project, single, cancellationToken)));
        Console.WriteLine($"    storage operations per call: {PerCall(before, metrics.Snapshot(), iterations)}");
        Console.WriteLine($"    stages per call: {StagesPerCall(stagesBefore, Stages(history.Stats), iterations)}");

        var chartAnswer = await history.QueryM4Async(principal, Entity, Project, chart, cancellationToken);
        Console.WriteLine($"(3) chart: {chartAnswer.Series.Count} series x {chartAnswer.Series[0].Count} buckets from {chartAnswer.Series[0].Source}");
        QueryBench.Report("(3) cold (new provider)", coldChart);
        Console.WriteLine($"    first cold call {coldChart[0]:N1} ms: {coldChartOps[0]}; last: {coldChartOps[^1]}");
        Console.WriteLine($"    phases of each cold call: {string.Join(" | ", coldChartPhases)}");
        before = metrics.Snapshot();
        stagesBefore = Stages(history.Stats);
        QueryBench.Report("(3) warm", await RepeatAsync(iterations, () => history.QueryM4Async(principal, Entity, Project, chart, cancellationToken)));
        Console.WriteLine($"    storage operations per call: {PerCall(before, metrics.Snapshot(), iterations)}");
        Console.WriteLine($"    stages per call: {StagesPerCall(stagesBefore, Stages(history.Stats), iterations)}");
        QueryBench.Report("(3) warm incl. the JSON answer", await RepeatAsync(iterations, async () =>
            JsonSerializer.SerializeToUtf8Bytes(await history.QueryM4Async(principal, Entity, Project, chart, cancellationToken), Weightless.Core.Http.RequestBody.Options)));

        // (c) The dashboard's first render: the default visible runs x every metric panel at about a panel's pixel
        // width, answered as the dashboard asks (format=columns, the 6 drawn columns), as one call and as the two
        // concurrent calls the page sends (the on-screen panels' --dash-split metrics first, then the rest).
        var dashColumns = M4Wire.ParseColumns(DashColumns);
        var dashFirst = dashboard with { Metrics = dashboard.Metrics!.Take(dashSplit).ToList() };
        var dashRest = dashboard with { Metrics = dashboard.Metrics!.Skip(dashSplit).ToList() };
        // As the host answers format=columns: the engine's buckets encoded straight into the columns buffer.
        async Task<int> Columns(HistoryQueryService service, M4Request request, M4WireTiming? timing = null)
        {
            var bytes = M4Wire.Encode(await service.QueryM4Async(principal, Entity, Project, request, cancellationToken, timing), dashColumns);
            timing?.Phase("encode");
            return bytes.Length;
        }
        var coldDash = new List<double>();
        var coldDashSplit = new List<double>();
        var coldDashOps = new List<string>();
        var coldDashPhases = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            await using (var provider = Provider())
            {
                var counts = provider.GetRequiredService<StorageMetrics>();
                var start = counts.Snapshot();
                var timing = new M4WireTiming();
                var cpu = CpuMeter.Start(storagePid);
                var watch = Stopwatch.StartNew();
                await Columns(provider.GetRequiredService<HistoryQueryService>(), dashboard, timing);
                coldDash.Add(watch.Elapsed.TotalMilliseconds);
                coldDashPhases.Add(timing.HeaderValue() + cpu.Stop());
                coldDashOps.Add(PerCall(start, counts.Snapshot(), 1));
            }
            await using (var provider = Provider())
            {
                var service = provider.GetRequiredService<HistoryQueryService>();
                var watch = Stopwatch.StartNew();
                await Task.WhenAll(Columns(service, dashFirst), Columns(service, dashRest));
                coldDashSplit.Add(watch.Elapsed.TotalMilliseconds);
            }
        }
        var dashAnswer = await history.QueryM4Async(principal, Entity, Project, dashboard, cancellationToken);
        var dashBytes = M4Wire.Encode(dashAnswer, dashColumns).Length;
        Console.WriteLine($"(c) dashboard: {dashAnswer.Series.Count} series x {dashAnswer.Series[0].Count} buckets from {dashAnswer.Series[0].Source}, {dashBytes / 1e6:N1} MB of columns ({string.Join(",", dashColumns)})");
        QueryBench.Report("(c) cold (new provider), one call incl. columns encode", coldDash);
        Console.WriteLine($"    first cold call {coldDash[0]:N1} ms: {coldDashOps[0]}; last: {coldDashOps[^1]}");
        Console.WriteLine($"    phases (Server-Timing) of each cold call: {string.Join(" | ", coldDashPhases)}");
        QueryBench.Report($"(c) cold (new provider), two concurrent calls ({dashSplit} + {dashMetrics - dashSplit} metrics) incl. columns encode", coldDashSplit);
        before = metrics.Snapshot();
        stagesBefore = Stages(history.Stats);
        QueryBench.Report("(c) warm", await RepeatAsync(iterations, () => history.QueryM4Async(principal, Entity, Project, dashboard, cancellationToken)));
        Console.WriteLine($"    storage operations per call: {PerCall(before, metrics.Snapshot(), iterations)}");
        Console.WriteLine($"    stages per call: {StagesPerCall(stagesBefore, Stages(history.Stats), iterations)}");
        QueryBench.Report("(c) warm incl. columns encode", await RepeatAsync(iterations, () => Columns(history, dashboard)));
        QueryBench.Report("(c) warm, two concurrent calls incl. columns encode", await RepeatAsync(iterations, () => Task.WhenAll(Columns(history, dashFirst), Columns(history, dashRest))));

        var exports = warmProvider.GetRequiredService<ExportService>();
        foreach (var (run, rows) in options.Long("export", 1) == 0 ? [] : new[] { (chartIds[0], chartSteps), (longRun, steps) })
        {
            foreach (var format in new[] { ExportFormat.Csv, ExportFormat.JsonLines, ExportFormat.Parquet })
            {
                var export = await exports.ExportHistoryAsync(principal, new RunKey(Entity, Project, run), format, null, null, null, cancellationToken);
                var counting = new CountingStream();
                var watch = Stopwatch.StartNew();
                await export.WriteAsync(counting, cancellationToken);
                var seconds = watch.Elapsed.TotalSeconds;
                Console.WriteLine($"(4) export {run} ({rows:N0} rows) as {format}: {seconds:N2} s = {rows / seconds:N0} rows/s, {counting.Length / 1e6:N1} MB");
            }
        }
        return 0;
    }

    private static async Task SeedAsync(FileStreamIngestor ingestor, HistoryStore history, RunKey run, long steps, int metrics, int batch, CancellationToken cancellationToken)
    {
        for (long offset = 0; offset < steps; offset += batch)
        {
            var count = (int)Math.Min(batch, steps - offset);
            await ingestor.ApplyAsync(run, FileStreamRequest.Parse(Body(offset, count, metrics)), cancellationToken);
        }
        // The run completes (file_stream's complete): its pending rollup pages are written.
        await history.FlushRollupsAsync(run, cancellationToken);
    }

    private static byte[] Body(long offset, int count, int metrics)
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
                builder.Append("\"m").Append(m).Append("\": ").Append(value.ToString("R", CultureInfo.InvariantCulture)).Append(", ");
            }
            builder.Append("\"_step\": ").Append(step).Append(", \"_runtime\": ").Append((step * 0.05).ToString("R", CultureInfo.InvariantCulture)).Append('}');
            lines.Add(builder.ToString());
        }
        return JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object>
        {
            ["files"] = new Dictionary<string, object> { [FileStreamRequest.HistoryFile] = new { offset, content = lines } },
        });
    }

    private static async Task<List<double>> RepeatAsync<T>(int iterations, Func<Task<T>> call)
    {
        var samples = new List<double>(iterations);
        for (var i = 0; i < iterations; i++)
        {
            var watch = Stopwatch.StartNew();
            await call();
            samples.Add(watch.Elapsed.TotalMilliseconds);
        }
        return samples;
    }

    private static (TimeSpan Elapsed, long Calls, long Items)[] Stages(M4QueryStats stats) =>
        Enum.GetValues<M4Stage>().Select(stage => stats[stage]).ToArray();

    /// <summary>Per stage: summed time (concurrent reads overlap, so reads can sum past the wall time), calls and items.</summary>
    private static string StagesPerCall((TimeSpan Elapsed, long Calls, long Items)[] before, (TimeSpan Elapsed, long Calls, long Items)[] after, int calls) =>
        string.Join(", ", Enum.GetValues<M4Stage>().Select((stage, i) => string.Create(CultureInfo.InvariantCulture,
            $"{stage} {(after[i].Elapsed - before[i].Elapsed).TotalMilliseconds / calls:N1} ms x{(double)(after[i].Calls - before[i].Calls) / calls:N1} ({(double)(after[i].Items - before[i].Items) / calls:N0} items)")));

    private static string PerCall(IReadOnlyDictionary<string, long> before, IReadOnlyDictionary<string, long> after, int calls) =>
        string.Join(", ", after.Where(kv => kv.Value != before.GetValueOrDefault(kv.Key)).Select(kv => $"{kv.Key}={(kv.Value - before.GetValueOrDefault(kv.Key)) / (double)calls:N1}"));

    /// <summary>CPU this process and the storage process (when its id is known) spend from <see cref="Start"/> to <see cref="Stop"/>.</summary>
    private readonly record struct CpuMeter(int? StoragePid, TimeSpan Own, TimeSpan Storage)
    {
        public static CpuMeter Start(int? storagePid) => new(storagePid, Process.GetCurrentProcess().TotalProcessorTime, StorageCpu(storagePid));

        public string Stop()
        {
            var own = Process.GetCurrentProcess().TotalProcessorTime - Own;
            var storage = StoragePid is null ? "" : string.Create(CultureInfo.InvariantCulture, $", storage CPU {(StorageCpu(StoragePid) - Storage).TotalMilliseconds:N0} ms");
            return string.Create(CultureInfo.InvariantCulture, $" (bench CPU {own.TotalMilliseconds:N0} ms{storage})");
        }

        private static TimeSpan StorageCpu(int? pid)
        {
            if (pid is not { } id)
            {
                return TimeSpan.Zero;
            }
            using var process = Process.GetProcessById(id);
            return process.TotalProcessorTime;
        }
    }

    /// <summary>A sink that only counts bytes (exports are measured without disk or network).</summary>
    private sealed class CountingStream : Stream
    {
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => _length;
        public override long Position { get => _length; set => throw new NotSupportedException(); }

        private long _length;

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => _length += count;

        public override void Write(ReadOnlySpan<byte> buffer) => _length += buffer.Length;

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            _length += buffer.Length;
            return ValueTask.CompletedTask;
        }
    }
}
