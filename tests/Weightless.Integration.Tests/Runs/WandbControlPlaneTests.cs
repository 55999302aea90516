using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Weightless.Core.Runs;

namespace Weightless.Integration.Tests.Runs;

/// <summary>The W&amp;B control plane end to end through the dev host: GraphQL, run files, file_stream.</summary>
public sealed class WandbControlPlaneTests(WandbTestHost host) : IClassFixture<WandbTestHost>
{
    private const string WrappedConfig = "{\"lr\": {\"desc\": null, \"value\": 0.01}, \"model\": {\"desc\": null, \"value\": {\"layers\": 3}}, \"_wandb\": {\"desc\": null, \"value\": {\"cli_version\": \"0.16.6\", \"t\": {\"1\": [55]}}}}";

    [Fact]
    public async Task Viewer_answers_the_key_owner_for_js_and_python_documents()
    {
        var (user, key) = await host.NewUserAsync();
        var js = await host.DataAsync(key, WandbDocuments.JsViewer);
        Assert.Equal(user, js["viewer"]!["entity"]!.GetValue<string>());
        Assert.Equal("{}", js["viewer"]!["flags"]!.GetValue<string>());
        Assert.Empty(js["viewer"]!["teams"]!["edges"]!.AsArray());

        var python = await host.DataAsync(key, WandbDocuments.PythonViewer);
        Assert.Equal(user, python["viewer"]!["username"]!.GetValue<string>());
        Assert.Equal($"{user}@example.invalid", python["viewer"]!["email"]!.GetValue<string>());
        Assert.False(python["serverInfo"]!["latestLocalVersionInfo"]!["outOfDate"]!.GetValue<bool>());
        Assert.Equal(JsonValueKind.Object, python["serverInfo"]!["cliVersionInfo"]!.GetValueKind());
    }

    [Fact]
    public async Task Introspection_probes_return_the_types_python_asks_for()
    {
        var (_, key) = await host.NewUserAsync();
        var data = await host.DataAsync(key, WandbDocuments.ProbeServerCapabilities);
        var query = Names(data["QueryType"]!["fields"]!);
        var mutation = Names(data["MutationType"]!["fields"]!);
        var serverInfo = Names(data["ServerInfoType"]!["fields"]!);
        Assert.Contains("viewer", query);
        Assert.Contains("serverInfo", query);
        Assert.Contains("project", query);
        Assert.Contains("model", query);
        Assert.Contains("upsertBucket", mutation);
        Assert.Contains("createRunFiles", mutation);
        Assert.Contains("stopRun", mutation);
        Assert.Contains("cliVersionInfo", serverInfo);
        Assert.Contains("latestLocalVersionInfo", serverInfo);

        var settings = await host.DataAsync(key, WandbDocuments.ProbeServerSettings);
        Assert.Contains("serverMessages", Names(settings["ServerSettingsType"]!["fields"]!));

        var input = await host.DataAsync(key, "query { T: __type(name: \"UpsertBucketInput\") { inputFields { name } } }");
        var inputFields = Names(input["T"]!["inputFields"]!);
        foreach (var field in new[] { "id", "name", "modelName", "entityName", "config", "summaryMetrics", "tags", "jobProgram", "jobRepo", "sweep", "state" })
        {
            Assert.Contains(field, inputFields);
        }
        var features = await host.DataAsync(key, "query ServerFeaturesQuery { serverInfo { features { name isEnabled } } }");
        // Go core gzips file_stream posts only when FILESTREAM_GZIP is advertised and enabled; the Python
        // client's registry API refuses to run unless the two registry features are.
        var advertised = features["serverInfo"]!["features"]!.AsArray()
            .ToDictionary(f => f!["name"]!.GetValue<string>(), f => f!["isEnabled"]!.GetValue<bool>());
        Assert.Equal(["ARTIFACT_REGISTRY_SEARCH", "FILESTREAM_GZIP", "INCLUDE_ARTIFACT_TYPES_IN_REGISTRY_CREATION"], advertised.Keys.Order());
        Assert.All(advertised.Values, Assert.True);
    }

    [Fact]
    public async Task UpsertBucket_inserts_then_updates_and_defaults_to_the_viewer_entity()
    {
        var (user, key) = await host.NewUserAsync();
        var first = await host.DataAsync(key, WandbDocuments.UpsertBucket, new { id = (string?)null, entity = (string?)null, name = "run1", project = "proj", config = WrappedConfig, host = "hostname", program = "train.py", tags = new[] { "a", "b" } });
        var bucket = first["upsertBucket"]!["bucket"]!;
        Assert.True(first["upsertBucket"]!["inserted"]!.GetValue<bool>());
        Assert.Equal("run1", bucket["name"]!.GetValue<string>());
        Assert.Equal("run1", bucket["displayName"]!.GetValue<string>());
        Assert.Equal("proj", bucket["project"]!["name"]!.GetValue<string>());
        Assert.Equal(user, bucket["project"]!["entity"]!["name"]!.GetValue<string>());
        Assert.Equal(0, bucket["historyLineCount"]!.GetValue<int>());
        Assert.Empty(first["upsertBucket"]!["serverSettings"]!["serverMessages"]!.AsArray());
        var id = bucket["id"]!.GetValue<string>();
        Assert.Equal($"Run:v1:run1:proj:{user}", Encoding.UTF8.GetString(Convert.FromBase64String(id)));

        var second = await host.DataAsync(key, WandbDocuments.UpsertBucket, new { entity = user, name = "run1", project = "proj", displayName = "nice name", notes = "n" });
        Assert.False(second["upsertBucket"]!["inserted"]!.GetValue<bool>());
        Assert.Equal("nice name", second["upsertBucket"]!["bucket"]!["displayName"]!.GetValue<string>());
        Assert.Equal(WrappedConfig, second["upsertBucket"]!["bucket"]!["config"]!.GetValue<string>());

        // Public-API style update by storage id, then summary replace.
        await host.DataAsync(key, "mutation UpsertBucket($id: String!, $summaryMetrics: JSONString) { upsertBucket(input: {id: $id, summaryMetrics: $summaryMetrics}) { bucket { id } } }", new { id, summaryMetrics = "{\"best\": 0.99, \"loss\": NaN}" });
        var run = await host.DataAsync(key, WandbDocuments.Run, new { project = "proj", entity = user, name = "run1" });
        Assert.Equal("{\"best\": 0.99, \"loss\": NaN}", run["project"]!["run"]!["summaryMetrics"]!.GetValue<string>());
        Assert.Equal("running", run["project"]!["run"]!["state"]!.GetValue<string>());
        Assert.Equal(["a", "b"], run["project"]!["run"]!["tags"]!.AsArray().Select(t => t!.GetValue<string>()));
        Assert.Equal("n", run["project"]!["run"]!["notes"]!.GetValue<string>());
    }

    [Fact]
    public async Task Raw_config_from_js_is_stored_wrapped_and_wrapped_config_is_kept_verbatim()
    {
        var (user, key) = await host.NewUserAsync();
        var raw = "{\"learning_rate\":0.01,\"model\":{\"layers\":3,\"activation\":\"relu\"},\"tags\":[1,2]}";
        var js = await host.DataAsync(key, WandbDocuments.UpsertBucket, new { entity = user, name = "js1", project = "p", config = raw });
        var stored = JsonNode.Parse(js["upsertBucket"]!["bucket"]!["config"]!.GetValue<string>())!;
        Assert.Equal(0.01, stored["learning_rate"]!["value"]!.GetValue<double>());
        Assert.Null(stored["learning_rate"]!["desc"]);
        Assert.Equal("relu", stored["model"]!["value"]!["activation"]!.GetValue<string>());
        Assert.Equal(2, stored["tags"]!["value"]!.AsArray().Count);

        // Config sent as an object rather than a string is accepted too.
        var objectConfig = await host.DataAsync(key, WandbDocuments.UpsertBucket, new { entity = user, name = "js2", project = "p", config = new { a = 1 } });
        Assert.Equal(1, JsonNode.Parse(objectConfig["upsertBucket"]!["bucket"]!["config"]!.GetValue<string>())!["a"]!["value"]!.GetValue<int>());

        var python = await host.DataAsync(key, WandbDocuments.UpsertBucket, new { entity = (string?)null, name = "py1", project = "p", config = WrappedConfig });
        Assert.Equal(WrappedConfig, python["upsertBucket"]!["bucket"]!["config"]!.GetValue<string>());
    }

    [Fact]
    public async Task RunResumeStatus_answers_null_bucket_for_a_new_run_and_the_run_for_an_existing_one()
    {
        var (user, key) = await host.NewUserAsync();
        var fresh = await host.DataAsync(key, WandbDocuments.RunResumeStatus, new { project = "resume", entity = user, name = "r1" });
        Assert.Equal("resume", fresh["model"]!["name"]!.GetValue<string>());
        Assert.Null(fresh["model"]!["bucket"]);

        await host.DataAsync(key, WandbDocuments.UpsertBucket, new { entity = user, name = "r1", project = "resume", config = WrappedConfig });
        var (status, stream) = await host.FileStreamAsync(key, user, "resume", "r1", new
        {
            files = new Dictionary<string, object>
            {
                ["wandb-history.jsonl"] = new { offset = 0, content = new[] { "{\"loss\": 1.0, \"_step\": 0}", "{\"loss\": 0.5, \"_step\": 1}" } },
                ["wandb-summary.json"] = new { offset = 0, content = new[] { "{\"loss\": 0.5, \"_step\": 1}" } },
            },
        });
        Assert.Equal(200, status);
        Assert.False(stream!["stopped"]!.GetValue<bool>());

        var existing = await host.DataAsync(key, WandbDocuments.RunResumeStatus, new { project = "resume", entity = user, name = "r1" });
        var bucket = existing["model"]!["bucket"]!;
        Assert.Equal("r1", bucket["name"]!.GetValue<string>());
        Assert.Equal(2, bucket["historyLineCount"]!.GetValue<int>());
        Assert.Equal("{\"loss\": 0.5, \"_step\": 1}", bucket["summaryMetrics"]!.GetValue<string>());
        Assert.Equal(WrappedConfig, bucket["config"]!.GetValue<string>());
        Assert.Equal("{\"t\": {\"1\": [55]}}", bucket["wandbConfig"]!.GetValue<string>());
        Assert.Equal(JsonValueKind.String, bucket["historyTail"]!.GetValueKind());
    }

    [Fact]
    public async Task StopRun_makes_RunStoppedStatus_and_file_stream_report_stopped_and_the_run_ends_killed()
    {
        var (user, key) = await host.NewUserAsync();
        var created = await host.DataAsync(key, WandbDocuments.UpsertBucket, new { entity = user, name = "s1", project = "stops" });
        var before = await host.DataAsync(key, WandbDocuments.RunStoppedStatus, new { projectName = "stops", entityName = user, runId = "s1" });
        Assert.False(before["project"]!["run"]!["stopped"]!.GetValue<bool>());

        var stop = await host.DataAsync(key, WandbDocuments.StopRun, new { id = created["upsertBucket"]!["bucket"]!["id"]!.GetValue<string>() });
        Assert.True(stop["stopRun"]!["success"]!.GetValue<bool>());

        var after = await host.DataAsync(key, WandbDocuments.RunStoppedStatus, new { projectName = "stops", entityName = user, runId = "s1" });
        Assert.True(after["project"]!["run"]!["stopped"]!.GetValue<bool>());

        var (_, heartbeat) = await host.FileStreamAsync(key, user, "stops", "s1", new { });
        Assert.True(heartbeat!["stopped"]!.GetValue<bool>());
        await host.FileStreamAsync(key, user, "stops", "s1", new { complete = true, exitcode = 0 });
        var run = await host.DataAsync(key, WandbDocuments.Run, new { project = "stops", entity = user, name = "s1" });
        Assert.Equal("killed", run["project"]!["run"]!["state"]!.GetValue<string>());
    }

    [Fact]
    public async Task CreateRunFiles_hands_out_a_SAS_url_the_upload_lands_and_the_file_is_listed()
    {
        var (user, key) = await host.NewUserAsync();
        await host.DataAsync(key, WandbDocuments.UpsertBucket, new { entity = user, name = "f1", project = "files" });
        var created = await host.DataAsync(key, WandbDocuments.CreateRunFiles, new { entity = user, project = "files", run = "f1", files = new[] { "wandb-metadata.json", "media/table/t.table.json" } });
        var payload = created["createRunFiles"]!;
        Assert.False(string.IsNullOrEmpty(payload["runID"]!.GetValue<string>()));
        var headers = payload["uploadHeaders"]!.AsArray().Select(h => h!.GetValue<string>()).ToList();
        Assert.Equal(["x-ms-blob-type:BlockBlob"], headers);
        Assert.Equal(2, payload["files"]!.AsArray().Count);

        var content = "{\"os\": \"Linux\"}"u8.ToArray();
        foreach (var file in payload["files"]!.AsArray())
        {
            using var put = new HttpRequestMessage(HttpMethod.Put, file!["uploadUrl"]!.GetValue<string>()) { Content = new ByteArrayContent(content) };
            foreach (var header in headers)
            {
                var parts = header.Split(':', 2);
                put.Headers.TryAddWithoutValidation(parts[0], parts[1]);
            }
            using var storageClient = new HttpClient();
            var response = await storageClient.SendAsync(put);
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        }

        var listing = await host.DataAsync(key, WandbDocuments.RunFiles, new { project = "files", entity = user, name = "f1", fileNames = Array.Empty<string>(), upload = false, fileLimit = 50, fileCursor = (string?)null });
        var run = listing["project"]!["run"]!;
        Assert.Equal(2, run["fileCount"]!.GetValue<int>());
        var nodes = run["files"]!["edges"]!.AsArray().Select(e => e!["node"]!).ToList();
        Assert.Equal(["media/table/t.table.json", "wandb-metadata.json"], nodes.Select(n => n["name"]!.GetValue<string>()));
        Assert.All(nodes, n => Assert.Equal(content.Length, n["sizeBytes"]!.GetValue<long>()));
        Assert.All(nodes, n => Assert.Equal(Convert.ToBase64String(System.Security.Cryptography.MD5.HashData(content)), n["md5"]!.GetValue<string>()));
        Assert.False(run["files"]!["pageInfo"]!["hasNextPage"]!.GetValue<bool>());

        using var download = new HttpClient();
        Assert.Equal(content, await download.GetByteArrayAsync(nodes[1]["directUrl"]!.GetValue<string>()));

        var legacy = await host.DataAsync(key, WandbDocuments.RunUploadUrls, new { name = "files", entity = user, run = "f1", files = new[] { "requirements.txt" } });
        var legacyFiles = legacy["model"]!["bucket"]!["files"]!;
        Assert.Equal("x-ms-blob-type:BlockBlob", legacyFiles["uploadHeaders"]![0]!.GetValue<string>());
        Assert.Contains("sig=", legacyFiles["edges"]![0]!["node"]!["url"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task File_stream_appends_history_and_complete_finishes_the_run_with_the_summary_verbatim()
    {
        var (user, key) = await host.NewUserAsync();
        await host.DataAsync(key, WandbDocuments.UpsertBucket, new { entity = user, name = "h1", project = "hist" });
        var lines = Enumerable.Range(0, 130).Select(i => $"{{\"loss\": {1.0 / (i + 1)}, \"_step\": {i}}}").ToArray();
        var (status, first) = await host.FileStreamAsync(key, user, "hist", "h1", new
        {
            files = new Dictionary<string, object>
            {
                ["wandb-history.jsonl"] = new { offset = 0, content = lines },
                ["wandb-summary.json"] = new { offset = 0, content = new[] { "{\"loss\": NaN, \"inf\": Infinity, \"_step\": 129}" } },
                ["wandb-events.jsonl"] = new { offset = 0, content = new[] { "{\"system.cpu\": 1.0, \"_wandb\": true}" } },
                ["output.log"] = new { offset = 0, content = new[] { "hello\n", "ERROR oops\n" } },
            },
            dropped = 0,
        });
        Assert.Equal(200, status);
        Assert.Null(first!["exitcode"]);
        Assert.Equal(JsonValueKind.Object, first["limits"]!.GetValueKind());
        // The rows' rollup pages wait (History:RollupFlushLines, 4,096) until the run completes.
        var history = host.Services.GetRequiredService<Weightless.Core.History.HistoryStore>();
        var stored = new RunKey(user, "hist", "h1");
        Assert.Equal(0, (await history.GetM4ExtentAsync(stored)).RollupApplied);

        await host.FileStreamAsync(key, user, "hist", "h1", new { complete = false, failed = false, dropped = 0, uploaded = new[] { "wandb-metadata.json" } });
        await host.FileStreamAsync(key, user, "hist", "h1", new { complete = true, exitcode = 0, dropped = 0, uploaded = Array.Empty<string>() });
        Assert.Equal(130, (await history.GetM4ExtentAsync(stored)).RollupApplied);

        var run = (await host.DataAsync(key, WandbDocuments.Run, new { project = "hist", entity = user, name = "h1" }))["project"]!["run"]!;
        Assert.Equal("finished", run["state"]!.GetValue<string>());
        Assert.Equal(0, run["exitcode"]!.GetValue<int>());
        Assert.Equal(130, run["historyLineCount"]!.GetValue<int>());
        Assert.Equal(1, run["eventsLineCount"]!.GetValue<int>());
        Assert.Equal(2, run["logLineCount"]!.GetValue<int>());
        Assert.Equal("{\"loss\": NaN, \"inf\": Infinity, \"_step\": 129}", run["summaryMetrics"]!.GetValue<string>());

        await host.DataAsync(key, WandbDocuments.UpsertBucket, new { entity = user, name = "h2", project = "hist" });
        await host.FileStreamAsync(key, user, "hist", "h2", new { complete = true, exitcode = 3 });
        var failed = (await host.DataAsync(key, WandbDocuments.Run, new { project = "hist", entity = user, name = "h2" }))["project"]!["run"]!;
        Assert.Equal("failed", failed["state"]!.GetValue<string>());

        await host.DataAsync(key, WandbDocuments.UpsertBucket, new { entity = user, name = "h3", project = "hist" });
        await host.FileStreamAsync(key, user, "hist", "h3", new { complete = false, preempting = true });
        var preempting = (await host.DataAsync(key, WandbDocuments.Run, new { project = "hist", entity = user, name = "h3" }))["project"]!["run"]!;
        Assert.Equal("preempting", preempting["state"]!.GetValue<string>());
    }

    [Fact]
    public async Task History_reads_answer_what_file_stream_stored()
    {
        var (user, key) = await host.NewUserAsync();
        await host.DataAsync(key, WandbDocuments.UpsertBucket, new { entity = user, name = "r1", project = "reads" });
        var lines = Enumerable.Range(0, 10).Select(i => $"{{\"loss\": {i}, \"nested\": {{\"lr\": 0.5}}, \"_step\": {i}}}").ToArray();
        await host.FileStreamAsync(key, user, "reads", "r1", new { files = new Dictionary<string, object> { ["wandb-history.jsonl"] = new { offset = 0, content = lines }, ["wandb-events.jsonl"] = new { offset = 0, content = new[] { "{\"system.cpu\": 1.5}" } } } });

        var data = await host.DataAsync(key, """
            query Reads($entity: String!, $project: String!, $run: String!, $specs: [JSONString!]!) {
              project(name: $project, entityName: $entity) {
                run(name: $run) {
                  historyKeys
                  sampledHistory(specs: $specs)
                  page: history(minStep: 2, maxStep: 5, samples: 1000)
                  all: history(samples: 3)
                  events(samples: 10)
                  historyTail
                  eventsTail
                  parquetHistory(liveKeys: ["_step"]) { parquetUrls liveData }
                }
              }
            }
            """, new { entity = user, project = "reads", run = "r1", specs = new[] { "{\"keys\": [\"_step\", \"loss\"], \"samples\": 500}" } });
        var run = data["project"]!["run"]!;
        Assert.Equal(9, run["historyKeys"]!["lastStep"]!.GetValue<long>());
        Assert.NotNull(run["historyKeys"]!["keys"]!["loss"]);
        var sampled = run["sampledHistory"]![0]!.AsArray();
        Assert.Equal(10, sampled.Count);
        Assert.Equal(3, sampled[3]!["loss"]!.GetValue<long>());
        Assert.Equal(lines[2..5], run["page"]!.AsArray().Select(l => l!.GetValue<string>()));
        Assert.Equal(3, run["all"]!.AsArray().Count);
        Assert.Equal("{\"system.cpu\": 1.5}", run["events"]![0]!.GetValue<string>());
        Assert.Equal(lines[9], JsonNode.Parse(run["historyTail"]!.GetValue<string>())![0]!.GetValue<string>());
        Assert.Single(JsonNode.Parse(run["eventsTail"]!.GetValue<string>())!.AsArray());
        Assert.Empty(run["parquetHistory"]!["parquetUrls"]!.AsArray());
    }

    [Fact]
    public async Task Gzip_bodies_are_accepted_on_graphql_and_file_stream()
    {
        var (user, key) = await host.NewUserAsync();
        await host.DataAsync(key, WandbDocuments.UpsertBucket, new { entity = user, name = "g1", project = "gz" });
        using var client = host.Client(key);
        var graphql = await client.SendAsync(Gzipped("/graphql", new { query = WandbDocuments.JsViewer }));
        Assert.Equal(HttpStatusCode.OK, graphql.StatusCode);
        Assert.Equal(user, JsonNode.Parse(await graphql.Content.ReadAsStringAsync())!["data"]!["viewer"]!["entity"]!.GetValue<string>());

        var stream = await client.SendAsync(Gzipped($"/files/{user}/gz/g1/file_stream", new { files = new Dictionary<string, object> { ["wandb-history.jsonl"] = new { offset = 0, content = new[] { "{\"a\": 1, \"_step\": 0}" } } } }));
        Assert.Equal(HttpStatusCode.OK, stream.StatusCode);
        var run = (await host.DataAsync(key, WandbDocuments.Run, new { project = "gz", entity = user, name = "g1" }))["project"]!["run"]!;
        Assert.Equal(1, run["historyLineCount"]!.GetValue<int>());
    }

    [Fact]
    public async Task Bad_input_is_errors_or_4xx_never_500()
    {
        var (user, key) = await host.NewUserAsync();
        using var client = host.Client(key);

        var malformed = await client.PostAsync("/graphql", new StringContent("{\"query\": ", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
        Assert.NotNull(JsonNode.Parse(await malformed.Content.ReadAsStringAsync())!["errors"]);

        var noQuery = await client.PostAsync("/graphql", new StringContent("{\"variables\": {}}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, noQuery.StatusCode);

        var (status, unknownField) = await host.GraphQLAsync(key, "query { viewer { id noSuchField } }");
        Assert.Equal(200, status);
        Assert.NotNull(unknownField["errors"]);

        var (wrongTypeStatus, wrongType) = await host.GraphQLAsync(key, WandbDocuments.UpsertBucket, new { name = 5, project = new[] { 1 }, tags = "x" });
        Assert.Equal(200, wrongTypeStatus);
        Assert.NotNull(wrongType["errors"]);

        var (badConfigStatus, badConfig) = await host.GraphQLAsync(key, WandbDocuments.UpsertBucket, new { name = "b1", project = "bad", config = "[1, 2" });
        Assert.Equal(200, badConfigStatus);
        Assert.Contains("config", badConfig["errors"]![0]!["message"]!.GetValue<string>(), StringComparison.Ordinal);

        var (badStateStatus, badState) = await host.GraphQLAsync(key, WandbDocuments.UpsertBucket, new { name = "b2", project = "bad", state = "exploded" });
        Assert.Equal(200, badStateStatus);
        Assert.NotNull(badState["errors"]);

        var (badIdStatus, badId) = await host.GraphQLAsync(key, WandbDocuments.StopRun, new { id = "not-base64!" });
        Assert.Equal(200, badIdStatus);
        Assert.NotNull(badId["errors"]);

        var (unknownRunStatus, _) = await host.FileStreamAsync(key, user, "bad", "nope", new { complete = true, exitcode = 0 });
        Assert.Equal(404, unknownRunStatus);

        await host.DataAsync(key, WandbDocuments.UpsertBucket, new { entity = user, name = "b3", project = "bad" });
        var badStream = await client.PostAsync($"/files/{user}/bad/b3/file_stream", new StringContent("{\"files\": 7}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, badStream.StatusCode);
        var brokenStream = await client.PostAsync($"/files/{user}/bad/b3/file_stream", new StringContent("{nope", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, brokenStream.StatusCode);

        var (badPathStatus, badPath) = await host.GraphQLAsync(key, WandbDocuments.CreateRunFiles, new { entity = user, project = "bad", run = "b3", files = new[] { "../escape" } });
        Assert.Equal(200, badPathStatus);
        Assert.NotNull(badPath["errors"]);

        using var anonymous = host.Client(null);
        var unauthenticated = await anonymous.PostAsync("/graphql", new StringContent("{\"query\": \"{ viewer { id } }\"}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Unauthorized, unauthenticated.StatusCode);
        using var wrongKey = host.Client(new string('x', 45));
        var badKey = await wrongKey.PostAsync("/graphql", new StringContent("{\"query\": \"{ viewer { id } }\"}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Unauthorized, badKey.StatusCode);
    }

    [Fact]
    public async Task Another_users_key_sees_nothing_and_changes_nothing()
    {
        var (owner, ownerKey) = await host.NewUserAsync();
        var (_, otherKey) = await host.NewUserAsync();
        var created = await host.DataAsync(ownerKey, WandbDocuments.UpsertBucket, new { entity = owner, name = "x1", project = "secret", config = WrappedConfig });
        var id = created["upsertBucket"]!["bucket"]!["id"]!.GetValue<string>();

        var (status, read) = await host.GraphQLAsync(otherKey, WandbDocuments.Run, new { project = "secret", entity = owner, name = "x1" });
        Assert.Equal(200, status);
        Assert.NotNull(read["errors"]);
        Assert.Null(read["data"]?["project"]);
        Assert.DoesNotContain("0.01", read.ToJsonString(), StringComparison.Ordinal);

        var (_, write) = await host.GraphQLAsync(otherKey, WandbDocuments.UpsertBucket, new { entity = owner, name = "x1", project = "secret", notes = "pwned" });
        Assert.NotNull(write["errors"]);
        var (_, byId) = await host.GraphQLAsync(otherKey, "mutation($id: String) { upsertBucket(input: {id: $id, notes: \"pwned\"}) { bucket { id config } } }", new { id });
        Assert.NotNull(byId["errors"]);
        var (_, stop) = await host.GraphQLAsync(otherKey, WandbDocuments.StopRun, new { id });
        Assert.NotNull(stop["errors"]);
        var (_, files) = await host.GraphQLAsync(otherKey, WandbDocuments.CreateRunFiles, new { entity = owner, project = "secret", run = "x1", files = new[] { "a.txt" } });
        Assert.NotNull(files["errors"]);
        Assert.Null(files["data"]?["createRunFiles"]);

        var (streamStatus, _) = await host.FileStreamAsync(otherKey, owner, "secret", "x1", new { complete = true, exitcode = 1 });
        Assert.Equal(404, streamStatus);

        var run = (await host.DataAsync(ownerKey, WandbDocuments.Run, new { project = "secret", entity = owner, name = "x1" }))["project"]!["run"]!;
        Assert.Null(run["notes"]);
        Assert.Equal("running", run["state"]!.GetValue<string>());
        Assert.False(run["stopped"]!.GetValue<bool>());
    }

    [Fact]
    public async Task Runs_without_heartbeats_are_marked_crashed_and_come_back_when_data_arrives()
    {
        var (user, key) = await host.NewUserAsync();
        await host.DataAsync(key, WandbDocuments.UpsertBucket, new { entity = user, name = "c1", project = "crash" });
        await host.DataAsync(key, WandbDocuments.UpsertBucket, new { entity = user, name = "c2", project = "crash" });
        await host.FileStreamAsync(key, user, "crash", "c2", new { complete = true, exitcode = 0 });
        var lines = Enumerable.Range(0, 20).Select(i => $"{{\"loss\": {i}, \"_step\": {i}}}").ToArray();
        await host.FileStreamAsync(key, user, "crash", "c1", new { files = new Dictionary<string, object> { ["wandb-history.jsonl"] = new { offset = 0, content = lines } } });
        var history = host.Services.GetRequiredService<Weightless.Core.History.HistoryStore>();
        var c1 = new RunKey(user, "crash", "c1");
        Assert.Equal(0, (await history.GetM4ExtentAsync(c1)).RollupApplied);
        var runs = host.Services.GetRequiredService<RunService>();

        Assert.Equal(0, await runs.MarkCrashedAsync(DateTimeOffset.UtcNow, CancellationToken.None));
        Assert.True(await runs.MarkCrashedAsync(DateTimeOffset.UtcNow.AddMinutes(6), CancellationToken.None) >= 1);
        // No `complete` will come: the crash sweep writes the pending rollup pages.
        Assert.Equal(20, (await history.GetM4ExtentAsync(c1)).RollupApplied);
        var crashed = (await host.DataAsync(key, WandbDocuments.Run, new { project = "crash", entity = user, name = "c1" }))["project"]!["run"]!;
        Assert.Equal("crashed", crashed["state"]!.GetValue<string>());
        var finished = (await host.DataAsync(key, WandbDocuments.Run, new { project = "crash", entity = user, name = "c2" }))["project"]!["run"]!;
        Assert.Equal("finished", finished["state"]!.GetValue<string>());

        await host.FileStreamAsync(key, user, "crash", "c1", new { });
        var revived = (await host.DataAsync(key, WandbDocuments.Run, new { project = "crash", entity = user, name = "c1" }))["project"]!["run"]!;
        Assert.Equal("running", revived["state"]!.GetValue<string>());
    }

    private static HttpRequestMessage Gzipped(string path, object body)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(JsonSerializer.SerializeToUtf8Bytes(body));
        }
        var content = new ByteArrayContent(buffer.ToArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        content.Headers.ContentEncoding.Add("gzip");
        return new HttpRequestMessage(HttpMethod.Post, path) { Content = content };
    }

    private static List<string> Names(JsonNode fields) =>
        fields.AsArray().Select(f => f!["name"]!.GetValue<string>()).ToList();
}
