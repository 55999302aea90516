using System.Text.Json;
using System.Text.Json.Nodes;

namespace Weightless.EndToEnd.Tests.Traces;

/// <summary>
/// Structural comparison of a recorded answer with ours: every field path of the recorded answer
/// must exist in ours with the same JSON kind (object, array, string, number, boolean). Values are
/// not compared, so ids, timestamps, URLs and version strings may differ; a recorded <c>null</c>
/// accepts anything. Array items are compared as one merged item shape (rows of a history page
/// differ in keys but not in kind).
/// </summary>
internal static class JsonShape
{
    public static IReadOnlyList<string> Differences(JsonNode? recorded, JsonNode? ours)
    {
        var differences = new List<string>();
        Compare(recorded, ours, "$", differences);
        return differences;
    }

    /// <summary>
    /// Walks both answers side by side (arrays by index) and reports every recorded string that
    /// satisfies <paramref name="isRecordedUrl"/> with the string at the same place in ours.
    /// </summary>
    public static void PairStrings(JsonNode? recorded, JsonNode? ours, Func<string, bool> isRecordedUrl, Action<string, string?> pair)
    {
        switch (recorded)
        {
            case JsonObject obj:
                foreach (var (key, value) in obj)
                {
                    PairStrings(value, (ours as JsonObject)?[key], isRecordedUrl, pair);
                }
                break;
            case JsonArray array:
                for (var i = 0; i < array.Count; i++)
                {
                    PairStrings(array[i], ours is JsonArray theirs && i < theirs.Count ? theirs[i] : null, isRecordedUrl, pair);
                }
                break;
            case JsonValue value when value.GetValueKind() == JsonValueKind.String:
                var text = value.GetValue<string>();
                if (isRecordedUrl(text))
                {
                    pair(text, ours is JsonValue mine && mine.GetValueKind() == JsonValueKind.String ? mine.GetValue<string>() : null);
                }
                break;
        }
    }

    /// <summary>Every string anywhere in <paramref name="node"/>.</summary>
    public static IEnumerable<string> Strings(JsonNode? node) => node switch
    {
        JsonObject obj => obj.SelectMany(p => Strings(p.Value)),
        JsonArray array => array.SelectMany(Strings),
        JsonValue value when value.GetValueKind() == JsonValueKind.String => [value.GetValue<string>()],
        _ => [],
    };

    public static string Kind(JsonNode? node) => node switch
    {
        null => "null",
        JsonObject => "object",
        JsonArray => "array",
        JsonValue value => value.GetValueKind() switch
        {
            JsonValueKind.String => "string",
            JsonValueKind.Number => "number",
            JsonValueKind.True or JsonValueKind.False => "boolean",
            JsonValueKind.Null => "null",
            var other => other.ToString(),
        },
        _ => node.GetType().Name,
    };

    private static void Compare(JsonNode? recorded, JsonNode? ours, string path, List<string> differences)
    {
        var expectedKind = Kind(recorded);
        if (expectedKind == "null")
        {
            return;
        }
        var actualKind = Kind(ours);
        if (expectedKind != actualKind)
        {
            differences.Add($"{path}: recorded {expectedKind}, ours {actualKind}");
            return;
        }
        switch (recorded)
        {
            case JsonObject obj:
                var mine = (JsonObject)ours!;
                foreach (var (key, value) in obj)
                {
                    if (!mine.ContainsKey(key))
                    {
                        differences.Add($"{path}.{key}: missing in ours (recorded {Kind(value)})");
                        continue;
                    }
                    Compare(value, mine[key], $"{path}.{key}", differences);
                }
                break;
            case JsonArray array when array.Count > 0:
                var theirs = (JsonArray)ours!;
                if (theirs.Count == 0)
                {
                    differences.Add($"{path}: recorded {array.Count} item(s), ours none");
                    return;
                }
                Compare(Merge(array), Merge(theirs), path + "[]", differences);
                break;
        }
    }

    /// <summary>One item shape standing for all items: objects merged key by key, the first non-null otherwise.</summary>
    private static JsonNode? Merge(JsonArray items)
    {
        JsonNode? merged = null;
        foreach (var item in items)
        {
            merged = MergeInto(merged, item);
        }
        return merged;
    }

    private static JsonNode? MergeInto(JsonNode? into, JsonNode? item)
    {
        if (into is null)
        {
            return item?.DeepClone();
        }
        if (into is JsonObject target && item is JsonObject source)
        {
            foreach (var (key, value) in source)
            {
                if (!target.TryGetPropertyValue(key, out var existing))
                {
                    target[key] = value?.DeepClone();
                    continue;
                }
                var merged = MergeInto(existing, value);
                if (!ReferenceEquals(merged, existing))
                {
                    target[key] = merged;
                }
            }
            return target;
        }
        if (into is JsonArray targetArray && item is JsonArray sourceArray)
        {
            foreach (var value in sourceArray)
            {
                targetArray.Add(value?.DeepClone());
            }
            return targetArray;
        }
        return into;
    }
}
