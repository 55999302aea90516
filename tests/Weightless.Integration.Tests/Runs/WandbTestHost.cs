using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Weightless.Tests.Infrastructure;

namespace Weightless.Integration.Tests.Runs;

/// <summary>
/// The dev host on Azurite with its own table prefix and admin key, plus helpers that talk to it
/// the way the W&amp;B clients do (Basic <c>api:&lt;key&gt;</c>, GraphQL documents from the traces).
/// </summary>
public sealed class WandbTestHost : IAsyncLifetime
{
    private WebApplicationFactory<Program>? _factory;

    public string AdminKey { get; } = AzuriteFixture.NewApiKey();

    public string Prefix { get; } = AzuriteFixture.NewPrefix();

    public WebApplicationFactory<Program> Factory => _factory ?? throw new InvalidOperationException("Not started.");

    public IServiceProvider Services => Factory.Services;

    /// <summary>Extra configuration for this host (e.g. <c>RateLimits:Enabled</c>); set before <see cref="InitializeAsync"/>.</summary>
    public IDictionary<string, string> Settings { get; } = new Dictionary<string, string>();

    public Task InitializeAsync()
    {
        var connection = AzuriteFixture.ConnectionString;
        _factory = new WebApplicationFactory<Program>().WithWebHostBuilder(builder =>
        {
            builder.UseSetting("Storage:ConnectionString", connection);
            builder.UseSetting("Storage:TablePrefix", Prefix);
            builder.UseSetting("Admin:UserName", "admin");
            builder.UseSetting("Admin:ApiKey", AdminKey);
            builder.UseSetting("DevHost:DurableBackend", "InMemory");
            builder.UseSetting("DevHost:RunTimers", "false");
            foreach (var (name, value) in Settings)
            {
                builder.UseSetting(name, value);
            }
        });
        _ = _factory.Server;
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        if (_factory is not null)
        {
            await _factory.DisposeAsync();
        }
    }

    /// <summary>A new user with an API key: (name, key).</summary>
    public async Task<(string User, string Key)> NewUserAsync()
    {
        var name = "u" + Guid.NewGuid().ToString("N")[..10];
        using var admin = Client(AdminKey);
        var created = await admin.PostAsJsonAsync("/api/v1/admin/users", new { name, email = $"{name}@example.invalid" });
        Assert.True(created.IsSuccessStatusCode, await created.Content.ReadAsStringAsync());
        var key = await admin.PostAsJsonAsync($"/api/v1/users/{name}/keys", new { description = "test" });
        Assert.True(key.IsSuccessStatusCode, await key.Content.ReadAsStringAsync());
        var body = await key.Content.ReadFromJsonAsync<JsonObject>();
        return (name, body!["key"]!.GetValue<string>());
    }

    public HttpClient Client(string? apiKey)
    {
        var client = Factory.CreateClient();
        if (apiKey is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("api:" + apiKey)));
        }
        return client;
    }

    /// <summary>Posts a GraphQL document as Python 0.16.6 does (no operationName); returns status and parsed body.</summary>
    public async Task<(int Status, JsonObject Body)> GraphQLAsync(string apiKey, string query, object? variables = null, string? operationName = null)
    {
        using var client = Client(apiKey);
        var payload = new Dictionary<string, object?> { ["query"] = query, ["variables"] = variables ?? new Dictionary<string, object?>() };
        if (operationName is not null)
        {
            payload["operationName"] = operationName;
        }
        var response = await client.PostAsJsonAsync("/graphql", payload);
        var text = await response.Content.ReadAsStringAsync();
        return ((int)response.StatusCode, JsonNode.Parse(text)!.AsObject());
    }

    /// <summary>GraphQL that must succeed: 200 and no errors; returns <c>data</c>.</summary>
    public async Task<JsonObject> DataAsync(string apiKey, string query, object? variables = null)
    {
        var (status, body) = await GraphQLAsync(apiKey, query, variables);
        Assert.True(status == 200 && body["errors"] is null, $"HTTP {status}: {body.ToJsonString()}");
        return body["data"]!.AsObject();
    }

    public async Task<(int Status, JsonNode? Body)> FileStreamAsync(string apiKey, string entity, string project, string run, object body)
    {
        using var client = Client(apiKey);
        var response = await client.PostAsync($"/files/{entity}/{project}/{run}/file_stream", new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        return ((int)response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text));
    }
}

/// <summary>GraphQL documents exactly as the clients send them (from the recorded traces).</summary>
internal static class WandbDocuments
{
    public const string JsViewer = "query Viewer { viewer { id entity flags teams { edges { node { name } } } } }";

    public const string PythonViewer = """
        query Viewer {
          viewer { id entity username email flags teams { edges { node { name } } } }
          serverInfo { cliVersionInfo latestLocalVersionInfo { outOfDate latestVersionString versionOnThisInstanceString } }
        }
        """;

    public const string ProbeServerCapabilities = """
        query ProbeServerCapabilities {
          QueryType: __type(name: "Query") { ...fieldData }
          MutationType: __type(name: "Mutation") { ...fieldData }
          ServerInfoType: __type(name: "ServerInfo") { ...fieldData }
        }

        fragment fieldData on __Type {
          fields { name }
        }
        """;

    public const string ProbeServerSettings = """
        query ProbeServerSettings {
          ServerSettingsType: __type(name: "ServerSettings") { ...fieldData }
        }

        fragment fieldData on __Type {
          fields { name }
        }
        """;

    public const string UpsertBucket = """
        mutation UpsertBucket($id: String, $name: String, $project: String, $entity: String, $groupName: String, $description: String, $displayName: String, $notes: String, $commit: String, $config: JSONString, $host: String, $debug: Boolean, $program: String, $repo: String, $jobType: String, $state: String, $sweep: String, $tags: [String!], $summaryMetrics: JSONString) {
          upsertBucket(input: {id: $id, name: $name, groupName: $groupName, modelName: $project, entityName: $entity, description: $description, displayName: $displayName, notes: $notes, config: $config, commit: $commit, host: $host, debug: $debug, jobProgram: $program, jobRepo: $repo, jobType: $jobType, state: $state, sweep: $sweep, tags: $tags, summaryMetrics: $summaryMetrics}) {
            bucket {
              id name displayName description config sweepName
              project { id name entity { id name } }
              historyLineCount
            }
            inserted
            serverSettings { serverMessages { utfText plainText htmlText messageType messageLevel } }
          }
        }
        """;

    public const string RunResumeStatus = """
        query RunResumeStatus($project: String, $entity: String, $name: String!) {
          model(name: $project, entityName: $entity) {
            id name entity { id name }
            bucket(name: $name, missingOk: true) {
              id name summaryMetrics displayName logLineCount historyLineCount eventsLineCount historyTail eventsTail config tags notes wandbConfig(keys: ["t"])
            }
          }
        }
        """;

    public const string RunStoppedStatus = """
        query RunStoppedStatus($projectName: String, $entityName: String, $runId: String!) {
          project(name: $projectName, entityName: $entityName) { run(name: $runId) { stopped } }
        }
        """;

    public const string StopRun = "mutation stopRun($id: ID!) { stopRun(input: {id: $id}) { clientMutationId success } }";

    public const string CreateRunFiles = """
        mutation CreateRunFiles($entity: String!, $project: String!, $run: String!, $files: [String!]!) {
          createRunFiles(input: {entityName: $entity, projectName: $project, runName: $run, files: $files}) {
            runID uploadHeaders files { name uploadUrl }
          }
        }
        """;

    public const string RunFiles = """
        query RunFiles($project: String!, $entity: String!, $name: String!, $fileCursor: String, $fileLimit: Int = 50, $fileNames: [String] = [], $upload: Boolean = false) {
          project(name: $project, entityName: $entity) {
            run(name: $name) { fileCount ...RunFilesFragment }
          }
        }

        fragment RunFilesFragment on Run {
          files(names: $fileNames, after: $fileCursor, first: $fileLimit) {
            edges { node { id name url(upload: $upload) directUrl sizeBytes mimetype updatedAt md5 } cursor }
            pageInfo { endCursor hasNextPage }
          }
        }
        """;

    public const string RunUploadUrls = """
        query RunUploadUrls($name: String!, $files: [String]!, $entity: String, $run: String!, $description: String) {
          model(name: $name, entityName: $entity) {
            bucket(name: $run, desc: $description) {
              id
              files(names: $files) { uploadHeaders edges { node { name url(upload: true) updatedAt } } }
            }
          }
        }
        """;

    public const string Run = """
        query Run($project: String!, $entity: String!, $name: String!) {
          project(name: $project, entityName: $entity) {
            run(name: $name) { id name state config summaryMetrics historyLineCount eventsLineCount logLineCount exitcode stopped tags notes heartbeatAt createdAt }
          }
        }
        """;
}
