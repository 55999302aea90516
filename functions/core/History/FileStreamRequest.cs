using System.Text;
using System.Text.Json;
using Weightless.Core.Errors;

namespace Weightless.Core.History;

/// <summary>One file of a file_stream post: lines starting at line <see cref="Offset"/> of the file.</summary>
internal sealed record FileStreamFile(string Name, long Offset, IReadOnlyList<string> Content);

/// <summary>
/// The body of <c>POST /files/{entity}/{project}/{run}/file_stream</c>, validated. Unknown fields are
/// ignored (clients add them across versions); a field of the wrong type is a
/// <see cref="ValidationFailedException"/> naming it (<c>files.wandb-history.jsonl.offset</c>), and the
/// size limits (W&amp;B: one value under 1 MB, one log call under 25 MB) raise
/// <see cref="TooLargeException"/> before anything is stored.
/// </summary>
internal sealed class FileStreamRequest
{
    public const string HistoryFile = "wandb-history.jsonl";
    public const string SummaryFile = "wandb-summary.json";
    public const string EventsFile = "wandb-events.jsonl";
    public const string OutputFile = "output.log";

    /// <summary>Largest single value (a media reference is exempt, as in W&amp;B).</summary>
    public const long MaxValueBytes = 1024 * 1024;

    /// <summary>Largest post, measured on the body (or on the content lines when given a parsed document).</summary>
    public const long MaxPostBytes = 25L * 1024 * 1024;

    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 64 };

    public IReadOnlyDictionary<string, FileStreamFile> Files { get; private init; } = new Dictionary<string, FileStreamFile>();

    public bool Complete { get; private init; }

    public int? ExitCode { get; private init; }

    public bool Failed { get; private init; }

    public long Dropped { get; private init; }

    public IReadOnlyList<string> Uploaded { get; private init; } = [];

    public bool Preempting { get; private init; }

    public FileStreamFile? File(string name) => Files.GetValueOrDefault(name);

    /// <summary>True when some file carries at least one line (an empty post is a heartbeat).</summary>
    public bool HasContent
    {
        get
        {
            foreach (var file in Files.Values)
            {
                if (file.Content.Count > 0)
                {
                    return true;
                }
            }
            return false;
        }
    }

    public static async Task<FileStreamRequest> ParseAsync(Stream body, CancellationToken cancellationToken = default)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await body.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > MaxPostBytes)
            {
                throw new TooLargeException($"A file_stream post may be at most {MaxPostBytes / (1024 * 1024)} MiB.", "body");
            }
            buffer.Write(chunk, 0, read);
        }
        return Parse(buffer.GetBuffer().AsMemory(0, (int)buffer.Length));
    }

    public static FileStreamRequest Parse(Stream body) => ParseAsync(body).GetAwaiter().GetResult();

    public static FileStreamRequest Parse(ReadOnlyMemory<byte> utf8)
    {
        if (utf8.Length > MaxPostBytes)
        {
            throw new TooLargeException($"A file_stream post may be at most {MaxPostBytes / (1024 * 1024)} MiB.", "body");
        }
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(utf8, DocumentOptions);
        }
        catch (JsonException ex)
        {
            throw new ValidationFailedException("The body is not valid JSON: " + ex.Message, "body");
        }
        using (document)
        {
            return Parse(document);
        }
    }

    public static FileStreamRequest Parse(JsonDocument document) => Parse(document.RootElement);

    public static FileStreamRequest Parse(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new ValidationFailedException("The body must be a JSON object.", "body");
        }
        var files = new Dictionary<string, FileStreamFile>(StringComparer.Ordinal);
        var uploaded = new List<string>();
        bool complete = false, failed = false, preempting = false;
        int? exitCode = null;
        long dropped = 0;
        long totalBytes = 0;
        foreach (var property in root.EnumerateObject())
        {
            switch (property.Name)
            {
                case "files":
                    if (property.Value.ValueKind == JsonValueKind.Null)
                    {
                        break;
                    }
                    if (property.Value.ValueKind != JsonValueKind.Object)
                    {
                        throw new ValidationFailedException("'files' must be an object of file name to {offset, content}.", "files");
                    }
                    foreach (var file in property.Value.EnumerateObject())
                    {
                        var parsed = ParseFile(file.Name, file.Value, ref totalBytes);
                        files[file.Name] = parsed;
                    }
                    break;
                case "complete":
                    complete = Boolean(property.Value, "complete");
                    break;
                case "failed":
                    failed = Boolean(property.Value, "failed");
                    break;
                case "preempting":
                    preempting = Boolean(property.Value, "preempting");
                    break;
                case "exitcode":
                    if (property.Value.ValueKind != JsonValueKind.Null)
                    {
                        exitCode = property.Value.ValueKind == JsonValueKind.Number && property.Value.TryGetInt32(out var code)
                            ? code
                            : throw new ValidationFailedException("'exitcode' must be an integer or null.", "exitcode");
                    }
                    break;
                case "dropped":
                    if (property.Value.ValueKind != JsonValueKind.Null)
                    {
                        dropped = property.Value.ValueKind == JsonValueKind.Number && property.Value.TryGetInt64(out var count) && count >= 0
                            ? count
                            : throw new ValidationFailedException("'dropped' must be a non-negative integer.", "dropped");
                    }
                    break;
                case "uploaded":
                    if (property.Value.ValueKind == JsonValueKind.Null)
                    {
                        break;
                    }
                    if (property.Value.ValueKind != JsonValueKind.Array)
                    {
                        throw new ValidationFailedException("'uploaded' must be an array of file names.", "uploaded");
                    }
                    var index = 0;
                    foreach (var name in property.Value.EnumerateArray())
                    {
                        uploaded.Add(name.ValueKind == JsonValueKind.String
                            ? name.GetString()!
                            : throw new ValidationFailedException("'uploaded' must hold file names (strings).", $"uploaded[{index}]"));
                        index++;
                    }
                    break;
            }
        }
        if (totalBytes > MaxPostBytes && ExactBytes(files) > MaxPostBytes)
        {
            throw new TooLargeException($"A file_stream post may carry at most {MaxPostBytes / (1024 * 1024)} MiB of lines.", "files");
        }
        return new FileStreamRequest
        {
            Files = files,
            Complete = complete,
            Failed = failed,
            Preempting = preempting,
            ExitCode = exitCode,
            Dropped = dropped,
            Uploaded = uploaded,
        };
    }

    private static FileStreamFile ParseFile(string name, JsonElement value, ref long totalBytes)
    {
        var field = "files." + name;
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw new ValidationFailedException($"'{field}' must be an object with 'offset' and 'content'.", field);
        }
        long offset = 0;
        var lines = new List<string>();
        foreach (var property in value.EnumerateObject())
        {
            switch (property.Name)
            {
                case "offset":
                    if (property.Value.ValueKind != JsonValueKind.Number || !property.Value.TryGetInt64(out offset))
                    {
                        throw new ValidationFailedException($"'{field}.offset' must be an integer line number.", field + ".offset");
                    }
                    if (offset < 0)
                    {
                        throw new ValidationFailedException($"'{field}.offset' must not be negative.", field + ".offset");
                    }
                    break;
                case "content":
                    if (property.Value.ValueKind == JsonValueKind.Null)
                    {
                        break;
                    }
                    if (property.Value.ValueKind != JsonValueKind.Array)
                    {
                        throw new ValidationFailedException($"'{field}.content' must be an array of lines (strings).", field + ".content");
                    }
                    lines.EnsureCapacity(lines.Count + property.Value.GetArrayLength());
                    var index = 0;
                    foreach (var line in property.Value.EnumerateArray())
                    {
                        if (line.ValueKind != JsonValueKind.String)
                        {
                            var lineField = LineField(field, index);
                            throw new ValidationFailedException($"'{lineField}' must be a string.", lineField);
                        }
                        var text = line.GetString()!;
                        // The escaped text between the quotes is never shorter than the UTF-8 of the line it
                        // stands for, so it bounds the line's size without counting it (the exact count is
                        // needed only near the limits).
                        long bytes = System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(line).Length - 2;
                        if (bytes > MaxValueBytes)
                        {
                            bytes = Encoding.UTF8.GetByteCount(text);
                            if (bytes > MaxValueBytes)
                            {
                                CheckValueSizes(name, text, bytes, LineField(field, index));
                            }
                        }
                        totalBytes += bytes;
                        lines.Add(text);
                        index++;
                    }
                    break;
            }
        }
        return new FileStreamFile(name, offset, lines);
    }

    /// <summary>The UTF-8 size of every line (<see cref="ParseFile"/> sums upper bounds).</summary>
    private static long ExactBytes(Dictionary<string, FileStreamFile> files)
    {
        long bytes = 0;
        foreach (var file in files.Values)
        {
            foreach (var line in file.Content)
            {
                bytes += Encoding.UTF8.GetByteCount(line);
            }
        }
        return bytes;
    }

    private static string LineField(string field, int index) => $"{field}.content[{index}]";

    /// <summary>
    /// A line over 1 MiB is only accepted when it is JSON whose every value (media references
    /// excepted) is under the per-value limit; the error names the offending key.
    /// </summary>
    private static void CheckValueSizes(string file, string text, long bytes, string lineField)
    {
        var isJson = file.EndsWith(".json", StringComparison.Ordinal) || file.EndsWith(".jsonl", StringComparison.Ordinal);
        if (!isJson || !TolerantJson.TryParse(text, out var value) || value is not JsonLineObject row)
        {
            throw new TooLargeException($"'{lineField}' is {bytes} bytes; one value may be at most {MaxValueBytes / 1024} KiB.", lineField);
        }
        var flat = new Dictionary<string, object?>(StringComparer.Ordinal);
        HistoryValues.Flatten(row, null, flat);
        foreach (var (key, leaf) in flat)
        {
            if (leaf is JsonLineObject { MediaType: not null })
            {
                continue;
            }
            var size = HistoryValues.ApproximateSize(leaf);
            if (size > MaxValueBytes)
            {
                throw new TooLargeException($"'{lineField}.{key}' is about {size} bytes; one value may be at most {MaxValueBytes / 1024} KiB.", $"{lineField}.{key}");
            }
        }
    }

    private static bool Boolean(JsonElement value, string field) => value.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False or JsonValueKind.Null => false,
        _ => throw new ValidationFailedException($"'{field}' must be true or false.", field),
    };
}
