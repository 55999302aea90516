using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Parquet;
using Weightless.Core.History;
using Weightless.Core.Query;
using Weightless.Integration.Tests.Artifacts;

namespace Weightless.Integration.Tests.Query;

public sealed class QueryApiTests : IClassFixture<QueryApiFixture>, IClassFixture<ArtifactTestHost>
{
    private readonly QueryApiFixture _fixture;
    private readonly ArtifactTestHost _artifactHost;

    public QueryApiTests(QueryApiFixture fixture, ArtifactTestHost artifactHost)
    {
        _fixture = fixture;
        _artifactHost = artifactHost;
    }

    internal static JsonDocument OpenApi()
    {
        var root = Weightless.Tests.Infrastructure.AzuriteFixture.RepositoryRoot();
        return JsonDocument.Parse(File.ReadAllText(Path.Combine(root, "functions", "query", "openapi.json")));
    }

    /// <summary>One documented operation called with valid input: the path template, a concrete path, a body and the documented success status.</summary>
    private sealed record Call(string Method, string Template, string Path, object? Body, int Status);

    private static async Task<HttpResponseMessage> SendAsync(HttpClient client, string method, string path, object? body)
    {
        var request = new HttpRequestMessage(new HttpMethod(method.ToUpperInvariant()), path);
        if (body is not null)
        {
            request.Content = JsonContent.Create(body);
        }
        return await client.SendAsync(request);
    }

    private string RunsPath(string entity) => $"/api/v1/entities/{entity}/projects/{QueryApiFixture.Project}/runs";

    /// <summary>Every operation under /entities/{entity}, in an order that leaves the data usable (move last).</summary>
    private List<Call> EntityCalls(string entity, string run, string deletable, string movable)
    {
        const string R = "/api/v1/entities/{entity}/projects/{project}/runs";
        var runs = RunsPath(entity);
        return
        [
            new("get", "/api/v1/entities/{entity}", $"/api/v1/entities/{entity}", null, 200),
            new("get", "/api/v1/entities/{entity}/projects", $"/api/v1/entities/{entity}/projects", null, 200),
            new("get", "/api/v1/entities/{entity}/projects/{project}", $"/api/v1/entities/{entity}/projects/{QueryApiFixture.Project}", null, 200),
            new("get", R, runs + "?filter=" + Uri.EscapeDataString("{\"config.optimizer\":\"adam\"}") + "&sort=-summary_metrics.acc&limit=2", null, 200),
            new("post", R + "/query", runs + "/query", new { filter = new Dictionary<string, object> { ["summary_metrics.acc"] = new Dictionary<string, object> { ["$gte"] = 0 } }, sort = new[] { "created_at" }, limit = 10 }, 200),
            new("get", R + "/groups", runs + "/groups?by=config.optimizer,group", null, 200),
            new("get", R + "/export", runs + "/export?format=csv", null, 200),
            new("get", R + "/{run}", $"{runs}/{run}", null, 200),
            new("patch", R + "/{run}", $"{runs}/{run}", new { notes = "checked", tags = new[] { "baseline", "reviewed" } }, 200),
            new("get", R + "/{run}/history/keys", $"{runs}/{run}/history/keys", null, 200),
            new("get", R + "/{run}/history", $"{runs}/{run}/history?minStep=10&maxStep=20&limit=5", null, 200),
            new("get", R + "/{run}/history/sampled", $"{runs}/{run}/history/sampled?keys=loss&samples=100", null, 200),
            new("get", R + "/{run}/history/export", $"{runs}/{run}/history/export?format=jsonl&maxStep=50", null, 200),
            new("post", R + "/history/m4", runs + "/history/m4", new { runs = new[] { run }, metrics = new[] { "loss" }, buckets = 100 }, 200),
            new("get", R + "/{run}/history/m4", $"{runs}/{run}/history/m4?metrics=loss&buckets=100&min=0&max=2999", null, 200),
            new("post", R + "/history/keys", runs + "/history/keys", new { runs = new[] { run } }, 200),
            new("get", R + "/{run}/system-metrics", $"{runs}/{run}/system-metrics?samples=5", null, 200),
            new("get", R + "/{run}/logs", $"{runs}/{run}/logs?limit=10", null, 200),
            new("get", R + "/{run}/files", $"{runs}/{run}/files", null, 200),
            new("delete", R + "/{run}", $"{runs}/{deletable}", null, 204),
            new("post", R + "/{run}/undelete", $"{runs}/{deletable}/undelete", null, 200),
            new("post", R + "/{run}/move", $"{runs}/{movable}/move", new { project = "moved-" + movable }, 200),
            new("get", "/api/v1/entities/{entity}/projects/{project}/workspace", $"/api/v1/entities/{entity}/projects/{QueryApiFixture.Project}/workspace", null, 200),
            new("put", "/api/v1/entities/{entity}/projects/{project}/workspace", $"/api/v1/entities/{entity}/projects/{QueryApiFixture.Project}/workspace", new { version = 1, sections = new[] { new { name = "train", panels = new[] { new { id = "p1", type = "line", title = "Loss", metrics = new[] { "loss" } } } } } }, 200),
        ];
    }

    private async Task<List<Call>> AccountCallsAsync()
    {
        var (user, _) = await _fixture.NewUserAsync("acct");
        var team = QueryApiFixture.Unique("t");
        var keyId = "";
        var calls = new List<Call>
        {
            new("get", "/api/v1/health", "/api/v1/health", null, 200),
            new("get", "/api/v1/openapi.json", "/api/v1/openapi.json", null, 200),
            new("get", "/api/v1/docs", "/api/v1/docs", null, 200),
            new("get", "/api/v1/viewer", "/api/v1/viewer", null, 200),
            new("get", "/api/v1/entities", "/api/v1/entities", null, 200),
            new("get", "/api/v1/admin/entities", "/api/v1/admin/entities", null, 200),
            new("post", "/api/v1/admin/users", "/api/v1/admin/users", new { name = QueryApiFixture.Unique("u") }, 201),
            new("post", "/api/v1/teams", "/api/v1/teams", new { name = team }, 201),
            new("get", "/api/v1/teams/{team}/members", $"/api/v1/teams/{team}/members", null, 200),
            new("put", "/api/v1/teams/{team}/members", $"/api/v1/teams/{team}/members", new { user, role = "member" }, 200),
            new("delete", "/api/v1/teams/{team}/members/{user}", $"/api/v1/teams/{team}/members/{user}", null, 204),
            new("post", "/api/v1/users/{user}/keys", $"/api/v1/users/{user}/keys", new { description = "k" }, 201),
            new("get", "/api/v1/users/{user}/keys", $"/api/v1/users/{user}/keys", null, 200),
        };
        return calls.Append(new Call("delete", "/api/v1/users/{user}/keys/{keyId}", keyId, null, 204)).ToList();
    }

    [Fact]
    public async Task Every_documented_operation_answers_its_documented_status()
    {
        using var document = OpenApi();
        var documented = new HashSet<string>(StringComparer.Ordinal);
        var documentedStatuses = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var path in document.RootElement.GetProperty("paths").EnumerateObject())
        {
            foreach (var operation in path.Value.EnumerateObject())
            {
                documented.Add($"{operation.Name} {path.Name}");
                documentedStatuses[$"{operation.Name} {path.Name}"] = operation.Value.GetProperty("responses").EnumerateObject().Select(r => r.Name).ToHashSet();
            }
        }
        var admin = _fixture.Factory.CreateClient(_fixture.Factory.AdminKey);
        var exercised = new HashSet<string>(StringComparer.Ordinal);
        var account = await AccountCallsAsync();
        string? createdKeyId = null;
        foreach (var call in account)
        {
            var path = call.Template.EndsWith("{keyId}", StringComparison.Ordinal)
                ? account.First(c => c.Template == "/api/v1/users/{user}/keys" && c.Method == "post").Path + "/" + createdKeyId
                : call.Path;
            var response = await SendAsync(admin, call.Method, path, call.Body);
            Assert.True(call.Status == (int)response.StatusCode, $"{call.Method} {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            if (call.Method == "post" && call.Template == "/api/v1/users/{user}/keys")
            {
                createdKeyId = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString();
            }
            Assert.Contains(call.Status.ToString(System.Globalization.CultureInfo.InvariantCulture), documentedStatuses[$"{call.Method} {call.Template}"]);
            exercised.Add($"{call.Method} {call.Template}");
        }
        var owner = _fixture.Client(_fixture.Owner);
        foreach (var call in EntityCalls(_fixture.Owner.Name, "run-a", "run-d", "run-e"))
        {
            var response = await SendAsync(owner, call.Method, call.Path, call.Body);
            Assert.True(call.Status == (int)response.StatusCode, $"{call.Method} {call.Path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            Assert.Contains(call.Status.ToString(System.Globalization.CultureInfo.InvariantCulture), documentedStatuses[$"{call.Method} {call.Template}"]);
            exercised.Add($"{call.Method} {call.Template}");
        }
        foreach (var call in RegistryCalls(_fixture.Team, _fixture.Viewer.Name))
        {
            var response = await SendAsync(owner, call.Method, call.Path, call.Body);
            Assert.True(call.Status == (int)response.StatusCode, $"{call.Method} {call.Path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            Assert.Contains(call.Status.ToString(System.Globalization.CultureInfo.InvariantCulture), documentedStatuses[$"{call.Method} {call.Template}"]);
            exercised.Add($"{call.Method} {call.Template}");
        }
        await ExerciseAsync(owner, BranchCalls(_fixture.Owner.Name, "run-a"), documentedStatuses, exercised);
        string? selfCheckId = null;
        foreach (var call in ServiceCalls(_fixture.Owner.Name))
        {
            var path = call.Template.EndsWith("{instanceId}", StringComparison.Ordinal) ? call.Path + "/" + selfCheckId : call.Path;
            var response = await SendAsync(admin, call.Method, path, call.Body);
            Assert.True(call.Status == (int)response.StatusCode, $"{call.Method} {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            if (call.Status == 202)
            {
                selfCheckId = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("instanceId").GetString();
            }
            Assert.Contains(call.Status.ToString(System.Globalization.CultureInfo.InvariantCulture), documentedStatuses[$"{call.Method} {call.Template}"]);
            exercised.Add($"{call.Method} {call.Template}");
        }
        // Artifacts are logged the way the wandb client logs them, on the artifact tests' host.
        var artifactClient = await WandbArtifactClient.NewUserAsync(_artifactHost, QueryApiFixture.Project);
        await artifactClient.CreateRunAsync("producer");
        await artifactClient.LogAsync("producer", "ds", new Dictionary<string, byte[]> { ["data.txt"] = Encoding.UTF8.GetBytes("one\n") });
        await artifactClient.LogAsync("producer", "ds", new Dictionary<string, byte[]> { ["data.txt"] = Encoding.UTF8.GetBytes("two\n") });
        var artifactOwner = await artifactClient.RestAsync();
        await ExerciseAsync(artifactOwner, ArtifactCalls(artifactClient.Entity, "producer"), documentedStatuses, exercised);
        Assert.Empty(documented.Except(exercised));
        Assert.Empty(exercised.Except(documented));
    }

    /// <summary>Sends each call, asserting it answers its expected status and that the status is documented for its operation.</summary>
    private static async Task ExerciseAsync(HttpClient client, IEnumerable<Call> calls, Dictionary<string, HashSet<string>> documentedStatuses, HashSet<string> exercised)
    {
        foreach (var call in calls)
        {
            var response = await SendAsync(client, call.Method, call.Path, call.Body);
            Assert.True(call.Status == (int)response.StatusCode, $"{call.Method} {call.Path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            Assert.Contains(call.Status.ToString(System.Globalization.CultureInfo.InvariantCulture), documentedStatuses[$"{call.Method} {call.Template}"]);
            exercised.Add($"{call.Method} {call.Template}");
        }
    }

    /// <summary>Fork run-a into a new run, rewind that fork and delete it (run-a and the project's run list stay as the other tests expect them).</summary>
    private static List<Call> BranchCalls(string entity, string run)
    {
        const string R = "/api/v1/entities/{entity}/projects/{project}/runs/{run}";
        var runs = $"/api/v1/entities/{entity}/projects/{QueryApiFixture.Project}/runs";
        var fork = QueryApiFixture.Unique("fork");
        return
        [
            new("post", R + "/fork", $"{runs}/{run}/fork", new { step = 100, newRunId = fork }, 201),
            new("post", R + "/rewind", $"{runs}/{fork}/rewind", new { step = 50 }, 200),
            new("delete", R, $"{runs}/{fork}", null, 204),
        ];
    }

    /// <summary>Operator endpoints: the entity's automation events and the durable self-check (started, then read by the id it answered).</summary>
    private static List<Call> ServiceCalls(string entity) =>
    [
        new("get", "/api/v1/automations/events", $"/api/v1/automations/events?entity={entity}&limit=10", null, 200),
        new("post", "/api/v1/sweeps/diagnostics/durable", "/api/v1/sweeps/diagnostics/durable", new { steps = 1, delaySeconds = 0 }, 202),
        new("get", "/api/v1/sweeps/diagnostics/durable/{instanceId}", "/api/v1/sweeps/diagnostics/durable", null, 200),
    ];

    /// <summary>Every artifact operation on collection "ds" (v0, v1) logged by <paramref name="run"/>, in an order that leaves each call valid.</summary>
    private static List<Call> ArtifactCalls(string entity, string run)
    {
        const string A = "/api/v1/entities/{entity}/projects/{project}/artifacts";
        var artifacts = $"/api/v1/entities/{entity}/projects/{QueryApiFixture.Project}/artifacts";
        return
        [
            new("get", A, artifacts + "?type=dataset", null, 200),
            new("patch", A + "/{collection}", artifacts + "/ds", new { description = "training split", tags = new[] { "vision" }, ttlDurationSeconds = 86400 }, 200),
            new("get", A + "/{collection}/versions", artifacts + "/ds/versions?includeDeleted=true", null, 200),
            new("get", A + "/{collection}/versions/{version}", artifacts + "/ds/versions/v0?first=10", null, 200),
            new("patch", A + "/{collection}/versions/{version}", artifacts + "/ds/versions/v0", new { description = "first cut", metadata = new { rows = 2 }, tags = new[] { "golden" }, ttlDurationSeconds = -1 }, 200),
            new("put", A + "/{collection}/aliases/{alias}", artifacts + "/ds/aliases/production", new { version = "v0" }, 200),
            new("delete", A + "/{collection}/aliases/{alias}", artifacts + "/ds/aliases/production", null, 204),
            new("delete", A + "/{collection}/versions/{version}", artifacts + "/ds/versions/v0", null, 200),
            new("post", A + "/{collection}/versions/{version}/restore", artifacts + "/ds/versions/v0/restore", null, 200),
            new("get", A + "/{collection}/versions/{version}/lineage", artifacts + "/ds/versions/v1/lineage?direction=upstream&depth=2", null, 200),
            new("get", "/api/v1/entities/{entity}/projects/{project}/runs/{run}/artifact-lineage", $"/api/v1/entities/{entity}/projects/{QueryApiFixture.Project}/runs/{run}/artifact-lineage?direction=both&depth=2", null, 200),
        ];
    }

    /// <summary>Every Registry operation, as the organization's admin, in an order that builds up and tears down one registry.</summary>
    private static List<Call> RegistryCalls(string org, string member)
    {
        const string B = "/api/v1/orgs/{org}/registries";
        var registries = $"/api/v1/orgs/{org}/registries";
        var registry = registries + "/apiregistry";
        var collection = registry + "/collections/classifier";
        var missing = Core.Artifacts.ArtifactIds.Artifact(new Core.Artifacts.ArtifactKey(org, QueryApiFixture.Project, "absent", Guid.NewGuid().ToString("N")));
        return
        [
            new("get", B, registries, null, 200),
            new("post", B, registries, new { name = "apiregistry", description = "REST test", visibility = "restricted", artifactTypes = new[] { "model" } }, 201),
            new("get", B + "/{registry}", registry, null, 200),
            new("patch", B + "/{registry}", registry, new { description = "edited" }, 200),
            new("put", B + "/{registry}/protected-aliases", registry + "/protected-aliases", new { aliases = new[] { "production" } }, 200),
            new("get", B + "/{registry}/members", registry + "/members", null, 200),
            new("put", B + "/{registry}/members", registry + "/members", new { user = member, role = "member" }, 200),
            new("delete", B + "/{registry}/members/{kind}/{member}", $"{registry}/members/user/{member}", null, 204),
            new("get", B + "/{registry}/collections", registry + "/collections?q=class", null, 200),
            new("post", B + "/{registry}/collections", registry + "/collections", new { name = "classifier", type = "model", tags = new[] { "vision" } }, 201),
            new("get", B + "/{registry}/collections/{collection}", collection, null, 200),
            new("patch", B + "/{registry}/collections/{collection}", collection, new { description = "card", tags = new[] { "vision", "prod" } }, 200),
            new("get", B + "/{registry}/collections/{collection}/versions", collection + "/versions?alias=production", null, 200),
            new("post", B + "/{registry}/collections/{collection}/versions", collection + "/versions", new { artifactId = missing }, 404),
            new("put", B + "/{registry}/collections/{collection}/aliases/{alias}", collection + "/aliases/production", new { version = "v0" }, 404),
            new("delete", B + "/{registry}/collections/{collection}/aliases/{alias}", collection + "/aliases/staging", null, 404),
            new("delete", B + "/{registry}/collections/{collection}/versions/{version}", collection + "/versions/v0", null, 404),
            new("get", "/api/v1/orgs/{org}/registry-search", $"/api/v1/orgs/{org}/registry-search?q=vision", null, 200),
            new("delete", B + "/{registry}/collections/{collection}", collection, null, 204),
            new("delete", B + "/{registry}", registry, null, 204),
        ];
    }

    [Fact]
    public async Task Another_entitys_key_gets_404_on_every_entity_route_and_viewers_cannot_write()
    {
        var stranger = _fixture.Client(_fixture.Stranger);
        foreach (var call in EntityCalls(_fixture.Owner.Name, "run-a", "run-b", "run-c"))
        {
            var response = await SendAsync(stranger, call.Method, call.Path, call.Body);
            Assert.True(response.StatusCode == HttpStatusCode.NotFound, $"stranger {call.Method} {call.Path}: {(int)response.StatusCode}");
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        }
        // run-c: the other tests of this class never delete or move it.
        var viewer = _fixture.Client(_fixture.Viewer);
        foreach (var call in EntityCalls(_fixture.Team, "run-c", "run-c", "run-c"))
        {
            var response = await SendAsync(viewer, call.Method, call.Path, call.Body);
            var writes = call.Method is "patch" or "delete" || call.Template.EndsWith("/undelete", StringComparison.Ordinal) || call.Template.EndsWith("/move", StringComparison.Ordinal);
            if (writes)
            {
                Assert.True(response.StatusCode == HttpStatusCode.Forbidden, $"viewer {call.Method} {call.Path}: {(int)response.StatusCode}");
            }
            else
            {
                Assert.True(response.IsSuccessStatusCode, $"viewer {call.Method} {call.Path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            }
        }
        var anonymous = _fixture.Factory.CreateClient();
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync(RunsPath(_fixture.Owner.Name))).StatusCode);
    }

    [Fact]
    public async Task Runs_list_filters_sorts_pages_and_groups()
    {
        var client = _fixture.Client(_fixture.Owner);
        var runs = RunsPath(_fixture.Owner.Name);
        var all = await client.GetFromJsonAsync<JsonElement>(runs + "?sort=config.lr&limit=2");
        var ids = new List<string>();
        var page = all;
        while (true)
        {
            ids.AddRange(page.GetProperty("runs").EnumerateArray().Select(r => r.GetProperty("id").GetString()!));
            if (!page.TryGetProperty("nextCursor", out var cursor))
            {
                break;
            }
            page = await client.GetFromJsonAsync<JsonElement>(runs + "?sort=config.lr&limit=2&cursor=" + Uri.EscapeDataString(cursor.GetString()!));
        }
        Assert.Equal(ids.Distinct().Count(), ids.Count);
        Assert.Equal(ids.OrderBy(i => i, StringComparer.Ordinal), ids.Order(StringComparer.Ordinal));
        Assert.Equal(ids.Count, all.GetProperty("total").GetInt32());

        var filtered = await client.GetFromJsonAsync<JsonElement>(runs + "?filter=" + Uri.EscapeDataString("{\"$and\":[{\"config.lr.value\":{\"$gte\":0.002}},{\"tags\":\"baseline\"}]}") + "&sort=-created_at");
        var filteredIds = filtered.GetProperty("runs").EnumerateArray().Select(r => r.GetProperty("id").GetString()).ToList();
        Assert.Contains("run-c", filteredIds);
        Assert.DoesNotContain("run-a", filteredIds);
        Assert.DoesNotContain("run-b", filteredIds);

        var bad = await client.GetAsync(runs + "?filter=" + Uri.EscapeDataString("{\"config.lr\":{\"$near\":1}}"));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal("filter.config.lr.$near", (await bad.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("field").GetString());
        var badSort = await client.GetAsync(runs + "?sort=-what");
        Assert.Equal("sort", (await badSort.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("field").GetString());

        var groups = await client.GetFromJsonAsync<JsonElement>(runs + "/groups?by=group");
        Assert.Equal(groups.GetProperty("total").GetInt32(), groups.GetProperty("groups").EnumerateArray().Sum(g => g.GetProperty("count").GetInt32()));
    }

    [Fact]
    public async Task Patch_merges_config_and_summary_and_the_index_sees_it()
    {
        var client = _fixture.Client(_fixture.Owner);
        var runs = RunsPath(_fixture.Owner.Name);
        var patched = await client.PatchAsJsonAsync(runs + "/run-b", new { displayName = "renamed", config = new { extra = 5, optimizer = (string?)null }, summary = new { best = 0.99 } });
        Assert.Equal(HttpStatusCode.OK, patched.StatusCode);
        var run = await patched.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("renamed", run.GetProperty("displayName").GetString());
        Assert.Equal(5, run.GetProperty("config").GetProperty("extra").GetInt32());
        Assert.False(run.GetProperty("config").TryGetProperty("optimizer", out _));
        Assert.Equal(0.002, run.GetProperty("config").GetProperty("lr").GetDouble());
        Assert.Equal(0.99, run.GetProperty("summary").GetProperty("best").GetDouble());
        var found = await client.GetFromJsonAsync<JsonElement>(runs + "?filter=" + Uri.EscapeDataString("{\"summary_metrics.best\":{\"$gt\":0.9}}"));
        Assert.Equal(["run-b"], found.GetProperty("runs").EnumerateArray().Select(r => r.GetProperty("id").GetString()!));
        var bad = await client.PatchAsJsonAsync(runs + "/run-b", new { config = new[] { 1 } });
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
    }

    [Fact]
    public async Task History_scan_pages_cover_every_row_and_m4_equals_brute_force()
    {
        var client = _fixture.Client(_fixture.Owner);
        var runs = RunsPath(_fixture.Owner.Name);
        var steps = new List<long>();
        string? cursor = null;
        do
        {
            var page = await client.GetFromJsonAsync<JsonElement>($"{runs}/run-a/history?keys=loss&limit=700" + (cursor is null ? "" : "&cursor=" + cursor));
            steps.AddRange(page.GetProperty("rows").EnumerateArray().Select(r => r.GetProperty("_step").GetInt64()));
            cursor = page.TryGetProperty("nextCursor", out var next) ? next.GetString() : null;
        }
        while (cursor is not null);
        Assert.Equal(_fixture.Loss.Keys, steps);

        foreach (var (min, max, buckets) in new[] { (0L, 2999L, 100), (5L, 2500L, 37), (990L, 1200L, 10), (0L, 2999L, 1000) })
        {
            var response = await client.PostAsJsonAsync(runs + "/history/m4", new { runs = new[] { "run-a", "run-b" }, metrics = new[] { "loss" }, min, max, buckets });
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var body = await response.Content.ReadFromJsonAsync<JsonElement>();
            var series = body.GetProperty("series").EnumerateArray().First(s => s.GetProperty("run").GetString() == "run-a");
            var plan = M4Levels.PlanQuery(min, max, buckets);
            var expected = M4Compute.BruteForce(_fixture.Loss.Select(kv => new M4Point(kv.Key, kv.Value)), plan);
            var actual = series.GetProperty("buckets").EnumerateArray().ToList();
            Assert.Equal(expected.Count, actual.Count);
            for (var i = 0; i < expected.Count; i++)
            {
                Assert.Equal(expected[i].StartStep, actual[i].GetProperty("start").GetDouble());
                Assert.Equal(expected[i].EndStep, actual[i].GetProperty("end").GetDouble());
                Assert.Equal(expected[i].Count, actual[i].GetProperty("count").GetInt64());
                Assert.Equal(expected[i].NonFiniteCount, actual[i].GetProperty("nonFinite").GetInt64());
                Assert.Equal(expected[i].Max!.Value.Value, actual[i].GetProperty("max").GetProperty("y").GetDouble());
                Assert.Equal(expected[i].Min!.Value.Step, actual[i].GetProperty("min").GetProperty("x").GetDouble());
                Assert.Equal(expected[i].First!.Value.Step, actual[i].GetProperty("first").GetProperty("x").GetDouble());
                Assert.Equal(expected[i].Last!.Value.Value, actual[i].GetProperty("last").GetProperty("y").GetDouble());
            }
        }
        // The spike at step 2222 survives any bucketing.
        var coarse = await client.PostAsJsonAsync(runs + "/history/m4", new { runs = new[] { "run-a" }, metrics = new[] { "loss" }, xAxis = "_runtime", buckets = 7 });
        var coarseBody = await coarse.Content.ReadFromJsonAsync<JsonElement>();
        var maxima = coarseBody.GetProperty("series")[0].GetProperty("buckets").EnumerateArray().Select(b => b.GetProperty("max").GetProperty("y").GetDouble()).ToList();
        Assert.Contains(1e6, maxima);
        Assert.Equal(_fixture.Loss.Count, coarseBody.GetProperty("series")[0].GetProperty("buckets").EnumerateArray().Sum(b => b.GetProperty("count").GetInt64()));

        var missing = await client.PostAsJsonAsync(runs + "/history/m4", new { runs = new[] { "nope" }, metrics = new[] { "loss" } });
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        var tooMany = await client.PostAsJsonAsync(runs + "/history/m4", new { runs = new[] { "run-a" }, metrics = new[] { "loss" }, buckets = 0 });
        Assert.Equal("buckets", (await tooMany.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("field").GetString());
    }

    [Fact]
    public async Task M4_columns_answer_holds_the_json_answer_exactly_and_project_keys_merge_runs()
    {
        var client = _fixture.Client(_fixture.Owner);
        var runs = RunsPath(_fixture.Owner.Name);
        var request = new { runs = new[] { "run-a", "run-b" }, metrics = new[] { "loss" }, min = 5, max = 2500, buckets = 37 };
        var json = await (await client.PostAsJsonAsync(runs + "/history/m4", request)).Content.ReadFromJsonAsync<JsonElement>();
        var response = await client.PostAsJsonAsync(runs + "/history/m4?format=columns", request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/vnd.weightless.m4-columns", response.Content.Headers.ContentType!.MediaType);
        var bytes = await response.Content.ReadAsByteArrayAsync();
        Assert.Equal("WM4C"u8.ToArray(), bytes[..4]);
        var headerLength = (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(4));
        var header = JsonDocument.Parse(bytes.AsMemory(8, headerLength)).RootElement;
        var columns = header.GetProperty("columns").EnumerateArray().Select(c => c.GetString()!).ToList();
        Assert.Equal(12, columns.Count);
        var position = 8 + headerLength;
        var seriesIndex = 0;
        foreach (var series in header.GetProperty("series").EnumerateArray())
        {
            var expected = json.GetProperty("series")[seriesIndex++];
            Assert.Equal(expected.GetProperty("run").GetString(), series.GetProperty("run").GetString());
            var buckets = expected.GetProperty("buckets").EnumerateArray().ToList();
            var count = series.GetProperty("count").GetInt32();
            Assert.Equal(buckets.Count, count);
            foreach (var column in columns)
            {
                for (var i = 0; i < count; i++, position += 8)
                {
                    var value = BinaryPrimitives.ReadDoubleLittleEndian(bytes.AsSpan(position));
                    var bucket = buckets[i];
                    double Point(string name, string axis) => bucket.TryGetProperty(name, out var point) ? point.GetProperty(axis).GetDouble() : double.NaN;
                    var want = column switch
                    {
                        "start" or "end" or "count" or "nonFinite" => bucket.GetProperty(column).GetDouble(),
                        _ => Point(column[..^1], column[^1..].ToLowerInvariant()),
                    };
                    Assert.Equal(want, value);
                }
            }
        }
        Assert.Equal(bytes.Length, position);
        var some = await client.GetAsync($"{runs}/run-a/history/m4?metrics=loss&buckets=10&format=columns&columns=lastY,start");
        Assert.Equal(HttpStatusCode.OK, some.StatusCode);
        var badColumn = await client.GetAsync($"{runs}/run-a/history/m4?metrics=loss&format=columns&columns=median");
        Assert.Equal("columns", (await badColumn.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("field").GetString());
        var badFormat = await client.PostAsJsonAsync(runs + "/history/m4?format=xml", request);
        Assert.Equal("format", (await badFormat.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("field").GetString());

        var keys = await (await client.PostAsJsonAsync(runs + "/history/keys", new { runs = new[] { "run-a", "run-b" } })).Content.ReadFromJsonAsync<JsonElement>();
        var loss = keys.GetProperty("keys").EnumerateArray().Single(k => k.GetProperty("key").GetString() == "loss");
        Assert.Equal(2, loss.GetProperty("runs").GetInt32());
        var perRun = await client.GetFromJsonAsync<JsonElement>(runs + "/run-a/history/keys");
        Assert.Equal(perRun.GetProperty("lastStep").GetInt64(), keys.GetProperty("lastSteps").GetProperty("run-a").GetInt64());
        var missing = await client.PostAsJsonAsync(runs + "/history/keys", new { runs = new[] { "run-a", "nope" } });
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        var none = await client.PostAsJsonAsync(runs + "/history/keys", new { runs = Array.Empty<string>() });
        Assert.Equal("runs", (await none.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("field").GetString());
        // The first N runs of the default order (newest first) instead of ids: what a workspace asks with its runs list.
        var newest = await client.PostAsJsonAsync(runs + "/query", new { limit = 1 });
        var newestId = (await newest.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("runs")[0].GetProperty("id").GetString()!;
        var firstKeys = await (await client.PostAsJsonAsync(runs + "/history/keys", new { first = 1 })).Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal([newestId], firstKeys.GetProperty("lastSteps").EnumerateObject().Select(p => p.Name));
        var badFirst = await client.PostAsJsonAsync(runs + "/history/keys", new { first = 0 });
        Assert.Equal("first", (await badFirst.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("field").GetString());
    }

    [Fact]
    public async Task History_exports_round_trip_in_csv_jsonl_and_parquet()
    {
        var client = _fixture.Client(_fixture.Owner);
        var runs = RunsPath(_fixture.Owner.Name);
        var csv = Csv.Parse(await client.GetStringAsync($"{runs}/run-a/history/export?format=csv"));
        var header = csv[0];
        Assert.Equal("_step", header[0]);
        Assert.Contains("nested.acc", header);
        Assert.Equal(_fixture.Loss.Count, csv.Count - 1);
        var lossColumn = header.IndexOf("loss");
        var noteColumn = header.IndexOf("note");
        foreach (var row in csv.Skip(1))
        {
            var step = long.Parse(row[0], System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal(_fixture.Loss[step], double.Parse(row[lossColumn], System.Globalization.CultureInfo.InvariantCulture));
            Assert.Equal($"s,{step}", row[noteColumn]);
        }

        var jsonl = (await client.GetStringAsync($"{runs}/run-a/history/export?format=jsonl")).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(_fixture.Loss.Count, jsonl.Length);
        foreach (var line in jsonl)
        {
            Assert.True(TolerantJson.TryParse(line, out var parsed));
            var row = (JsonLineObject)parsed!;
            var step = (long)row["_step"]!;
            Assert.Equal(_fixture.Loss[step], HistoryValues.AsNumber(row["loss"]));
            Assert.Equal((long)(step % 10), ((JsonLineObject)row["nested"]!)["acc"]);
        }

        var parquet = await client.GetByteArrayAsync($"{runs}/run-a/history/export?format=parquet");
        await using var reader = await ParquetReader.CreateAsync(new MemoryStream(parquet));
        var fields = reader.Schema.DataFields;
        var stepField = fields.First(f => f.Name == "_step");
        var lossField = fields.First(f => f.Name == "loss");
        var read = new Dictionary<long, double?>();
        for (var g = 0; g < reader.RowGroupCount; g++)
        {
            using var group = reader.OpenRowGroupReader(g);
            var stepValues = new long?[group.RowCount];
            var lossValues = new double?[group.RowCount];
            await group.ReadAsync<long>(stepField, stepValues.AsMemory());
            await group.ReadAsync<double>(lossField, lossValues.AsMemory());
            for (var i = 0; i < stepValues.Length; i++)
            {
                read[stepValues[i]!.Value] = lossValues[i];
            }
        }
        Assert.Equal(_fixture.Loss.Count, read.Count);
        foreach (var (step, loss) in _fixture.Loss)
        {
            Assert.Equal(loss, read[step]);
        }
    }

    [Fact]
    public async Task Runs_exports_round_trip_with_the_list()
    {
        var client = _fixture.Client(_fixture.Owner);
        var runs = RunsPath(_fixture.Owner.Name);
        var list = await client.GetFromJsonAsync<JsonElement>(runs + "?sort=name&limit=100");
        var listed = list.GetProperty("runs").EnumerateArray().ToList();
        var csv = Csv.Parse(await client.GetStringAsync(runs + "/export?format=csv&sort=name"));
        Assert.Equal(listed.Count, csv.Count - 1);
        var lrColumn = csv[0].IndexOf("config.lr");
        for (var i = 0; i < listed.Count; i++)
        {
            Assert.Equal(listed[i].GetProperty("id").GetString(), csv[i + 1][0]);
            Assert.Equal(listed[i].GetProperty("config").GetProperty("lr").GetDouble(), double.Parse(csv[i + 1][lrColumn], System.Globalization.CultureInfo.InvariantCulture));
        }
        var jsonl = (await client.GetStringAsync(runs + "/export?format=jsonl&sort=name")).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(listed.Select(r => r.GetRawText()), jsonl.Select(l => JsonDocument.Parse(l).RootElement.GetRawText()));
        var badFormat = await client.GetAsync(runs + "/export?format=xml");
        Assert.Equal(HttpStatusCode.BadRequest, badFormat.StatusCode);
    }

    [Fact]
    public async Task Delete_hides_a_run_undelete_restores_it_and_move_carries_its_history()
    {
        var client = _fixture.Client(_fixture.Owner);
        var team = RunsPath(_fixture.Team);
        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync(team + "/run-b")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync(team + "/run-b")).StatusCode);
        var listed = await client.GetFromJsonAsync<JsonElement>(team + "?limit=100");
        Assert.DoesNotContain("run-b", listed.GetProperty("runs").EnumerateArray().Select(r => r.GetProperty("id").GetString()));
        var withDeleted = await client.GetFromJsonAsync<JsonElement>(team + "?limit=100&includeDeleted=true");
        Assert.Contains(withDeleted.GetProperty("runs").EnumerateArray(), r => r.GetProperty("id").GetString() == "run-b" && r.GetProperty("deleted").GetBoolean());
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync(team + "/run-b/undelete", null)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(team + "/run-b")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.PostAsync(team + "/run-b/undelete", null)).StatusCode);

        var moved = await client.PostAsJsonAsync(team + "/run-a/move", new { project = "archive" });
        Assert.Equal(HttpStatusCode.OK, moved.StatusCode);
        var archive = $"/api/v1/entities/{_fixture.Team}/projects/archive/runs";
        var keys = await client.GetFromJsonAsync<JsonElement>(archive + "/run-a/history/keys");
        Assert.Equal(QueryApiFixture.HistorySteps - 1, keys.GetProperty("lastStep").GetInt64());
        var logs = await client.GetFromJsonAsync<JsonElement>(archive + "/run-a/logs?limit=100");
        Assert.Equal(30, logs.GetProperty("lines").GetArrayLength());
        Assert.Equal("stderr", logs.GetProperty("lines")[0].GetProperty("stream").GetString());
        var files = await client.GetFromJsonAsync<JsonElement>(archive + "/run-a/files");
        Assert.Equal(2, files.GetProperty("files").GetArrayLength());
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync(team + "/run-a")).StatusCode);
        var source = await client.GetFromJsonAsync<JsonElement>(team + "?limit=100&includeDeleted=true");
        Assert.DoesNotContain("run-a", source.GetProperty("runs").EnumerateArray().Select(r => r.GetProperty("id").GetString()));
        var target = await client.GetFromJsonAsync<JsonElement>(archive);
        Assert.Equal(["run-a"], target.GetProperty("runs").EnumerateArray().Select(r => r.GetProperty("id").GetString()!));
        var again = await client.PostAsJsonAsync(archive + "/run-a/move", new { project = "archive" });
        Assert.Equal(HttpStatusCode.BadRequest, again.StatusCode);
    }

    [Fact]
    public async Task Openapi_and_reference_page_are_served_without_credentials()
    {
        var anonymous = _fixture.Factory.CreateClient();
        var document = await anonymous.GetFromJsonAsync<JsonElement>("/api/v1/openapi.json");
        Assert.Equal("3.1.0", document.GetProperty("openapi").GetString());
        var page = await anonymous.GetAsync("/api/v1/docs");
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        var html = await page.Content.ReadAsStringAsync();
        Assert.Contains("openapi.json", html);
        Assert.DoesNotContain("https://", html);
    }
}
