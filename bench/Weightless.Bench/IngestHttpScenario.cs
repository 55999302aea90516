using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Weightless.Bench;

/// <summary>
/// Ingest scenario (2): <c>--runs</c> runs of one project post file_stream concurrently at
/// <c>--rate</c> posts/s each (each post <c>--lines</c> history lines) for <c>--seconds</c>, over HTTP
/// to a running dev host (<c>./run.sh</c>: real Kestrel port, Azurite), the way the clients do.
/// <c>--rate 0</c> posts back to back (closed loop) to find the capacity. Prints sustained posts/s,
/// p50/p90/p99/max latency and failures, the dev host's storage operations per post (from the
/// health endpoint's counters), and with <c>--host-pid</c> / <c>--azurite-pid</c> the dev host's and
/// Azurite's CPU per post.
/// Options: --url (http://127.0.0.1:7071), --key (or WEIGHTLESS_BENCH_KEY), --runs (100), --rate (2),
/// --seconds (30), --lines (10), --project, --host-pid, --azurite-pid.
/// </summary>
internal sealed class IngestHttpScenario : IBenchScenario
{
    public string Name => "ingest-http";

    public string Description => "N runs posting file_stream concurrently to a dev host over HTTP (--url, --key, --runs, --rate, --seconds, --lines, --host-pid, --azurite-pid)";

    private const string UpsertBucket = """
        mutation UpsertBucket($name: String, $project: String) {
          upsertBucket(input: {name: $name, modelName: $project}) { bucket { id name project { name entity { name } } } inserted }
        }
        """;

    public async Task<int> RunAsync(BenchOptions options, CancellationToken cancellationToken)
    {
        var url = (options.String("url") ?? "http://127.0.0.1:7071").TrimEnd('/');
        var key = options.String("key") ?? Environment.GetEnvironmentVariable("WEIGHTLESS_BENCH_KEY")
            ?? throw new ArgumentException("--key (or WEIGHTLESS_BENCH_KEY): an API key of the dev host, e.g. the admin key ./run.sh prints.");
        var runs = (int)options.Long("runs", 100);
        var rate = options.Long("rate", 2);
        var seconds = options.Long("seconds", 30);
        var lines = (int)options.Long("lines", 10);
        var project = options.String("project") ?? "bench-http-" + Guid.NewGuid().ToString("N")[..6];
        var hostPid = options.String("host-pid") is { } pid ? int.Parse(pid, CultureInfo.InvariantCulture) : (int?)null;
        var azuritePid = options.String("azurite-pid") is { } apid ? int.Parse(apid, CultureInfo.InvariantCulture) : (int?)null;

        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = runs, PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
        {
            BaseAddress = new Uri(url),
            Timeout = TimeSpan.FromSeconds(60),
        };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("api:" + key)));

        // Create the runs the way clients do: upsertBucket by name, then stream under the answered entity.
        var entity = "";
        var names = Enumerable.Range(0, runs).Select(i => $"r{i:D4}").ToArray();
        foreach (var name in names)
        {
            using var response = await http.PostAsJsonAsync("/graphql", new { query = UpsertBucket, variables = new { name, project } }, cancellationToken);
            var body = await response.Content.ReadFromJsonAsync<JsonObject>(cancellationToken);
            entity = body?["data"]?["upsertBucket"]?["bucket"]?["project"]?["entity"]?["name"]?.GetValue<string>()
                ?? throw new InvalidOperationException($"upsertBucket failed: HTTP {(int)response.StatusCode} {body?.ToJsonString()}");
        }
        Console.WriteLine($"url={url} project={entity}/{project} runs={runs} rate={(rate == 0 ? "closed loop" : rate + "/s per run")} seconds={seconds} lines/post={lines}");

        // One warm-up post per run outside the measurement (JIT, connections, table creation).
        var offsets = new long[runs];
        await Task.WhenAll(names.Select(async (name, i) =>
        {
            await PostAsync(http, entity, project, name, offsets[i], lines, cancellationToken);
            offsets[i] += lines;
        }));

        var latencies = new List<double>[runs];
        var failures = 0;
        var hostCpuBefore = ProcessCpu(hostPid);
        var azuriteCpuBefore = ProcessCpu(azuritePid);
        var operationsBefore = await StorageOperationsAsync(http, cancellationToken);
        var wall = Stopwatch.StartNew();
        var end = TimeSpan.FromSeconds(seconds);
        await Task.WhenAll(names.Select((name, i) => Task.Run(async () =>
        {
            var mine = latencies[i] = new List<double>((int)(Math.Max(rate, 1) * seconds * 2));
            // Spread the runs' first posts over one interval, as independent clients would be.
            var interval = rate == 0 ? TimeSpan.Zero : TimeSpan.FromSeconds(1.0 / rate);
            var next = interval * ((double)i / runs);
            while (true)
            {
                if (next > wall.Elapsed)
                {
                    await Task.Delay(next - wall.Elapsed, cancellationToken);
                }
                if (wall.Elapsed >= end)
                {
                    return;
                }
                var started = Stopwatch.GetTimestamp();
                var ok = await PostAsync(http, entity, project, name, offsets[i], lines, cancellationToken);
                mine.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                if (ok)
                {
                    offsets[i] += lines;
                }
                else
                {
                    Interlocked.Increment(ref failures);
                }
                next += interval;
            }
        }, cancellationToken)));
        var elapsed = wall.Elapsed.TotalSeconds;
        var hostCpu = ProcessCpu(hostPid) - hostCpuBefore;
        var azuriteCpu = ProcessCpu(azuritePid) - azuriteCpuBefore;
        var operationsAfter = await StorageOperationsAsync(http, cancellationToken);

        var all = latencies.SelectMany(l => l).Order().ToArray();
        var posts = all.Length;
        Console.WriteLine($"(2) file_stream over HTTP: {posts:N0} posts ({posts * lines:N0} rows) in {elapsed:N1} s = {posts / elapsed:N0} posts/s sustained ({posts * lines / elapsed:N0} rows/s); failures {failures}");
        Console.WriteLine($"    latency ms: p50 {Percentile(all, 0.50):N1}  p90 {Percentile(all, 0.90):N1}  p99 {Percentile(all, 0.99):N1}  max {(all.Length == 0 ? 0 : all[^1]):N1}");
        if (hostPid is not null)
        {
            Console.WriteLine($"    dev host CPU {hostCpu.TotalSeconds:N1} s = {hostCpu.TotalMilliseconds / Math.Max(posts, 1):N2} ms/post ({hostCpu.TotalSeconds / elapsed:N2} cores)");
        }
        if (azuritePid is not null)
        {
            Console.WriteLine($"    Azurite CPU {azuriteCpu.TotalSeconds:N1} s = {azuriteCpu.TotalMilliseconds / Math.Max(posts, 1):N2} ms/post ({azuriteCpu.TotalSeconds / elapsed:N2} cores)");
        }
        var perPost = operationsAfter
            .Select(o => (o.Key, Count: o.Value - operationsBefore.GetValueOrDefault(o.Key)))
            .Where(o => o.Count > 0)
            .Select(o => $"{o.Key} {(double)o.Count / Math.Max(posts, 1):N2}")
            .ToList();
        var total = operationsAfter.Sum(o => o.Value - operationsBefore.GetValueOrDefault(o.Key));
        Console.WriteLine($"    storage operations per post: {(double)total / Math.Max(posts, 1):N2} ({string.Join(", ", perPost)})");
        return failures == 0 ? 0 : 1;
    }

    private static async Task<bool> PostAsync(HttpClient http, string entity, string project, string run, long offset, int lines, CancellationToken cancellationToken)
    {
        var content = new string[lines];
        for (var l = 0; l < lines; l++)
        {
            var step = offset + l;
            content[l] = string.Create(CultureInfo.InvariantCulture, $"{{\"loss\": {Math.Exp(-step / 1000.0):R}, \"acc\": {1 - Math.Exp(-step / 500.0):R}, \"lr\": 0.001, \"_step\": {step}, \"_runtime\": {step * 0.1:R}, \"_timestamp\": {1795888401.5 + step * 0.1:R}}}");
        }
        var body = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object>
        {
            ["files"] = new Dictionary<string, object> { ["wandb-history.jsonl"] = new { offset, content } },
        });
        try
        {
            using var response = await http.PostAsync($"/files/{entity}/{project}/{run}/file_stream", new ByteArrayContent(body) { Headers = { ContentType = new MediaTypeHeaderValue("application/json") } }, cancellationToken);
            await response.Content.ReadAsByteArrayAsync(cancellationToken);
            return response.IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }

    private static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];

    /// <summary>The dev host's storage operation counts (<c>service.operation.outcome</c>) from GET /api/v1/health.</summary>
    private static async Task<Dictionary<string, long>> StorageOperationsAsync(HttpClient http, CancellationToken cancellationToken)
    {
        var health = await http.GetFromJsonAsync<JsonObject>("/api/v1/health", cancellationToken);
        var result = new Dictionary<string, long>(StringComparer.Ordinal);
        if (health?["storageOperations"] is JsonObject operations)
        {
            foreach (var (name, value) in operations)
            {
                result[name] = value?.GetValue<long>() ?? 0;
            }
        }
        return result;
    }

    private static TimeSpan ProcessCpu(int? pid)
    {
        if (pid is null)
        {
            return TimeSpan.Zero;
        }
        using var process = Process.GetProcessById(pid.Value);
        return process.TotalProcessorTime;
    }
}
