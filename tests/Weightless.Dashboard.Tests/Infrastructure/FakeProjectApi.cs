using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Playwright;

namespace Weightless.Dashboard.Tests.Infrastructure;

/// <summary>
/// Answers the project routes of the query REST API (functions/query/openapi.json on the query
/// branch: projects, runs/query, runs/{id}, PATCH, history/keys, runs/history/m4, logs, files,
/// system-metrics) inside the browser for one synthetic project, so the dashboard can be tested
/// at scale (10,000 runs, 1,000,000-step metrics) before that API is merged. Sign-in and static
/// assets still go to the real dev host. Every request is recorded for assertions.
/// </summary>
public sealed class FakeProjectApi
{
    public const int Steps = 1_000_000;
    public const int SpikeStep = 654_321;
    public static readonly string[] Optimizers = ["adam", "sgd", "adamw"];

    private readonly string _entity;
    private readonly string _project;
    private readonly JsonObject[] _runs;
    private readonly Dictionary<string, JsonObject> _byId;

    private readonly int _extraMetrics;

    /// <param name="extraMetrics">Additional metrics "perf/00".."perf/NN" (smooth curves) for panel-count timings.</param>
    public FakeProjectApi(string entity, string project, int runCount, int extraMetrics = 0)
    {
        _extraMetrics = extraMetrics;
        _entity = entity;
        _project = project;
        var created = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        _runs = Enumerable.Range(0, runCount).Select(i => new JsonObject
        {
            ["id"] = $"r{i:D5}",
            ["entity"] = entity,
            ["project"] = project,
            ["displayName"] = $"run-{i}",
            ["state"] = (i % 4) switch { 0 => "finished", 1 => "running", 2 => "failed", _ => "crashed" },
            ["createdAt"] = created.AddMinutes(i).ToString("O", CultureInfo.InvariantCulture),
            ["heartbeatAt"] = created.AddMinutes(i + 30).ToString("O", CultureInfo.InvariantCulture),
            ["user"] = i % 2 == 0 ? "alice" : "bob",
            ["tags"] = new JsonArray(i % 7 == 0 ? [JsonValue.Create("baseline")] : []),
            ["group"] = $"g{i % 5}",
            ["jobType"] = i % 2 == 0 ? "train" : "eval",
            ["host"] = "gpu-node-1",
            ["commit"] = "0123abc",
            ["runtime"] = 1800 + i,
            ["notes"] = "",
            ["lastStep"] = Steps - 1,
            ["config"] = new JsonObject
            {
                ["lr"] = 0.001 * (1 + (i % 10)),
                ["optimizer"] = Optimizers[i % 3],
                ["batch_size"] = 32 * (1 + (i % 4)),
            },
            ["summary"] = new JsonObject
            {
                ["train/loss"] = Math.Round(1.0 / (1 + (i % 97)), 6),
                ["val/acc"] = Math.Round(0.5 + (i % 50) / 100.0, 4),
            },
        }).ToArray();
        _byId = _runs.ToDictionary(r => (string)r["id"]!);
    }

    public ConcurrentQueue<(string Method, string Path, string? Body)> Requests { get; } = new();

    public IReadOnlyList<JsonObject> M4Requests => Requests.Where(r => r.Path.EndsWith("/runs/history/m4", StringComparison.Ordinal)).Select(r => JsonNode.Parse(r.Body!)!.AsObject()).ToList();

    public Task AttachAsync(IPage page) => page.RouteAsync("**/api/v1/entities/**", HandleAsync);

    private async Task HandleAsync(IRoute route)
    {
        var request = route.Request;
        var uri = new Uri(request.Url);
        var path = Uri.UnescapeDataString(uri.AbsolutePath);
        Requests.Enqueue((request.Method, path, request.PostData));
        var prefix = $"/api/v1/entities/{_entity}/projects";
        object? body;
        var status = 200;
        if (path == prefix && request.Method == "GET")
        {
            body = new JsonObject { ["projects"] = new JsonArray(new JsonObject { ["entity"] = _entity, ["name"] = _project, ["runCount"] = _runs.Length, ["lastRunCreatedAt"] = _runs[^1]["createdAt"]!.DeepClone() }) };
        }
        else if (!path.StartsWith($"{prefix}/{_project}/runs", StringComparison.Ordinal))
        {
            status = 404;
            body = new JsonObject { ["title"] = "Not found", ["status"] = 404 };
        }
        else
        {
            var rest = path[$"{prefix}/{_project}/runs".Length..].Trim('/').Split('/', StringSplitOptions.RemoveEmptyEntries);
            (status, body) = (request.Method, rest) switch
            {
                ("POST", ["query"]) => (200, QueryRuns(JsonNode.Parse(request.PostData ?? "{}")!.AsObject())),
                ("POST", ["history", "m4"]) => (200, M4(JsonNode.Parse(request.PostData!)!.AsObject())),
                ("GET", [var id]) when _byId.ContainsKey(id) => (200, _byId[id]),
                ("PATCH", [var id]) when _byId.ContainsKey(id) => (200, Patch(id, JsonNode.Parse(request.PostData!)!.AsObject())),
                ("GET", [_, "history", "keys"]) => (200, HistoryKeys(_extraMetrics)),
                ("GET", [_, "logs"]) => (200, Logs()),
                ("GET", [_, "files"]) => (200, Files()),
                ("GET", [_, "system-metrics"]) => (200, SystemMetrics()),
                _ => (404, new JsonObject { ["title"] = "Not found", ["status"] = 404 }),
            };
        }
        await route.FulfillAsync(new RouteFulfillOptions
        {
            Status = status,
            ContentType = status == 200 ? "application/json" : "application/problem+json",
            Body = body is JsonNode node ? node.ToJsonString() : JsonSerializer.Serialize(body),
        });
    }

    private JsonObject QueryRuns(JsonObject query)
    {
        var limit = query["limit"]?.GetValue<int>() ?? 50;
        var offset = query["cursor"] is { } cursor ? int.Parse(cursor.GetValue<string>(), CultureInfo.InvariantCulture) : 0;
        var page = new JsonArray(_runs.Skip(offset).Take(limit).Select(r => (JsonNode)r.DeepClone()).ToArray());
        var result = new JsonObject { ["runs"] = page, ["total"] = _runs.Length };
        if (offset + limit < _runs.Length)
        {
            result["nextCursor"] = (offset + limit).ToString(CultureInfo.InvariantCulture);
        }
        return result;
    }

    private JsonObject Patch(string id, JsonObject patch)
    {
        var run = _byId[id];
        foreach (var (key, value) in patch)
        {
            if (key is "tags" or "notes" or "displayName")
            {
                run[key] = value?.DeepClone();
            }
        }
        return run;
    }

    private static JsonObject HistoryKeys(int extraMetrics) => new()
    {
        ["keys"] = new JsonArray(
            [Key("_step"), Key("_runtime"), Key("train/loss"), Key("val/acc"), Key("spike"),
             .. Enumerable.Range(0, extraMetrics).Select(i => (JsonNode)Key($"perf/{i:D2}"))]),
        ["lastStep"] = Steps - 1,
    };

    private static JsonObject Key(string key) => new() { ["key"] = key, ["types"] = new JsonObject { ["number"] = Steps } };

    /// <summary>
    /// Exact M4 buckets of synthetic series over integer steps [0, 1,000,000): 'spike' is 1
    /// everywhere except 100 at one step; 'train/loss' decays; 'val/acc' rises. Buckets split
    /// [min, max] evenly, as the REST contract describes.
    /// </summary>
    private static JsonObject M4(JsonObject request)
    {
        var runs = request["runs"]!.AsArray().Select(r => r!.GetValue<string>()).ToList();
        var metrics = request["metrics"]!.AsArray().Select(m => m!.GetValue<string>()).ToList();
        var count = request["buckets"]?.GetValue<int>() ?? 1000;
        var lo = Math.Max(0, request["min"]?.GetValue<double>() ?? 0);
        var hi = Math.Min(Steps - 1, request["max"]?.GetValue<double>() ?? Steps - 1);
        var series = new JsonArray();
        foreach (var run in runs)
        {
            var offset = int.Parse(run.AsSpan(1), CultureInfo.InvariantCulture) % 10 / 100.0;
            foreach (var metric in metrics)
            {
                Func<long, double> f = metric switch
                {
                    "spike" => step => step == SpikeStep ? 100 : 1,
                    "train/loss" => step => Math.Exp(-step / 200_000.0) + offset + 0.02 * Math.Sin(step / 997.0),
                    _ => step => 1 - Math.Exp(-step / 300_000.0) - offset,
                };
                series.Add(new JsonObject { ["run"] = run, ["metric"] = metric, ["buckets"] = Buckets(f, lo, hi, count), ["source"] = "raw" });
            }
        }
        return new JsonObject { ["xAxis"] = request["xAxis"]?.GetValue<string>() ?? "_step", ["buckets"] = count, ["series"] = series };
    }

    private static JsonArray Buckets(Func<long, double> f, double lo, double hi, int count)
    {
        var buckets = new JsonArray();
        var first = (long)Math.Ceiling(lo);
        var last = (long)Math.Floor(hi);
        var total = last - first + 1;
        if (total <= 0)
        {
            return buckets;
        }
        var n = (int)Math.Min(count, total);
        var width = (hi - lo) / n;
        for (var b = 0; b < n; b++)
        {
            var start = lo + b * width;
            var end = b == n - 1 ? hi + 1e-9 : lo + (b + 1) * width;
            var s0 = (long)Math.Ceiling(start);
            var s1 = (long)Math.Ceiling(end) - 1;
            if (s1 < s0)
            {
                continue;
            }
            // Sample densely for the smooth series; the spike is found exactly.
            long minX = s0, maxX = s0;
            double min = f(s0), max = min;
            var stride = Math.Max(1, (s1 - s0) / 64);
            for (var s = s0; s <= s1; s += stride)
            {
                Consider(s);
            }
            if (SpikeStep >= s0 && SpikeStep <= s1)
            {
                Consider(SpikeStep);
            }
            Consider(s1);
            buckets.Add(new JsonObject
            {
                ["start"] = start,
                ["end"] = end,
                ["count"] = s1 - s0 + 1,
                ["nonFinite"] = 0,
                ["first"] = Point(s0, f(s0)),
                ["last"] = Point(s1, f(s1)),
                ["min"] = Point(minX, min),
                ["max"] = Point(maxX, max),
            });

            void Consider(long s)
            {
                var v = f(s);
                if (v < min)
                {
                    (min, minX) = (v, s);
                }
                if (v > max)
                {
                    (max, maxX) = (v, s);
                }
            }
        }
        return buckets;
    }

    private static JsonObject Point(long x, double y) => new() { ["x"] = x, ["y"] = y };

    private static JsonObject Logs() => new()
    {
        ["lines"] = new JsonArray(
            Line(0, "stdout", "Epoch 1/3"),
            Line(1, "stdout", "\u001b[32mloss improved\u001b[0m to 0.42"),
            Line(2, "stderr", "\u001b[31mWARNING\u001b[0m: gradient overflow"),
            Line(3, "stdout", "done")),
        ["lineCount"] = 4,
    };

    private static JsonObject Line(int index, string stream, string text) => new() { ["index"] = index, ["stream"] = stream, ["text"] = text };

    private static JsonObject Files() => new()
    {
        ["files"] = new JsonArray(new JsonObject { ["name"] = "config.yaml", ["sizeBytes"] = 120, ["url"] = "http://127.0.0.1:9/files/config.yaml" }),
    };

    private static JsonObject SystemMetrics()
    {
        var rows = new JsonArray();
        for (var i = 0; i < 200; i++)
        {
            rows.Add(new JsonObject { ["_runtime"] = i * 2.0, ["system/cpu"] = 40 + 10 * Math.Sin(i / 10.0), ["system/memory"] = 55 + i * 0.05 });
        }
        return new JsonObject { ["keys"] = new JsonArray("_runtime", "system/cpu", "system/memory"), ["rows"] = rows };
    }
}
