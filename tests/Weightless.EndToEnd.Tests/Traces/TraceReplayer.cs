using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Weightless.EndToEnd.Tests.Infrastructure;

namespace Weightless.EndToEnd.Tests.Traces;

/// <summary>What a replayed trace should have left behind for one run.</summary>
internal sealed class RunExpectation(string project, string run)
{
    public string Project { get; } = project;

    public string Run { get; } = run;

    /// <summary>Lines of <c>wandb-history.jsonl</c> sent (highest offset + count).</summary>
    public long HistoryLines { get; set; }

    /// <summary>The history lines sent, by line offset (a re-sent offset replaces, as on the server).</summary>
    public SortedDictionary<long, string> HistoryByOffset { get; } = [];

    /// <summary>The last summary the client sent (file_stream line or UpsertBucket summaryMetrics).</summary>
    public JsonObject? Summary { get; set; }

    public bool Completed { get; set; }

    public int? ExitCode { get; set; }
}

/// <summary>The result of a replay: what was checked, what failed, and what was left out on purpose.</summary>
internal sealed class ReplayReport
{
    public List<string> Checked { get; } = [];

    public List<string> Failures { get; } = [];

    /// <summary>Requests not sent because their operation (or the operation that handed out their URL) is not served yet.</summary>
    public List<string> NotYetServed { get; } = [];

    public Dictionary<string, RunExpectation> Runs { get; } = new(StringComparer.Ordinal);
}

/// <summary>
/// Sends every request of a recorded trace, in order, to the dev host as the recorded client would:
/// GraphQL and file_stream with the test user's key (entity <c>example-user</c> becomes the test
/// user, run ids are kept), storage PUT/GET to the URLs our server handed out in the matching
/// earlier answer. Each answer is checked for the recorded status, no GraphQL errors, and the
/// recorded answer's shape (<see cref="JsonShape"/>).
/// </summary>
internal sealed class TraceReplayer(WandbWireClient client, HttpClient storage)
{
    private sealed record IssuedUrl(string Url, IReadOnlyList<string> Headers);

    /// <summary>Recorded storage path (unescaped, no query) → the URL and headers our server gave for it.</summary>
    private readonly Dictionary<string, IssuedUrl> _issued = new(StringComparer.Ordinal);

    private ArtifactReplay _artifacts = new(new Trace("", []));

    public async Task<ReplayReport> ReplayAsync(Trace trace, IReadOnlySet<string> notYetServed, CancellationToken cancellationToken = default)
    {
        var report = new ReplayReport();
        _artifacts = new ArtifactReplay(trace);
        var urlSources = RecordedUrlSources(trace);
        foreach (var request in trace.Requests)
        {
            try
            {
                if (request.IsGraphQL)
                {
                    if (notYetServed.Contains(request.GraphQL!.Op))
                    {
                        report.NotYetServed.Add(request.Describe());
                        continue;
                    }
                    await ReplayGraphQLAsync(request, report, cancellationToken);
                }
                else if (request.IsFileStream)
                {
                    await ReplayFileStreamAsync(request, report, cancellationToken);
                }
                else if (request.IsStorage)
                {
                    var key = StorageKey(request.Path);
                    if (!_issued.TryGetValue(key, out var issued))
                    {
                        var source = urlSources.GetValueOrDefault(key, "?");
                        if (notYetServed.Contains(source))
                        {
                            report.NotYetServed.Add($"{request.Describe()} (URL from {source})");
                        }
                        else
                        {
                            report.Failures.Add($"{request.Describe()}: our server never handed out a URL for it (recorded source: {source}).");
                        }
                        continue;
                    }
                    await ReplayStorageAsync(request, issued, report, cancellationToken);
                }
                else
                {
                    report.Failures.Add($"{request.Describe()}: the replayer does not know this kind of request.");
                }
            }
            catch (HttpRequestException ex)
            {
                report.Failures.Add($"{request.Describe()}: {ex.Message}");
            }
        }
        return report;
    }

    /// <summary>The report as text for the test output.</summary>
    public static string Summarize(Trace trace, ReplayReport report)
    {
        var text = new StringBuilder();
        text.AppendLine($"{trace.Name}: {trace.Requests.Count} recorded requests, {report.Checked.Count} replayed and checked, {report.NotYetServed.Count} NOT YET SERVED (not covered by this test):");
        foreach (var skipped in report.NotYetServed)
        {
            text.AppendLine("  not yet served: " + skipped);
        }
        foreach (var failure in report.Failures)
        {
            text.AppendLine("  FAILED: " + failure);
        }
        return text.ToString();
    }

    private async Task ReplayGraphQLAsync(TraceRequest request, ReplayReport report, CancellationToken cancellationToken)
    {
        var graphQL = request.GraphQL!;
        var variables = (JsonObject)_artifacts.Substitute(ReplaceEntity(graphQL.Variables.DeepClone(), client.User.Name))!;
        var what = request.Describe();
        if (_artifacts.Prepare(graphQL, variables) is { } unprepared)
        {
            report.Failures.Add($"{what}: {unprepared}");
            return;
        }
        var response = await client.PostGraphQLAsync(graphQL.Query, variables, graphQL.OperationName, cancellationToken);
        if ((int)response.Status != request.Status)
        {
            report.Failures.Add($"{what}: status {(int)response.Status}, recorded {request.Status}: {response}");
            return;
        }
        if (response.Json is not JsonObject answer)
        {
            report.Failures.Add($"{what}: the answer is not a JSON object: {response}");
            return;
        }
        if (answer["errors"] is JsonArray { Count: > 0 } errors)
        {
            report.Failures.Add($"{what}: errors {LenientJson.Shorten(errors.ToJsonString(), 600)}");
            return;
        }
        var recorded = request.ResponseJson;
        var differences = JsonShape.Differences(recorded, answer);
        if (differences.Count > 0)
        {
            report.Failures.Add($"{what}: answer shape differs from the recorded one:\n    " + string.Join("\n    ", differences.Take(20)));
        }
        var wrongValues = _artifacts.Learn(graphQL, recorded, answer).ToList();
        if (wrongValues.Count > 0)
        {
            report.Failures.Add($"{what}: values differ from the recorded ones:\n    " + string.Join("\n    ", wrongValues.Take(20)));
        }
        RememberIssuedUrls(recorded, answer);
        TrackUpsert(graphQL, variables, report);
        report.Checked.Add(what);
    }

    private async Task ReplayFileStreamAsync(TraceRequest request, ReplayReport report, CancellationToken cancellationToken)
    {
        var (_, project, run) = request.FileStreamTarget();
        var body = request.Body?.ToJsonString() ?? "{}";
        var response = await client.PostFileStreamAsync(client.User.Name, project, run, body, cancellationToken);
        var what = request.Describe();
        if ((int)response.Status != request.Status)
        {
            report.Failures.Add($"{what}: status {(int)response.Status}, recorded {request.Status}: {response}");
            return;
        }
        var differences = JsonShape.Differences(request.ResponseJson, response.Json);
        if (differences.Count > 0)
        {
            report.Failures.Add($"{what}: answer shape differs from the recorded one:\n    " + string.Join("\n    ", differences));
        }
        // The values the clients act on, not only their shape: "stopped": true ends the run and a
        // non-null "exitcode" is taken as the server's verdict.
        foreach (var field in new[] { "stopped", "exitcode" })
        {
            var recordedValue = request.ResponseJson?[field]?.ToJsonString() ?? "null";
            var ourValue = response.Json?[field]?.ToJsonString() ?? "null";
            if (request.ResponseJson is JsonObject recordedAnswer && recordedAnswer.ContainsKey(field) && recordedValue != ourValue)
            {
                report.Failures.Add($"{what}: \"{field}\" is {ourValue}, recorded {recordedValue}.");
            }
        }
        TrackFileStream(request, project, run, report);
        report.Checked.Add(what);
    }

    private async Task ReplayStorageAsync(TraceRequest request, IssuedUrl issued, ReplayReport report, CancellationToken cancellationToken)
    {
        var what = $"{request.Describe()} → {new Uri(issued.Url).GetLeftPart(UriPartial.Path)}";
        using var message = new HttpRequestMessage(new HttpMethod(request.Method), issued.Url);
        if (request.Method == "PUT")
        {
            var content = new ByteArrayContent(_artifacts.UploadBytes(request) ?? UploadBytes(request));
            content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            message.Content = content;
            foreach (var header in issued.Headers)
            {
                var colon = header.IndexOf(':', StringComparison.Ordinal);
                if (colon > 0 && !message.Headers.TryAddWithoutValidation(header[..colon].Trim(), header[(colon + 1)..].Trim()))
                {
                    content.Headers.TryAddWithoutValidation(header[..colon].Trim(), header[(colon + 1)..].Trim());
                }
            }
        }
        using var response = await storage.SendAsync(message, cancellationToken);
        var bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            report.Failures.Add($"{what}: status {(int)response.StatusCode}: {Encoding.UTF8.GetString(bytes.AsSpan(0, Math.Min(bytes.Length, 500)))}");
            return;
        }
        if (request.Method == "GET" && _artifacts.DownloadBytes(request) is { } size && bytes.Length != size)
        {
            report.Failures.Add($"{what}: downloaded {bytes.Length} bytes, recorded {size}.");
            return;
        }
        report.Checked.Add(what);
    }

    /// <summary>The recorded upload: its preview when that is the whole file, else placeholder bytes of the recorded size.</summary>
    private static byte[] UploadBytes(TraceRequest request)
    {
        var size = request.Body?["bytes"]?.GetValue<long>() ?? 0;
        var preview = Encoding.UTF8.GetBytes(request.Body?["preview"]?.GetValue<string>() ?? "");
        if (preview.Length == size)
        {
            return preview;
        }
        var bytes = new byte[size];
        preview.AsSpan(0, (int)Math.Min(preview.Length, size)).CopyTo(bytes);
        bytes.AsSpan(preview.Length < size ? preview.Length : (int)size).Fill((byte)'.');
        return bytes;
    }

    private void RememberIssuedUrls(JsonNode? recorded, JsonObject ours)
    {
        var headers = FindUploadHeaders(ours);
        JsonShape.PairStrings(recorded, ours, IsRecordedStorageUrl, (recordedUrl, ourUrl) =>
        {
            if (ourUrl is not null && Uri.TryCreate(ourUrl, UriKind.Absolute, out _))
            {
                // Each file of createArtifactFiles has its own headers (its Content-MD5); run files share one list.
                _issued[StorageKey(new Uri(recordedUrl).AbsolutePath)] = new IssuedUrl(ourUrl, HeadersBesideUrl(ours, ourUrl) ?? headers);
            }
        });
    }

    /// <summary>The <c>uploadHeaders</c> of the object whose <c>uploadUrl</c> is <paramref name="url"/>, if it has its own.</summary>
    private static List<string>? HeadersBesideUrl(JsonNode? node, string url) => node switch
    {
        JsonObject obj when obj["uploadUrl"] is JsonValue u && u.GetValueKind() == System.Text.Json.JsonValueKind.String && u.GetValue<string>() == url && obj["uploadHeaders"] is JsonArray own =>
            own.Select(h => h?.ToString() ?? "").Where(h => h.Length > 0).ToList(),
        JsonObject obj => obj.Select(p => HeadersBesideUrl(p.Value, url)).FirstOrDefault(h => h is not null),
        JsonArray array => array.Select(item => HeadersBesideUrl(item, url)).FirstOrDefault(h => h is not null),
        _ => null,
    };

    private static List<string> FindUploadHeaders(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject obj:
                if (obj["uploadHeaders"] is JsonArray headers)
                {
                    return headers.Select(h => h?.ToString() ?? "").Where(h => h.Length > 0).ToList();
                }
                foreach (var (_, value) in obj)
                {
                    var found = FindUploadHeaders(value);
                    if (found.Count > 0)
                    {
                        return found;
                    }
                }
                return [];
            case JsonArray array:
                return array.Select(FindUploadHeaders).FirstOrDefault(h => h.Count > 0) ?? [];
            default:
                return [];
        }
    }

    private static bool IsRecordedStorageUrl(string text) =>
        text.Contains(TraceRequest.FakeStorageSegment, StringComparison.Ordinal) && Uri.TryCreate(text, UriKind.Absolute, out _);

    private static string StorageKey(string path) => Uri.UnescapeDataString(path);

    /// <summary>Which recorded GraphQL operation first handed out each storage URL.</summary>
    private static Dictionary<string, string> RecordedUrlSources(Trace trace)
    {
        var sources = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var request in trace.Requests.Where(r => r.IsGraphQL))
        {
            foreach (var text in JsonShape.Strings(request.ResponseJson).Where(IsRecordedStorageUrl))
            {
                sources.TryAdd(StorageKey(new Uri(text).AbsolutePath), request.GraphQL!.Op);
            }
        }
        return sources;
    }

    private static JsonNode? ReplaceEntity(JsonNode? node, string entity)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (var key in obj.Select(p => p.Key).ToList())
                {
                    obj[key] = ReplaceEntity(obj[key]?.DeepClone(), entity);
                }
                return obj;
            case JsonArray array:
                for (var i = 0; i < array.Count; i++)
                {
                    array[i] = ReplaceEntity(array[i]?.DeepClone(), entity);
                }
                return array;
            case JsonValue value when value.GetValueKind() == System.Text.Json.JsonValueKind.String && value.GetValue<string>() == Trace.RecordedEntity:
                return JsonValue.Create(entity);
            default:
                return node;
        }
    }

    private static void TrackUpsert(RecordedGraphQL graphQL, JsonObject variables, ReplayReport report)
    {
        if (graphQL.Op != "UpsertBucket" || variables["name"]?.ToString() is not { Length: > 0 } run)
        {
            return;
        }
        var project = variables["project"]?.ToString() ?? "uncategorized";
        var expectation = Expect(report, project, run);
        if (variables["summaryMetrics"] is JsonValue summary && summary.GetValueKind() == System.Text.Json.JsonValueKind.String)
        {
            expectation.Summary = LenientJson.ParseObject(summary.GetValue<string>());
        }
    }

    private static void TrackFileStream(TraceRequest request, string project, string run, ReplayReport report)
    {
        var expectation = Expect(report, project, run);
        if (request.Body?["files"] is JsonObject files)
        {
            if (files["wandb-history.jsonl"] is JsonObject history && history["content"] is JsonArray lines)
            {
                var offset = history["offset"]?.GetValue<long>() ?? 0;
                expectation.HistoryLines = Math.Max(expectation.HistoryLines, offset + lines.Count);
                for (var i = 0; i < lines.Count; i++)
                {
                    expectation.HistoryByOffset[offset + i] = lines[i]!.GetValue<string>();
                }
            }
            if (files["wandb-summary.json"] is JsonObject summary && summary["content"] is JsonArray { Count: > 0 } summaryLines)
            {
                expectation.Summary = LenientJson.ParseObject(summaryLines[^1]!.GetValue<string>());
            }
        }
        if (request.Body?["complete"]?.GetValue<bool>() == true)
        {
            expectation.Completed = true;
            expectation.ExitCode = request.Body?["exitcode"]?.GetValue<int>();
        }
    }

    private static RunExpectation Expect(ReplayReport report, string project, string run)
    {
        var key = project + "/" + run;
        if (!report.Runs.TryGetValue(key, out var expectation))
        {
            expectation = new RunExpectation(project, run);
            report.Runs[key] = expectation;
        }
        return expectation;
    }
}
