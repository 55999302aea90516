using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Weightless.EndToEnd.Tests.Traces;

/// <summary>
/// What replaying artifact traffic needs beyond the run traffic: the ids our server assigns
/// (artifact, manifest, sequence, file ids) replace the recorded ones in every later request; the
/// manifest a client uploads names those ids (<c>birthArtifactID</c>), so it is rebuilt the way
/// Python writes it (checked against the recorded manifest's MD5 first) and its digest in
/// <c>CreateArtifactManifest</c> becomes ours; and the values a client relies on — artifact
/// digests, version indexes, states — must equal the recorded ones, not just have their shape.
/// </summary>
internal sealed class ArtifactReplay(Trace trace)
{
    private static readonly HashSet<string> ComparedValues = new(StringComparer.Ordinal) { "digest", "versionIndex", "state", "alias", "name" };

    /// <summary>Recorded id → the id our server answered at the same place.</summary>
    private readonly Dictionary<string, string> _ids = new(StringComparer.Ordinal);

    /// <summary>Recorded artifact id → its files as the client declared them (name, base64 MD5), in request order.</summary>
    private readonly Dictionary<string, List<(string Name, string Md5)>> _files = new(StringComparer.Ordinal);

    /// <summary>Recorded artifact id → the manifest bytes we uploaded for it.</summary>
    private readonly Dictionary<string, byte[]> _manifests = new(StringComparer.Ordinal);

    /// <summary>Recorded upload sizes by storage path (<c>/artifact/&lt;id&gt;/files/&lt;name&gt;</c>).</summary>
    private readonly Dictionary<string, long> _sizes = trace.Requests
        .Where(r => r.IsStorage && r.Method == "PUT" && r.Body?["bytes"] is not null)
        .GroupBy(r => Uri.UnescapeDataString(r.Path), StringComparer.Ordinal)
        .ToDictionary(g => g.Key, g => g.Last().Body!["bytes"]!.GetValue<long>(), StringComparer.Ordinal);

    /// <summary>Replaces recorded ids in request variables with ours.</summary>
    public JsonNode? Substitute(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (var key in obj.Select(p => p.Key).ToList())
                {
                    obj[key] = Substitute(obj[key]?.DeepClone());
                }
                return obj;
            case JsonArray array:
                for (var i = 0; i < array.Count; i++)
                {
                    array[i] = Substitute(array[i]?.DeepClone());
                }
                return array;
            case JsonValue value when value.GetValueKind() == JsonValueKind.String && _ids.TryGetValue(value.GetValue<string>(), out var ours):
                return JsonValue.Create(ours);
            default:
                return node;
        }
    }

    /// <summary>
    /// Before sending: <c>CreateArtifactManifest</c> with a digest announces the manifest about to
    /// be uploaded, so the manifest is rebuilt with our ids and its MD5 replaces the recorded one.
    /// Returns a problem, or null.
    /// </summary>
    public string? Prepare(RecordedGraphQL graphQL, JsonObject variables)
    {
        if (graphQL.Op != "CreateArtifactManifest" || graphQL.Variables["digest"]?.GetValue<string>() is not { Length: > 0 } recordedDigest)
        {
            return null;
        }
        var recordedId = graphQL.Variables["artifactID"]!.GetValue<string>();
        if (!_files.TryGetValue(recordedId, out var files))
        {
            return $"no CreateArtifactFiles was replayed for artifact {recordedId}, so its manifest cannot be rebuilt.";
        }
        var recordedManifest = Manifest(recordedId, files, id => id);
        if (recordedManifest is null || Md5(recordedManifest) != recordedDigest)
        {
            return $"the manifest rebuilt from the recorded files does not have the recorded MD5 {recordedDigest}: the replayer's manifest format is off.";
        }
        var ours = Manifest(recordedId, files, id => _ids.GetValueOrDefault(id, id))!;
        _manifests[recordedId] = ours;
        variables["digest"] = Md5(ours);
        return null;
    }

    /// <summary>After an answer: pairs recorded ids with ours, remembers declared files, and (artifact operations) compares the values clients rely on.</summary>
    public IEnumerable<string> Learn(RecordedGraphQL graphQL, JsonNode? recorded, JsonNode? ours)
    {
        var problems = new List<string>();
        var compareValues = graphQL.Op.Contains("Artifact", StringComparison.Ordinal) && !graphQL.Op.StartsWith("Probe", StringComparison.Ordinal);
        Walk(recorded, ours, "$", compareValues ? problems : []);
        if (graphQL.Op == "CreateArtifactFiles" && graphQL.Variables["artifactFiles"] is JsonArray specs)
        {
            foreach (var spec in specs.OfType<JsonObject>())
            {
                var id = spec["artifactID"]!.GetValue<string>();
                if (!_files.TryGetValue(id, out var list))
                {
                    _files[id] = list = [];
                }
                var name = spec["name"]!.GetValue<string>();
                list.RemoveAll(f => f.Name == name);
                list.Add((name, spec["md5"]!.GetValue<string>()));
            }
        }
        return problems;
    }

    /// <summary>
    /// The bytes to upload to a recorded artifact path: a manifest we rebuilt, or a table file the
    /// trace shows only as a cut preview, completed (<see cref="CompleteTable"/>); null for the rest.
    /// </summary>
    public byte[]? UploadBytes(TraceRequest request) =>
        ManifestOwner(request.Path) is { } id && _manifests.TryGetValue(id, out var bytes) ? bytes : CompleteTable(request);

    /// <summary>
    /// A <c>wandb.Table</c> logged by Python goes out twice: whole as the run's media file
    /// (<c>{"columns": …, "data": …}</c>) and as the <c>run_table</c> artifact's <c>.table.json</c>
    /// (<c>{"_type": "table", "column_types": …, "columns": …, "data": …, "ncols": n, "nrows": m}</c>,
    /// <c>json.dumps</c> separators), whose recorded preview stops before the columns. The artifact file
    /// is the preview followed by the media file's columns and data plus the counts; it is accepted
    /// only when its size and MD5 equal the recorded ones (Blob storage checks the MD5 on upload).
    /// </summary>
    private byte[]? CompleteTable(TraceRequest request)
    {
        const string columnsKey = "\"columns\"";
        var size = request.Body?["bytes"]?.GetValue<long>();
        var preview = request.Body?["preview"]?.GetValue<string>();
        var md5 = request.Body?["md5_b64"]?.GetValue<string>();
        if (request.Method != "PUT" || preview is null || md5 is null || !preview.StartsWith("{\"_type\": \"table\"", StringComparison.Ordinal) || !preview.EndsWith(columnsKey, StringComparison.Ordinal))
        {
            return null;
        }
        foreach (var media in trace.Requests.Where(r => r.IsStorage && r.Method == "PUT" && Uri.UnescapeDataString(r.Path).EndsWith(".table.json", StringComparison.Ordinal) && !r.Path.Contains("/artifact/", StringComparison.Ordinal)))
        {
            var text = media.Body?["preview"]?.GetValue<string>();
            if (text is null || Encoding.UTF8.GetByteCount(text) != media.Body?["bytes"]?.GetValue<long>() || JsonNode.Parse(text) is not JsonObject { } table
                || table["columns"] is not JsonArray columns || table["data"] is not JsonArray rows || !text.StartsWith("{" + columnsKey, StringComparison.Ordinal))
            {
                continue;
            }
            var whole = Encoding.UTF8.GetBytes(preview + text[(1 + columnsKey.Length)..^1] + $", \"ncols\": {columns.Count}, \"nrows\": {rows.Count}}}");
            if (whole.LongLength == size && Md5(whole) == md5)
            {
                return whole;
            }
        }
        return null;
    }

    /// <summary>A rebuilt manifest downloads with its own size, not the recorded one (our ids are longer).</summary>
    public long? DownloadBytes(TraceRequest request) =>
        UploadBytes(request)?.LongLength ?? request.RecordedDownloadBytes;

    private static string? ManifestOwner(string path)
    {
        var parts = Uri.UnescapeDataString(path).Split('/', StringSplitOptions.RemoveEmptyEntries);
        return parts is ["_fake_storage", "artifact", var id, "wandb_manifest.json"] ? id : null;
    }

    private void Walk(JsonNode? recorded, JsonNode? ours, string path, List<string> problems)
    {
        switch (recorded)
        {
            case JsonObject obj:
                foreach (var (key, value) in obj)
                {
                    var mine = (ours as JsonObject)?[key];
                    if (key == "id" && value is JsonValue rid && rid.GetValueKind() == JsonValueKind.String && mine is JsonValue oid && oid.GetValueKind() == JsonValueKind.String)
                    {
                        _ids[rid.GetValue<string>()] = oid.GetValue<string>();
                    }
                    else if (ComparedValues.Contains(key) && value is JsonValue expected && mine is JsonValue actual && expected.ToJsonString() != actual.ToJsonString())
                    {
                        problems.Add($"{path}.{key} is {actual.ToJsonString()}, recorded {expected.ToJsonString()}");
                    }
                    Walk(value, mine, $"{path}.{key}", problems);
                }
                break;
            case JsonArray array:
                for (var i = 0; i < array.Count; i++)
                {
                    Walk(array[i], ours is JsonArray theirs && i < theirs.Count ? theirs[i] : null, $"{path}[{i}]", problems);
                }
                break;
        }
    }

    /// <summary>The manifest as Python 0.16.6 writes it (<c>json.dumps(indent=4)</c>, entries sorted by path).</summary>
    private byte[]? Manifest(string recordedArtifactId, IReadOnlyList<(string Name, string Md5)> files, Func<string, string> id)
    {
        var text = new StringBuilder("{\n    \"version\": 1,\n    \"storagePolicy\": \"wandb-storage-policy-v1\",\n    \"storagePolicyConfig\": {\n        \"storageLayout\": \"V2\"\n    },\n    \"contents\": {");
        var first = true;
        foreach (var (name, md5) in files.OrderBy(f => f.Name, StringComparer.Ordinal))
        {
            if (!_sizes.TryGetValue($"/_fake_storage/artifact/{recordedArtifactId}/files/{name}", out var size))
            {
                return null;
            }
            text.Append(first ? "\n" : ",\n");
            first = false;
            text.Append($"        {JsonSerializer.Serialize(name)}: {{\n            \"digest\": \"{md5}\",\n            \"birthArtifactID\": \"{id(recordedArtifactId)}\",\n            \"size\": {size}\n        }}");
        }
        text.Append("\n    }\n}");
        return Encoding.UTF8.GetBytes(text.ToString());
    }

    private static string Md5(byte[] bytes) => Convert.ToBase64String(MD5.HashData(bytes));
}
