using System.Text.Json;
using System.Text.Json.Nodes;

namespace Weightless.Core.History;

/// <summary>
/// Every key a run has logged (flattened with dots) and how many rows held it with each value type
/// (<see cref="HistoryValues.TypeName"/>), plus the last step: the data behind W&amp;B's
/// <c>historyKeys</c> = <c>{"keys": {"loss": {"typeCounts": [{"type": "number", "count": 200}]}}, "lastStep": 199}</c>.
/// </summary>
internal sealed class KeyIndex
{
    private readonly SortedDictionary<string, SortedDictionary<string, long>> _keys;

    public KeyIndex()
        : this(new SortedDictionary<string, SortedDictionary<string, long>>(StringComparer.Ordinal))
    {
    }

    private KeyIndex(SortedDictionary<string, SortedDictionary<string, long>> keys) => _keys = keys;

    public long? LastStep { get; set; }

    public int Count => _keys.Count;

    public IEnumerable<string> Keys => _keys.Keys;

    public bool Contains(string key) => _keys.ContainsKey(key);

    /// <summary>The rows counted per type for a key (empty when never logged).</summary>
    public IReadOnlyDictionary<string, long> TypeCounts(string key) =>
        _keys.TryGetValue(key, out var counts) ? counts : new SortedDictionary<string, long>(StringComparer.Ordinal);

    /// <summary>Counts one row's flattened values; returns how many keys were new.</summary>
    public int AddRow(IReadOnlyDictionary<string, object?> flat)
    {
        var added = 0;
        foreach (var (key, value) in flat)
        {
            if (!_keys.TryGetValue(key, out var counts))
            {
                counts = new SortedDictionary<string, long>(StringComparer.Ordinal);
                _keys[key] = counts;
                added++;
            }
            var type = HistoryValues.TypeName(value);
            counts[type] = counts.GetValueOrDefault(type) + 1;
        }
        return added;
    }

    /// <summary>The W&amp;B <c>historyKeys</c> JSON value.</summary>
    public JsonObject ToHistoryKeys()
    {
        var keys = new JsonObject();
        foreach (var (key, counts) in _keys)
        {
            var typeCounts = new JsonArray();
            foreach (var (type, count) in counts)
            {
                typeCounts.Add(new JsonObject { ["type"] = type, ["count"] = count });
            }
            keys[key] = new JsonObject { ["typeCounts"] = typeCounts };
        }
        return new JsonObject { ["keys"] = keys, ["lastStep"] = LastStep is { } step ? JsonValue.Create(step) : null };
    }

    public byte[] Serialize() => JsonSerializer.SerializeToUtf8Bytes(_keys);

    public static KeyIndex Deserialize(ReadOnlySpan<byte> json, long? lastStep) =>
        new(json.IsEmpty
            ? new SortedDictionary<string, SortedDictionary<string, long>>(StringComparer.Ordinal)
            : new SortedDictionary<string, SortedDictionary<string, long>>(
                JsonSerializer.Deserialize<Dictionary<string, Dictionary<string, long>>>(json)!
                    .ToDictionary(kv => kv.Key, kv => new SortedDictionary<string, long>(kv.Value, StringComparer.Ordinal), StringComparer.Ordinal),
                StringComparer.Ordinal))
        {
            LastStep = lastStep,
        };
}
