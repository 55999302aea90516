using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Weightless.Core.Runs;
using Weightless.Core.Storage;
using Weightless.Integration.Tests.Runs;

namespace Weightless.Integration.Tests.Query;

/// <summary>
/// The <c>wandb.Api()</c> flows of Python 0.16.6 with the documents it sends (the recorded trace and
/// <c>wandb/apis/public.py</c>), checked for content against what was logged, not only for shape.
/// </summary>
public sealed class PythonPublicApiFlowTests(WandbTestHost host) : IClassFixture<WandbTestHost>
{
    /// <summary>The Python 0.16.6 client's <c>RunFragment</c>, verbatim (every run query it sends includes it).</summary>
    internal const string RunFragment = """
        fragment RunFragment on Run {
          id
          tags
          name
          displayName
          sweepName
          state
          config
          group
          jobType
          commit
          readOnly
          createdAt
          heartbeatAt
          description
          notes
          systemMetrics
          summaryMetrics
          historyLineCount
          user {
            name
            username
          }
          historyKeys
        }
        """;

    private const string Run = """
        query Run($project: String!, $entity: String!, $name: String!) {
          project(name: $project, entityName: $entity) {
            run(name: $name) {
              ...RunFragment
            }
          }
        }

        """ + RunFragment;

    private const string RunSampledHistory = """
        query RunSampledHistory($project: String!, $entity: String!, $name: String!, $specs: [JSONString!]!) {
          project(name: $project, entityName: $entity) {
            run(name: $name) {
              sampledHistory(specs: $specs)
            }
          }
        }
        """;

    private const string HistoryPage = """
        query HistoryPage($entity: String!, $project: String!, $run: String!, $minStep: Int64!, $maxStep: Int64!, $pageSize: Int!) {
          project(name: $project, entityName: $entity) {
            run(name: $run) {
              history(minStep: $minStep, maxStep: $maxStep, samples: $pageSize)
            }
          }
        }
        """;

    private const string RunEvents = """
        query RunEvents($project: String!, $entity: String!, $name: String!, $samples: Int) {
          project(name: $project, entityName: $entity) {
            run(name: $name) { events(samples: $samples) }
          }
        }
        """;

    private const string RunFullHistory = """
        query RunFullHistory($project: String!, $entity: String!, $name: String!, $samples: Int) {
          project(name: $project, entityName: $entity) {
            run(name: $name) {
              history(samples: $samples)
              parquetHistory(liveKeys: ["_step"]) { parquetUrls liveData }
            }
          }
        }
        """;

    private const string Projects = """
        query Projects($entity: String, $cursor: String, $perPage: Int = 50) {
            models(entityName: $entity, after: $cursor, first: $perPage) {
                edges {
                    node {
                        ...ProjectFragment
                    }
                    cursor
                }
                pageInfo {
                    endCursor
                    hasNextPage
                }
            }
        }
        fragment ProjectFragment on Project {
            id
            name
            entityName
            createdAt
            isBenchmark
        }
        """;

    /// <summary><c>Run.update()</c>: config and metadata by storage id.</summary>
    private const string RunUpdate = """
        mutation UpsertBucket($id: String!, $description: String, $display_name: String, $notes: String, $tags: [String!], $config: JSONString!, $groupName: String) {
            upsertBucket(input: {id: $id, description: $description, displayName: $display_name, notes: $notes, tags: $tags, config: $config, groupName: $groupName}) {
                bucket {
                    ...RunFragment
                }
            }
        }
        """ + RunFragment;

    /// <summary><c>run.summary.update()</c> (HTTPSummary): the whole summary by storage id.</summary>
    private const string SummaryUpdate = """
        mutation UpsertBucket( $id: String, $summaryMetrics: JSONString) {
            upsertBucket(input: { id: $id, summaryMetrics: $summaryMetrics}) {
                bucket { id }
            }
        }
        """;

    private const string RunFiles = """
        query RunFiles($project: String!, $entity: String!, $name: String!, $fileCursor: String, $fileLimit: Int = 50, $fileNames: [String] = [], $upload: Boolean = false) {
          project(name: $project, entityName: $entity) {
            run(name: $name) {
              fileCount
              ...RunFilesFragment
            }
          }
        }

        fragment RunFilesFragment on Run {
          files(names: $fileNames, after: $fileCursor, first: $fileLimit) {
            edges {
              node {
                id
                name
                url(upload: $upload)
                directUrl
                sizeBytes
                mimetype
                updatedAt
                md5
              }
              cursor
            }
            pageInfo {
              endCursor
              hasNextPage
            }
          }
        }
        """;

    private const int Steps = 250;

    private async Task<(string User, string Key, string Id, List<string> Lines)> LogRunAsync(string project, string name)
    {
        var (user, key) = await host.NewUserAsync();
        var config = """{"learning_rate": {"desc": null, "value": 0.01}, "model": {"desc": null, "value": {"layers": 3}}}""";
        var created = await host.DataAsync(key, WandbDocuments.UpsertBucket, new { entity = user, project, name, config, tags = new[] { "baseline" } });
        var lines = Enumerable.Range(0, Steps).Select(i =>
            $"{{\"loss\": {(1.0 / (i + 1)).ToString("R", CultureInfo.InvariantCulture)}, \"nested\": {{\"lr\": {i}}}, \"_step\": {i}, \"_runtime\": {i * 0.5}}}").ToList();
        var events = Enumerable.Range(0, 7).Select(i => $"{{\"system.cpu\": {i}, \"_runtime\": {i * 10}}}").ToList();
        var (status, _) = await host.FileStreamAsync(key, user, project, name, new
        {
            files = new Dictionary<string, object>
            {
                ["wandb-history.jsonl"] = new { offset = 0, content = lines },
                ["wandb-events.jsonl"] = new { offset = 0, content = events },
                ["wandb-summary.json"] = new { offset = 0, content = new[] { "{\"loss\": 0.004, \"_step\": 249}" } },
            },
        });
        Assert.Equal(200, status);
        return (user, key, created["upsertBucket"]!["bucket"]!["id"]!.GetValue<string>(), lines);
    }

    [Fact]
    public async Task Run_sampled_history_history_pages_events_and_keys_answer_what_was_logged()
    {
        var (user, key, id, lines) = await LogRunAsync("flows", "r1");

        var run = (await host.DataAsync(key, Run, new { project = "flows", entity = user, name = "r1" }))["project"]!["run"]!;
        Assert.Equal(id, run["id"]!.GetValue<string>());
        Assert.Equal("r1", run["name"]!.GetValue<string>());
        Assert.Equal(0.01, JsonNode.Parse(run["config"]!.GetValue<string>())!["learning_rate"]!["value"]!.GetValue<double>());
        Assert.Equal(0.004, JsonNode.Parse(run["summaryMetrics"]!.GetValue<string>())!["loss"]!.GetValue<double>());
        Assert.Equal(Steps, run["historyLineCount"]!.GetValue<int>());
        Assert.Equal(Steps - 1, run["historyKeys"]!["lastStep"]!.GetValue<long>());
        Assert.Equal(Steps, run["historyKeys"]!["keys"]!["loss"]!["typeCounts"]![0]!["count"]!.GetValue<long>());
        Assert.Equal(["baseline"], run["tags"]!.AsArray().Select(t => t!.GetValue<string>()));
        Assert.Equal(user, run["user"]!["username"]!.GetValue<string>());

        // run.history(keys=["loss"]) → sampledHistory: every row (250 ≤ 500 samples), values as logged.
        var sampled = (await host.DataAsync(key, RunSampledHistory, new { project = "flows", entity = user, name = "r1", specs = new[] { "{\"keys\": [\"_step\", \"loss\"], \"samples\": 500}" } }))["project"]!["run"]!["sampledHistory"]![0]!.AsArray();
        Assert.Equal(Steps, sampled.Count);
        for (var i = 0; i < Steps; i++)
        {
            Assert.Equal(i, sampled[i]!["_step"]!.GetValue<long>());
            Assert.Equal(1.0 / (i + 1), sampled[i]!["loss"]!.GetValue<double>());
        }
        // samples=50 → 50 evenly spread rows, first and last included.
        var fifty = (await host.DataAsync(key, RunSampledHistory, new { project = "flows", entity = user, name = "r1", specs = new[] { "{\"keys\": [\"loss\"], \"samples\": 50}" } }))["project"]!["run"]!["sampledHistory"]![0]!.AsArray();
        Assert.Equal(50, fifty.Count);

        // run.scan_history(page_size=100): HistoryPage over [minStep, maxStep) pages, lines verbatim and in order.
        var scanned = new List<string>();
        for (long minStep = 0; minStep <= Steps - 1; minStep += 100)
        {
            var page = (await host.DataAsync(key, HistoryPage, new { entity = user, project = "flows", run = "r1", minStep, maxStep = Math.Min(minStep + 100, Steps), pageSize = 100 }))["project"]!["run"]!["history"]!.AsArray();
            scanned.AddRange(page.Select(l => l!.GetValue<string>()));
        }
        Assert.Equal(lines, scanned);

        // run.history(samples=N, pandas=False) without keys, and parquetHistory's empty answer (clients fall back).
        var full = (await host.DataAsync(key, RunFullHistory, new { project = "flows", entity = user, name = "r1", samples = 1000 }))["project"]!["run"]!;
        Assert.Equal(lines, full["history"]!.AsArray().Select(l => l!.GetValue<string>()));
        Assert.Empty(full["parquetHistory"]!["parquetUrls"]!.AsArray());
        Assert.Empty(full["parquetHistory"]!["liveData"]!.AsArray());

        // run.history(stream="events") → events(samples).
        var events = (await host.DataAsync(key, RunEvents, new { project = "flows", entity = user, name = "r1", samples = 500 }))["project"]!["run"]!["events"]!.AsArray();
        Assert.Equal(Enumerable.Range(0, 7).Select(i => (double)i), events.Select(e => JsonNode.Parse(e!.GetValue<string>())!["system.cpu"]!.GetValue<double>()));
    }

    [Fact]
    public async Task Run_files_hand_out_download_urls_that_serve_the_stored_bytes()
    {
        var (user, key, _, _) = await LogRunAsync("files", "r1");
        var storage = host.Services.GetRequiredService<StorageAccount>();
        var files = await storage.ContainerAsync(RunFileService.FilesContainer);
        var runKey = new RunKey(user, "files", "r1");
        await files.UploadAsync(runKey.BlobPrefix + "config.yaml", BinaryData.FromString("lr: 0.01\n"), "text/yaml");
        await files.UploadAsync(runKey.BlobPrefix + "media/images/a.png", BinaryData.FromBytes([137, 80, 78, 71]), "image/png");

        var names = new List<string>();
        string? cursor = null;
        using var download = new HttpClient();
        for (var pages = 0; pages < 10; pages++)
        {
            var run = (await host.DataAsync(key, RunFiles, new { project = "files", entity = user, name = "r1", fileNames = Array.Empty<string>(), upload = false, fileLimit = 1, fileCursor = cursor }))["project"]!["run"]!;
            Assert.Equal(2, run["fileCount"]!.GetValue<int>());
            var edges = run["files"]!["edges"]!.AsArray();
            foreach (var edge in edges)
            {
                var node = edge!["node"]!;
                var name = node["name"]!.GetValue<string>();
                names.Add(name);
                var bytes = await download.GetByteArrayAsync(node["url"]!.GetValue<string>());
                Assert.Equal(node["sizeBytes"]!.GetValue<long>(), bytes.Length);
                Assert.Equal(name == "config.yaml" ? "lr: 0.01\n"u8.ToArray() : [137, 80, 78, 71], bytes);
                Assert.Equal(bytes, await download.GetByteArrayAsync(node["directUrl"]!.GetValue<string>()));
            }
            if (!run["files"]!["pageInfo"]!["hasNextPage"]!.GetValue<bool>())
            {
                break;
            }
            cursor = edges[^1]!["cursor"]!.GetValue<string>();
        }
        Assert.Equal(["config.yaml", "media/images/a.png"], names);
    }

    [Fact]
    public async Task Projects_page_by_cursor_and_run_update_writes_config_metadata_and_summary_by_id()
    {
        var (user, key, id, _) = await LogRunAsync("alpha", "r1");
        await host.DataAsync(key, WandbDocuments.UpsertBucket, new { entity = user, project = "beta", name = "r2" });

        // api.projects(entity, per_page=1)
        var listed = new List<JsonNode>();
        string? cursor = null;
        for (var pages = 0; pages < 5; pages++)
        {
            var models = (await host.DataAsync(key, Projects, new { entity = user, perPage = 1, cursor }))["models"]!;
            listed.AddRange(models["edges"]!.AsArray().Select(e => e!["node"]!));
            if (!models["pageInfo"]!["hasNextPage"]!.GetValue<bool>())
            {
                break;
            }
            cursor = models["pageInfo"]!["endCursor"]!.GetValue<string>();
        }
        Assert.Equal(["alpha", "beta"], listed.Select(p => p["name"]!.GetValue<string>()));
        Assert.All(listed, p => Assert.Equal(user, p["entityName"]!.GetValue<string>()));
        Assert.All(listed, p => Assert.False(p["isBenchmark"]!.GetValue<bool>()));
        Assert.All(listed, p => Assert.NotNull(p["createdAt"]));
        var (_, strangerKey) = await host.NewUserAsync();
        var (_, foreign) = await host.GraphQLAsync(strangerKey, Projects, new { entity = user });
        Assert.NotNull(foreign["errors"]);

        // run.config["lr"] = 0.02; run.tags.append("best"); run.update(); run.summary["best"] = 1 (HTTPSummary update).
        var updated = (await host.DataAsync(key, RunUpdate, new
        {
            id,
            description = "tuned",
            display_name = "best run",
            notes = "see report",
            tags = new[] { "baseline", "best" },
            config = """{"learning_rate": {"value": 0.02}, "model": {"value": {"layers": 3}}}""",
            groupName = "final",
        }))["upsertBucket"]!["bucket"]!;
        Assert.Equal("best run", updated["displayName"]!.GetValue<string>());
        await host.DataAsync(key, SummaryUpdate, new { id, summaryMetrics = "{\"loss\": 0.004, \"_step\": 249, \"best\": 1}" });

        var run = (await host.DataAsync(key, Run, new { project = "alpha", entity = user, name = "r1" }))["project"]!["run"]!;
        Assert.Equal(0.02, JsonNode.Parse(run["config"]!.GetValue<string>())!["learning_rate"]!["value"]!.GetValue<double>());
        Assert.Equal(["baseline", "best"], run["tags"]!.AsArray().Select(t => t!.GetValue<string>()));
        Assert.Equal("tuned", run["description"]!.GetValue<string>());
        Assert.Equal("see report", run["notes"]!.GetValue<string>());
        Assert.Equal("final", run["group"]!.GetValue<string>());
        Assert.Equal(1, JsonNode.Parse(run["summaryMetrics"]!.GetValue<string>())!["best"]!.GetValue<int>());

        // The edits are visible to filtered listings at once (change log → run index).
        var filtered = (await host.DataAsync(key, WandbRunsQueryTests.PythonRuns, new
        {
            project = "alpha",
            entity = user,
            filters = JsonSerializer.Serialize(new Dictionary<string, object> { ["summary_metrics.best"] = 1, ["config.learning_rate.value"] = 0.02, ["tags"] = "best", ["group"] = "final" }),
            order = "-created_at",
            perPage = 50,
            cursor = (string?)null,
        }))["project"]!;
        Assert.Equal(1, filtered["runCount"]!.GetValue<int>());

        // run.delete() → deleteRun: gone from run(), runs and runCount.
        await host.DataAsync(key, "mutation DeleteRun($id: ID!, $deleteArtifacts: Boolean = false) { deleteRun(input: {id: $id, deleteArtifacts: $deleteArtifacts}) { clientMutationId } }", new { id });
        Assert.Null((await host.DataAsync(key, Run, new { project = "alpha", entity = user, name = "r1" }))["project"]!["run"]);
        var after = (await host.DataAsync(key, WandbRunsQueryTests.PythonRuns, new { project = "alpha", entity = user, filters = "{}", order = "-created_at", perPage = 50, cursor = (string?)null }))["project"]!;
        Assert.Equal(0, after["runCount"]!.GetValue<int>());
        Assert.Empty(after["runs"]!["edges"]!.AsArray());
    }
}
