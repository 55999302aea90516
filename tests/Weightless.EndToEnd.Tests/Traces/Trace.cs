using System.Globalization;
using System.Text.Json.Nodes;

namespace Weightless.EndToEnd.Tests.Traces;

/// <summary>The GraphQL part of a recorded request.</summary>
internal sealed record RecordedGraphQL(string? OperationName, string Op, string Query, JsonObject Variables);

/// <summary>
/// One recorded HTTP request of a W&amp;B client and the stand-in's answer (format:
/// shared/reference/client-traces/README.md).
/// </summary>
internal sealed record TraceRequest(
    int Number,
    string Method,
    string Path,
    IReadOnlyDictionary<string, string> Query,
    IReadOnlyDictionary<string, string> Headers,
    RecordedGraphQL? GraphQL,
    JsonNode? Body,
    int Status,
    string Response)
{
    public const string FakeStorageSegment = "/_fake_storage/";

    public bool IsGraphQL => GraphQL is not null;

    public bool IsFileStream => Method == "POST" && Path.StartsWith("/files/", StringComparison.Ordinal) && Path.EndsWith("/file_stream", StringComparison.Ordinal);

    public bool IsStorage => Path.StartsWith(FakeStorageSegment, StringComparison.Ordinal);

    /// <summary>For a file_stream post: entity, project and run from the path.</summary>
    public (string Entity, string Project, string Run) FileStreamTarget()
    {
        var parts = Path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        return (Uri.UnescapeDataString(parts[1]), Uri.UnescapeDataString(parts[2]), Uri.UnescapeDataString(parts[3]));
    }

    /// <summary>The recorded answer as JSON (cut answers: their complete part), or null.</summary>
    public JsonNode? ResponseJson => Response.StartsWith('{') || Response.StartsWith('[') ? PartialJson.Parse(Response) : null;

    /// <summary>For a storage GET: the recorded size from <c>&lt;N bytes&gt;</c>.</summary>
    public long? RecordedDownloadBytes =>
        Response.StartsWith('<') && Response.EndsWith(" bytes>", StringComparison.Ordinal)
            ? long.Parse(Response[1..^" bytes>".Length], CultureInfo.InvariantCulture)
            : null;

    public string Describe() => IsGraphQL ? $"#{Number} GraphQL {GraphQL!.Op}" : $"#{Number} {Method} {Path}";
}

/// <summary>A whole recorded trace, in arrival order.</summary>
internal sealed record Trace(string Name, IReadOnlyList<TraceRequest> Requests)
{
    /// <summary>The entity the traces were scrubbed to.</summary>
    public const string RecordedEntity = "example-user";

    public static Trace Load(string fileName)
    {
        var path = System.IO.Path.Combine(AppContext.BaseDirectory, "Traces", "data", fileName);
        var requests = new List<TraceRequest>();
        foreach (var line in File.ReadLines(path))
        {
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }
            var json = JsonNode.Parse(line)!.AsObject();
            RecordedGraphQL? graphQL = null;
            if (json["graphql"] is JsonObject g)
            {
                graphQL = new RecordedGraphQL(
                    g["operationName"]?.GetValue<string>(),
                    g["op"]!.GetValue<string>(),
                    g["query"]!.GetValue<string>(),
                    g["variables"] as JsonObject ?? new JsonObject());
            }
            requests.Add(new TraceRequest(
                json["n"]!.GetValue<int>(),
                json["method"]!.GetValue<string>(),
                json["path"]!.GetValue<string>(),
                Strings(json["query"]),
                Strings(json["headers"]),
                graphQL,
                json["body"]?.DeepClone(),
                json["status"]!.GetValue<int>(),
                json["response"]?.GetValue<string>() ?? ""));
        }
        return new Trace(fileName, requests);
    }

    private static Dictionary<string, string> Strings(JsonNode? node) =>
        node is JsonObject obj
            ? obj.Where(p => p.Value is not null).ToDictionary(p => p.Key, p => p.Value!.ToString(), StringComparer.Ordinal)
            : new Dictionary<string, string>(StringComparer.Ordinal);
}
