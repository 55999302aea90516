using System.Text;
using System.Text.Json;
using Weightless.Core.Errors;

namespace Weightless.Core.Runs;

/// <summary>
/// Config and summary JSON as the clients send it. Python writes bare <c>NaN</c>/<c>Infinity</c>,
/// which System.Text.Json rejects, and values must come back exactly as sent. So documents are
/// inspected on a copy where those tokens are replaced by numbers of the same length
/// (<c>0e0</c>, <c>1e000000</c>, <c>-1e000000</c>): offsets stay valid and every value is sliced
/// out of the original text, never re-serialised.
/// </summary>
internal static class RunJson
{
    /// <summary>Config documents larger than this are refused.</summary>
    public const int MaxConfigChars = 10 * 1024 * 1024;

    /// <summary>Summary documents larger than this are refused.</summary>
    public const int MaxSummaryChars = 10 * 1024 * 1024;

    /// <summary>
    /// The config in W&amp;B's wrapped form <c>{"key": {"desc": null, "value": …}}</c>. A document
    /// whose every top-level value is an object with a <c>value</c> member is already wrapped
    /// (Python, Go) and kept verbatim; anything else is a raw dict (JS) and each key is wrapped.
    /// </summary>
    public static string NormaliseConfig(string text, string field = "config")
    {
        if (text.Length > MaxConfigChars)
        {
            throw new TooLargeException($"The config is {text.Length} characters; at most {MaxConfigChars} are accepted.", field);
        }
        var original = Encoding.UTF8.GetBytes(text);
        var sanitized = Sanitize(original);
        var members = ReadTopLevel(sanitized, field);
        var wrapped = true;
        foreach (var (_, start, end) in members)
        {
            if (!IsWrappedValue(sanitized.AsSpan(start, end - start)))
            {
                wrapped = false;
                break;
            }
        }
        if (wrapped)
        {
            return text.Trim();
        }
        var builder = new StringBuilder(text.Length + members.Count * 32);
        builder.Append('{');
        for (var i = 0; i < members.Count; i++)
        {
            var (name, start, end) = members[i];
            if (i > 0)
            {
                builder.Append(", ");
            }
            builder.Append(JsonSerializer.Serialize(name)).Append(": {\"desc\": null, \"value\": ");
            builder.Append(Encoding.UTF8.GetString(original, start, end - start)).Append('}');
        }
        builder.Append('}');
        return builder.ToString();
    }

    /// <summary>Checks that <paramref name="text"/> is one JSON object (NaN and Infinity allowed) and returns it trimmed.</summary>
    public static string RequireObject(string text, string field, int maxChars)
    {
        if (text.Length > maxChars)
        {
            throw new TooLargeException($"'{field}' is {text.Length} characters; at most {maxChars} are accepted.", field);
        }
        ReadTopLevel(Sanitize(Encoding.UTF8.GetBytes(text)), field);
        return text.Trim();
    }

    /// <summary>
    /// <c>wandbConfig(keys)</c>: the members <paramref name="keys"/> of the config's
    /// <c>_wandb.value</c> object, as a JSON object text.
    /// </summary>
    public static string WandbConfig(string? config, IReadOnlyCollection<string>? keys)
    {
        if (string.IsNullOrEmpty(config))
        {
            return "{}";
        }
        var original = Encoding.UTF8.GetBytes(config);
        using var document = JsonDocument.Parse(Sanitize(original));
        if (document.RootElement.ValueKind != JsonValueKind.Object
            || !document.RootElement.TryGetProperty("_wandb", out var wandb)
            || wandb.ValueKind != JsonValueKind.Object
            || !wandb.TryGetProperty("value", out var value)
            || value.ValueKind != JsonValueKind.Object)
        {
            return "{}";
        }
        var builder = new StringBuilder("{");
        foreach (var member in value.EnumerateObject())
        {
            if (keys is { Count: > 0 } && !keys.Contains(member.Name))
            {
                continue;
            }
            if (builder.Length > 1)
            {
                builder.Append(", ");
            }
            builder.Append(JsonSerializer.Serialize(member.Name)).Append(": ").Append(member.Value.GetRawText());
        }
        return builder.Append('}').ToString();
    }

    /// <summary>
    /// A copy of <paramref name="utf8"/> with bare <c>NaN</c>, <c>Infinity</c> and <c>-Infinity</c>
    /// outside strings replaced by valid numbers of the same byte length.
    /// </summary>
    internal static byte[] Sanitize(byte[] utf8)
    {
        var copy = (byte[])utf8.Clone();
        var inString = false;
        for (var i = 0; i < copy.Length; i++)
        {
            var b = copy[i];
            if (inString)
            {
                if (b == '\\')
                {
                    i++;
                }
                else if (b == '"')
                {
                    inString = false;
                }
                continue;
            }
            if (b == '"')
            {
                inString = true;
            }
            else if (b == 'N' && Matches(copy, i, "NaN"))
            {
                Write(copy, i, "0e0");
                i += 2;
            }
            else if (b == 'I' && Matches(copy, i, "Infinity"))
            {
                Write(copy, i, "1e000000");
                i += 7;
            }
            else if (b == '-' && Matches(copy, i, "-Infinity"))
            {
                Write(copy, i, "-1e000000");
                i += 8;
            }
        }
        return copy;
    }

    /// <summary>The top-level members of an object: name and the byte range of the value.</summary>
    private static List<(string Name, int Start, int End)> ReadTopLevel(byte[] sanitized, string field)
    {
        var members = new List<(string, int, int)>();
        try
        {
            var reader = new Utf8JsonReader(sanitized, new JsonReaderOptions { MaxDepth = 256, CommentHandling = JsonCommentHandling.Disallow });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw new ValidationFailedException($"'{field}' must be a JSON object.", field);
            }
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var name = reader.GetString()!;
                reader.Read();
                var start = (int)reader.TokenStartIndex;
                reader.Skip();
                members.Add((name, start, (int)reader.BytesConsumed));
            }
            if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
            {
                throw new ValidationFailedException($"'{field}' must be a single JSON object.", field);
            }
        }
        catch (JsonException ex)
        {
            throw new ValidationFailedException($"'{field}' is not valid JSON: {ex.Message.Split(" LineNumber")[0]}", field);
        }
        return members;
    }

    private static bool IsWrappedValue(ReadOnlySpan<byte> value)
    {
        var reader = new Utf8JsonReader(value);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return false;
        }
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("value"u8))
            {
                return true;
            }
            reader.Read();
            reader.Skip();
        }
        return false;
    }

    private static bool Matches(byte[] bytes, int at, string token)
    {
        if (at + token.Length > bytes.Length)
        {
            return false;
        }
        for (var i = 0; i < token.Length; i++)
        {
            if (bytes[at + i] != token[i])
            {
                return false;
            }
        }
        return true;
    }

    private static void Write(byte[] bytes, int at, string replacement)
    {
        for (var i = 0; i < replacement.Length; i++)
        {
            bytes[at + i] = (byte)replacement[i];
        }
    }
}
