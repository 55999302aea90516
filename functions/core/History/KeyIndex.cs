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
    // Hash maps, not sorted ones: AddRow runs for every stored row (a dozen keys each), reads are rare.
    // Everything that lists keys or types sorts them (ordinal) on the way out.
    private readonly Dictionary<string, Dictionary<string, long>> _keys;

    public KeyIndex()
        : this(new Dictionary<string, Dictionary<string, long>>(StringComparer.Ordinal))
    {
    }

    private KeyIndex(Dictionary<string, Dictionary<string, long>> keys) => _keys = keys;

    public long? LastStep { get; set; }

    public int Count => _keys.Count;

    public IEnumerable<string> Keys => _keys.Keys.Order(StringComparer.Ordinal);

    public bool Contains(string key) => _keys.ContainsKey(key);

    /// <summary>The rows counted per type for a key, by type name (empty when never logged).</summary>
    public IReadOnlyDictionary<string, long> TypeCounts(string key) =>
        _keys.TryGetValue(key, out var counts)
            ? new SortedDictionary<string, long>(counts, StringComparer.Ordinal)
            : new SortedDictionary<string, long>(StringComparer.Ordinal);

    // The previous row's keys by position with their type counts. Rows of a run repeat the same keys
    // in the same order, and the reader hands out the same (interned) key strings line after line, so a
    // reference compare usually replaces the key's hash lookup.
    private string[] _lastKeys = [];
    private Dictionary<string, long>[] _lastCounts = [];

    /// <summary>Counts one row's flattened values; returns how many keys were new.</summary>
    public int AddRow(IReadOnlyDictionary<string, object?> flat)
    {
        if (_lastKeys.Length < flat.Count)
        {
            Array.Resize(ref _lastKeys, flat.Count);
            Array.Resize(ref _lastCounts, flat.Count);
        }
        var added = 0;
        var position = 0;
        // The two maps rows come as (HistoryValues.ParseRow) are walked with their struct enumerators:
        // through the interface every row would box one.
        switch (flat)
        {
            case JsonLineObject line:
                foreach (var (key, value) in line)
                {
                    added += CountValue(position++, key, value);
                }
                break;
            case Dictionary<string, object?> map:
                foreach (var (key, value) in map)
                {
                    added += CountValue(position++, key, value);
                }
                break;
            default:
                foreach (var (key, value) in flat)
                {
                    added += CountValue(position++, key, value);
                }
                break;
        }
        return added;
    }

    /// <summary>Counts one value of the key at <paramref name="position"/> in its row; 1 when the key is new.</summary>
    private int CountValue(int position, string key, object? value)
    {
        var added = 0;
        Dictionary<string, long>? counts;
        if (ReferenceEquals(_lastKeys[position], key))
        {
            counts = _lastCounts[position];
        }
        else
        {
            if (!_keys.TryGetValue(key, out counts))
            {
                counts = new Dictionary<string, long>(1, StringComparer.Ordinal);
                _keys[key] = counts;
                added = 1;
            }
            _lastKeys[position] = key;
            _lastCounts[position] = counts;
        }
        System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(counts, HistoryValues.TypeName(value), out _)++;
        return added;
    }

    /// <summary>The W&amp;B <c>historyKeys</c> JSON value.</summary>
    public JsonObject ToHistoryKeys()
    {
        var keys = new JsonObject();
        foreach (var key in Keys)
        {
            var typeCounts = new JsonArray();
            foreach (var (type, count) in TypeCounts(key))
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
            ? new Dictionary<string, Dictionary<string, long>>(StringComparer.Ordinal)
            : JsonSerializer.Deserialize<Dictionary<string, Dictionary<string, long>>>(json)!
                .ToDictionary(kv => kv.Key, kv => new Dictionary<string, long>(kv.Value, StringComparer.Ordinal), StringComparer.Ordinal))
        {
            LastStep = lastStep,
        };
}
