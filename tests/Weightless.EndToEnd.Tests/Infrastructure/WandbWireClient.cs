using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace Weightless.EndToEnd.Tests.Infrastructure;

/// <summary>An HTTP answer: status and body text (parsed when it is JSON).</summary>
internal sealed record WireResponse(HttpStatusCode Status, string Body)
{
    public JsonNode? Json
    {
        get
        {
            try
            {
                return Body.Length == 0 ? null : JsonNode.Parse(Body);
            }
            catch (System.Text.Json.JsonException)
            {
                return null;
            }
        }
    }

    public override string ToString() => $"{(int)Status} {LenientJson.Shorten(Body, 800)}";
}

/// <summary>What the service stored for a run, read back through GraphQL.</summary>
internal sealed record StoredRun(string? State, long HistoryLineCount, JsonObject? Summary, JsonNode? Config, string? SummaryText, string? ConfigText);

/// <summary>
/// The W&amp;B wire protocol from the test side: GraphQL and file_stream with a user's key, plus the
/// read-backs (<c>Run</c>, <c>HistoryPage</c>, <c>RunSampledHistory</c>) the public API uses.
/// </summary>
internal sealed class WandbWireClient(DevHostProcess host, TestUser user) : IDisposable
{
    public const int HistoryPageSize = 1000;

    private readonly HttpClient _http = host.ClientFor(user.ApiKey);

    public TestUser User => user;

    public DevHostProcess Host => host;

    public async Task<WireResponse> PostGraphQLAsync(string query, JsonObject? variables = null, string? operationName = null, CancellationToken cancellationToken = default)
    {
        var body = new JsonObject { ["query"] = query, ["variables"] = variables ?? new JsonObject() };
        if (operationName is not null)
        {
            body["operationName"] = operationName;
        }
        return await PostJsonAsync("graphql", body.ToJsonString(), cancellationToken);
    }

    /// <summary>Runs a GraphQL operation that must succeed (HTTP 200, no <c>errors</c>) and returns <c>data</c>.</summary>
    public async Task<JsonObject> QueryAsync(string query, JsonObject? variables = null, CancellationToken cancellationToken = default)
    {
        var response = await PostGraphQLAsync(query, variables, cancellationToken: cancellationToken);
        var json = response.Json as JsonObject;
        if (response.Status != HttpStatusCode.OK || json is null || json["errors"] is JsonArray { Count: > 0 } || json["data"] is not JsonObject data)
        {
            throw new Xunit.Sdk.XunitException(host.Describe($"GraphQL failed: {response}\nquery: {query}\nvariables: {variables?.ToJsonString()}"));
        }
        return data;
    }

    public Task<WireResponse> PostFileStreamAsync(string entity, string project, string run, string body, CancellationToken cancellationToken = default) =>
        PostJsonAsync(FileStreamPath(entity, project, run), body, cancellationToken);

    public static string FileStreamPath(string entity, string project, string run) =>
        $"files/{Uri.EscapeDataString(entity)}/{Uri.EscapeDataString(project)}/{Uri.EscapeDataString(run)}/file_stream";

    public async Task<WireResponse> PostJsonAsync(string relativePath, string body, CancellationToken cancellationToken = default)
    {
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        using var response = await _http.PostAsync(relativePath.TrimStart('/'), content, cancellationToken);
        return new WireResponse(response.StatusCode, await response.Content.ReadAsStringAsync(cancellationToken));
    }

    public async Task<WireResponse> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken = default)
    {
        using var response = await _http.SendAsync(request, cancellationToken);
        return new WireResponse(response.StatusCode, await response.Content.ReadAsStringAsync(cancellationToken));
    }

    /// <summary>Creates the run the way the JS SDK does (<c>UpsertBucket</c> by name, project and entity).</summary>
    public async Task<JsonObject> UpsertRunAsync(string project, string run, string? configJson = null, CancellationToken cancellationToken = default)
    {
        const string query = """
            mutation UpsertBucket($name: String, $project: String, $entity: String, $config: JSONString) {
              upsertBucket(input: {name: $name, modelName: $project, entityName: $entity, config: $config}) {
                bucket { id name displayName config project { id name entity { id name } } }
                inserted
              }
            }
            """;
        var data = await QueryAsync(query, new JsonObject { ["name"] = run, ["project"] = project, ["entity"] = user.Name, ["config"] = configJson }, cancellationToken);
        return data["upsertBucket"]!.AsObject();
    }

    /// <summary>The run as the public API's <c>Run</c> query sees it; null when the run does not exist.</summary>
    public async Task<StoredRun?> ReadRunAsync(string entity, string project, string run, CancellationToken cancellationToken = default)
    {
        const string query = """
            query Run($project: String!, $entity: String!, $name: String!) {
              project(name: $project, entityName: $entity) {
                run(name: $name) { id name state config summaryMetrics historyLineCount }
              }
            }
            """;
        var data = await QueryAsync(query, new JsonObject { ["project"] = project, ["entity"] = entity, ["name"] = run }, cancellationToken);
        if (data["project"]?["run"] is not JsonObject node)
        {
            return null;
        }
        var summaryText = node["summaryMetrics"]?.GetValue<string>();
        var configText = node["config"]?.GetValue<string>();
        return new StoredRun(
            node["state"]?.GetValue<string>(),
            node["historyLineCount"]?.GetValue<long>() ?? 0,
            string.IsNullOrEmpty(summaryText) ? null : LenientJson.ParseObject(summaryText),
            string.IsNullOrEmpty(configText) ? null : LenientJson.Parse(configText),
            summaryText,
            configText);
    }

    public async Task<StoredRun> RequireRunAsync(string entity, string project, string run, CancellationToken cancellationToken = default) =>
        await ReadRunAsync(entity, project, run, cancellationToken)
        ?? throw new Xunit.Sdk.XunitException(host.Describe($"Run {entity}/{project}/{run} does not exist."));

    /// <summary>
    /// Every history line with <c>_step</c> in [0, <paramref name="stepLimit"/>), read the way
    /// <c>run.scan_history()</c> does: <c>HistoryPage</c> pages of 1000 steps.
    /// </summary>
    public async Task<IReadOnlyList<string>> ReadHistoryAsync(string entity, string project, string run, long stepLimit, CancellationToken cancellationToken = default)
    {
        const string query = """
            query HistoryPage($entity: String!, $project: String!, $run: String!, $minStep: Int64!, $maxStep: Int64!, $pageSize: Int!) {
              project(name: $project, entityName: $entity) {
                run(name: $run) { history(minStep: $minStep, maxStep: $maxStep, samples: $pageSize) }
              }
            }
            """;
        var lines = new List<string>();
        for (long min = 0; min < stepLimit; min += HistoryPageSize)
        {
            var variables = new JsonObject
            {
                ["entity"] = entity, ["project"] = project, ["run"] = run,
                ["minStep"] = min, ["maxStep"] = Math.Min(min + HistoryPageSize, stepLimit), ["pageSize"] = HistoryPageSize,
            };
            var data = await QueryAsync(query, variables, cancellationToken);
            var page = data["project"]?["run"]?["history"] as JsonArray
                ?? throw new Xunit.Sdk.XunitException($"HistoryPage [{min}, {min + HistoryPageSize}) returned no history list: {data.ToJsonString()}");
            lines.AddRange(page.Select(item => item is JsonValue value && value.GetValueKind() == System.Text.Json.JsonValueKind.String
                ? value.GetValue<string>()
                : item?.ToJsonString() ?? "null"));
        }
        return lines;
    }

    /// <summary><c>run.history(keys=…)</c>: <c>sampledHistory</c> for one spec; the rows it returns.</summary>
    public async Task<JsonArray> ReadSampledHistoryAsync(string entity, string project, string run, IReadOnlyList<string> keys, int samples, CancellationToken cancellationToken = default)
    {
        const string query = """
            query RunSampledHistory($project: String!, $entity: String!, $name: String!, $specs: [JSONString!]!) {
              project(name: $project, entityName: $entity) { run(name: $name) { sampledHistory(specs: $specs) } }
            }
            """;
        var spec = new JsonObject { ["keys"] = new JsonArray(keys.Select(k => (JsonNode)JsonValue.Create(k)!).ToArray()), ["samples"] = samples };
        var data = await QueryAsync(query, new JsonObject
        {
            ["project"] = project, ["entity"] = entity, ["name"] = run, ["specs"] = new JsonArray(spec.ToJsonString()),
        }, cancellationToken);
        var result = data["project"]?["run"]?["sampledHistory"] as JsonArray;
        return result is [JsonArray rows, ..] ? rows : throw new Xunit.Sdk.XunitException("sampledHistory returned no row list: " + data.ToJsonString());
    }

    public void Dispose() => _http.Dispose();
}
