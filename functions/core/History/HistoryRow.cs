using System.Text.Json.Nodes;

namespace Weightless.Core.History;

/// <summary>
/// One parsed history (or events) line. <see cref="Flat"/> maps dotted keys (<c>nested.grad.norm</c>)
/// to leaf values; nested objects are flattened unless they carry a <c>_type</c> (media, tables),
/// which stay whole as the references they are. <see cref="ToNested"/> gives the line's own shape.
/// Non-finite numbers are <see cref="double.NaN"/> / infinities; serialising <see cref="ToNested"/>
/// needs <c>JsonNumberHandling.AllowNamedFloatingPointLiterals</c>.
/// </summary>
internal sealed class HistoryRow
{
    public HistoryRow(long lineIndex, long? step, JsonLineObject source, IReadOnlyDictionary<string, object?> flat)
    {
        LineIndex = lineIndex;
        Step = step;
        Source = source;
        Flat = flat;
    }

    /// <summary>The line's index in its file (the file_stream offset of the line).</summary>
    public long LineIndex { get; }

    /// <summary>The row's <c>_step</c> (history) or null (events, or a history line without a usable step).</summary>
    public long? Step { get; }

    public JsonLineObject Source { get; }

    public IReadOnlyDictionary<string, object?> Flat { get; }

    public JsonObject ToNested() => (JsonObject)HistoryValues.ToNode(Source)!;
}

/// <summary>Flattening, typing and numeric views of history values.</summary>
internal static class HistoryValues
{
    public const string StepKey = "_step";

    /// <summary>Parses a line into a row; null when the line is not a JSON object.</summary>
    public static HistoryRow? ParseRow(long lineIndex, string line)
    {
        if (!TolerantJson.TryParse(line, out var value) || value is not JsonLineObject source)
        {
            return null;
        }
        // Most rows have no nested objects: then the parsed object already is the flat view (same
        // keys, order and values), and building a second map per row would only cost time.
        if (!HasNested(source))
        {
            return new HistoryRow(lineIndex, ReadStep(source), source, source);
        }
        var flat = new Dictionary<string, object?>(StringComparer.Ordinal);
        Flatten(source, null, flat);
        return new HistoryRow(lineIndex, ReadStep(source), source, flat);
    }

    /// <summary>
    /// The row's <c>_step</c> when it is a non-negative integer (W&amp;B steps are); anything else
    /// (missing, fractional, negative, a string) gives null and the row takes no part in step queries.
    /// </summary>
    public static long? ReadStep(JsonLineObject source) =>
        source.TryGetValue(StepKey, out var step) switch
        {
            false => null,
            true => step switch
            {
                long l when l >= 0 => l,
                double d when d >= 0 && d <= long.MaxValue && Math.Floor(d) == d => (long)d,
                _ => null,
            },
        };

    private static bool HasNested(JsonLineObject source)
    {
        foreach (var (_, value) in source)
        {
            if (value is JsonLineObject nested && nested.MediaType is null)
            {
                return true;
            }
        }
        return false;
    }

    public static void Flatten(JsonLineObject source, string? prefix, IDictionary<string, object?> into)
    {
        foreach (var (key, value) in source)
        {
            var name = prefix is null ? key : prefix + "." + key;
            if (value is JsonLineObject nested && nested.MediaType is null)
            {
                Flatten(nested, name, into);
            }
            else
            {
                into[name] = value;
            }
        }
    }

    /// <summary>
    /// The W&amp;B <c>historyKeys</c> type name of a value: <c>number</c> (NaN and infinities included),
    /// <c>string</c>, <c>boolean</c>, <c>list</c>, <c>nil</c>, or a media object's <c>_type</c>
    /// (<c>image-file</c>, <c>table-file</c>, ...); an untyped object left unflattened is <c>object</c>.
    /// </summary>
    public static string TypeName(object? value) => value switch
    {
        null => "nil",
        long or double => "number",
        string => "string",
        bool => "boolean",
        List<object?> => "list",
        JsonLineObject o => o.MediaType ?? "object",
        _ => "object",
    };

    /// <summary>The value as a chartable number (NaN/infinities included), or null when it is not a number.</summary>
    public static double? AsNumber(object? value) => value switch
    {
        long l => l,
        double d => d,
        _ => null,
    };

    public static JsonNode? ToNode(object? value) => value switch
    {
        null => null,
        bool b => JsonValue.Create(b),
        long l => JsonValue.Create(l),
        double d => JsonValue.Create(d),
        string s => JsonValue.Create(s),
        JsonLineObject o => new JsonObject(o.Select(kv => new KeyValuePair<string, JsonNode?>(kv.Key, ToNode(kv.Value)))),
        List<object?> list => new JsonArray(list.Select(ToNode).ToArray()),
        _ => throw new InvalidOperationException("Unexpected value type " + value.GetType()),
    };

    /// <summary>An approximate serialized size of a value in UTF-8 bytes (for the per-value limit).</summary>
    public static long ApproximateSize(object? value) => value switch
    {
        null => 4,
        bool => 5,
        long or double => 24,
        string s => System.Text.Encoding.UTF8.GetByteCount(s) + 2,
        JsonLineObject o => o.Sum(kv => kv.Key.Length + 4 + ApproximateSize(kv.Value)) + 2,
        List<object?> list => list.Sum(v => ApproximateSize(v) + 1) + 2,
        _ => 0,
    };
}
