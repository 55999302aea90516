using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Weightless.Core.History;

namespace Weightless.Core.Query;

/// <summary>
/// Converts the parsed-JSON shapes of <see cref="TolerantJson"/> (long, double, string, bool, null,
/// <see cref="JsonLineObject"/>, lists) to text and to API values, keeping what JSON cannot hold:
/// <see cref="Write"/> emits NaN/Infinity as the bare tokens the wandb client writes (so a document
/// read, edited and written back is unchanged); <see cref="ToApiNode"/> turns them into strings for
/// strict-JSON answers.
/// </summary>
internal static class JsonText
{
    public static string Write(object? value)
    {
        var builder = new StringBuilder();
        Write(builder, value);
        return builder.ToString();
    }

    public static void Write(StringBuilder builder, object? value)
    {
        switch (value)
        {
            case null:
                builder.Append("null");
                break;
            case bool b:
                builder.Append(b ? "true" : "false");
                break;
            case long l:
                builder.Append(l.ToString(CultureInfo.InvariantCulture));
                break;
            case double d:
                builder.Append(double.IsNaN(d) ? "NaN" : double.IsPositiveInfinity(d) ? "Infinity" : double.IsNegativeInfinity(d) ? "-Infinity" : FormatDouble(d));
                break;
            case string s:
                builder.Append(JsonSerializer.Serialize(s));
                break;
            case JsonLineObject o:
                builder.Append('{');
                var first = true;
                foreach (var (key, child) in o)
                {
                    if (!first)
                    {
                        builder.Append(", ");
                    }
                    first = false;
                    builder.Append(JsonSerializer.Serialize(key)).Append(": ");
                    Write(builder, child);
                }
                builder.Append('}');
                break;
            case List<object?> list:
                builder.Append('[');
                for (var i = 0; i < list.Count; i++)
                {
                    if (i > 0)
                    {
                        builder.Append(", ");
                    }
                    Write(builder, list[i]);
                }
                builder.Append(']');
                break;
            default:
                throw new InvalidOperationException("Unexpected value type " + value.GetType());
        }
    }

    /// <summary>A double as JSON keeps it: round-trippable, and visibly a float (1.0 stays 1.0).</summary>
    private static string FormatDouble(double d)
    {
        var text = d.ToString("R", CultureInfo.InvariantCulture);
        return text.Contains('.', StringComparison.Ordinal) || text.Contains('E', StringComparison.Ordinal) ? text : text + ".0";
    }

    /// <summary>A strict-JSON node of a parsed value: NaN and infinities become the strings "NaN", "Infinity", "-Infinity".</summary>
    public static JsonNode? ToApiNode(object? value) => value switch
    {
        null => null,
        bool b => JsonValue.Create(b),
        long l => JsonValue.Create(l),
        double d when double.IsFinite(d) => JsonValue.Create(d),
        double d => JsonValue.Create(double.IsNaN(d) ? "NaN" : d > 0 ? "Infinity" : "-Infinity"),
        string s => JsonValue.Create(s),
        JsonLineObject o => new JsonObject(o.Select(kv => new KeyValuePair<string, JsonNode?>(kv.Key, ToApiNode(kv.Value)))),
        List<object?> list => new JsonArray(list.Select(ToApiNode).ToArray()),
        _ => throw new InvalidOperationException("Unexpected value type " + value.GetType()),
    };

    /// <summary>Parses tolerant JSON text (NaN allowed) to an object, or an empty object when it is not one.</summary>
    public static JsonLineObject ParseObject(string? json) =>
        !string.IsNullOrWhiteSpace(json) && TolerantJson.TryParse(json, out var parsed) && parsed is JsonLineObject o ? o : new JsonLineObject();

    /// <summary>A request's JSON element in the parsed shapes.</summary>
    public static object? FromElement(JsonElement element) =>
        TolerantJson.TryParse(element.GetRawText(), out var parsed) ? parsed : null;
}
