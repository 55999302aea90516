using System.Text;
using System.Text.Json.Nodes;

namespace Weightless.EndToEnd.Tests.Infrastructure;

/// <summary>
/// Reads the JSON the W&amp;B clients write into history and summary lines, which may hold the bare
/// tokens <c>NaN</c>, <c>Infinity</c> and <c>-Infinity</c>. They become the strings
/// <c>"NaN"</c>, <c>"Infinity"</c>, <c>"-Infinity"</c>, so two lines compare equal exactly when
/// they hold the same values.
/// </summary>
internal static class LenientJson
{
    public static JsonNode? Parse(string text) => JsonNode.Parse(QuoteNonFiniteNumbers(text));

    public static JsonObject ParseObject(string text) =>
        Parse(text) as JsonObject ?? throw new FormatException("Expected a JSON object: " + Shorten(text));

    /// <summary>Semantic equality of two lines (key order and number spelling do not matter).</summary>
    public static bool SameValue(string left, string right) => JsonNode.DeepEquals(Normalize(Parse(left)), Normalize(Parse(right)));

    public static string Shorten(string text, int max = 300) => text.Length <= max ? text : text[..max] + $"…({text.Length} chars)";

    private static string QuoteNonFiniteNumbers(string text)
    {
        var result = new StringBuilder(text.Length + 16);
        var inString = false;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (inString)
            {
                result.Append(c);
                if (c == '\\' && i + 1 < text.Length)
                {
                    result.Append(text[++i]);
                }
                else if (c == '"')
                {
                    inString = false;
                }
                continue;
            }
            if (c == '"')
            {
                inString = true;
                result.Append(c);
                continue;
            }
            var token = Match(text, i, "-Infinity") ?? Match(text, i, "Infinity") ?? Match(text, i, "NaN");
            if (token is not null)
            {
                result.Append('"').Append(token).Append('"');
                i += token.Length - 1;
                continue;
            }
            result.Append(c);
        }
        return result.ToString();
    }

    private static string? Match(string text, int at, string token) =>
        string.CompareOrdinal(text, at, token, 0, token.Length) == 0 ? token : null;

    /// <summary>Numbers compared by value (<c>1</c> equals <c>1.0</c>); objects by key set.</summary>
    private static JsonNode? Normalize(JsonNode? node) => node switch
    {
        JsonObject obj => new JsonObject(obj.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => KeyValuePair.Create(p.Key, Normalize(p.Value)))),
        JsonArray array => new JsonArray(array.Select(Normalize).ToArray()),
        JsonValue value when value.GetValueKind() == System.Text.Json.JsonValueKind.Number => JsonValue.Create(value.GetValue<double>()),
        _ => node?.DeepClone(),
    };
}
