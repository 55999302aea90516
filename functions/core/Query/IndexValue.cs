using System.Globalization;
using System.Text.Json;

namespace Weightless.Core.Query;

/// <summary>The kinds of value a run's filterable field can hold. <see cref="Missing"/> is the default: the field is absent.</summary>
internal enum IndexValueKind : byte
{
    Missing = 0,
    Null = 1,
    Number = 2,
    String = 3,
    Bool = 4,

    /// <summary>A list or an object kept whole; <see cref="IndexValue.Text"/> holds its JSON.</summary>
    Json = 5,
}

/// <summary>
/// One scalar of a run's config, summary or columns, as the run index keeps it. Numbers are doubles
/// (NaN and infinities included); dates are numbers (Unix milliseconds); bools compare as bools.
/// </summary>
internal readonly record struct IndexValue(IndexValueKind Kind, double Number, string? Text)
{
    public static readonly IndexValue Missing = default;
    public static readonly IndexValue Null = new(IndexValueKind.Null, 0, null);

    public static IndexValue Of(double number) => new(IndexValueKind.Number, number, null);

    public static IndexValue Of(string? text) => text is null ? Null : new(IndexValueKind.String, 0, text);

    public static IndexValue Of(bool value) => new(IndexValueKind.Bool, value ? 1 : 0, null);

    public static IndexValue OfJson(string json) => new(IndexValueKind.Json, 0, json);

    public static IndexValue OfDate(DateTimeOffset value) => Of(value.ToUnixTimeMilliseconds());

    public bool IsPresent => Kind != IndexValueKind.Missing;

    public bool Bool => Number != 0;

    /// <summary>
    /// The index value of a parsed JSON value (<see cref="History.TolerantJson"/> shapes: long, double,
    /// string, bool, null, lists and objects).
    /// </summary>
    public static IndexValue FromParsed(object? value) => value switch
    {
        null => Null,
        long l => Of(l),
        int i => Of(i),
        double d => Of(d),
        string s => Of(s),
        bool b => Of(b),
        _ => OfJson(JsonSerializer.Serialize(History.HistoryValues.ToNode(value), JsonOptions)),
    };

    /// <summary>The value of a JSON element (filter literals, request bodies).</summary>
    public static IndexValue FromElement(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Null or JsonValueKind.Undefined => Null,
        JsonValueKind.Number => Of(element.GetDouble()),
        JsonValueKind.String => Of(element.GetString()),
        JsonValueKind.True => Of(true),
        JsonValueKind.False => Of(false),
        _ => OfJson(element.GetRawText()),
    };

    /// <summary>The value as a plain CLR object for JSON output (NaN/infinities as strings, which JSON cannot hold).</summary>
    public object? ToPlain() => Kind switch
    {
        IndexValueKind.Number when double.IsFinite(Number) => Number == Math.Floor(Number) && Math.Abs(Number) < 9e15 ? (object)(long)Number : Number,
        IndexValueKind.Number => Number.ToString(CultureInfo.InvariantCulture),
        IndexValueKind.String => Text,
        IndexValueKind.Bool => Bool,
        IndexValueKind.Json => JsonDocument.Parse(Text!).RootElement.Clone(),
        _ => null,
    };

    /// <summary>Text for CSV cells and group labels.</summary>
    public string ToText() => Kind switch
    {
        IndexValueKind.Number => Number.ToString("R", CultureInfo.InvariantCulture),
        IndexValueKind.String or IndexValueKind.Json => Text!,
        IndexValueKind.Bool => Bool ? "true" : "false",
        IndexValueKind.Null => "null",
        _ => "",
    };

    /// <summary>
    /// The total order sorting and cursors use: numbers, then strings (ordinal), then bools, then JSON
    /// text, then null; missing values compare after everything (callers keep them last in both directions).
    /// </summary>
    public static int CompareForSort(in IndexValue a, in IndexValue b)
    {
        var rank = Rank(a.Kind).CompareTo(Rank(b.Kind));
        if (rank != 0)
        {
            return rank;
        }
        return a.Kind switch
        {
            IndexValueKind.Number => a.Number.CompareTo(b.Number),
            IndexValueKind.Bool => a.Number.CompareTo(b.Number),
            IndexValueKind.String or IndexValueKind.Json => string.CompareOrdinal(a.Text, b.Text),
            _ => 0,
        };
    }

    private static int Rank(IndexValueKind kind) => kind switch
    {
        IndexValueKind.Number => 0,
        IndexValueKind.String => 1,
        IndexValueKind.Bool => 2,
        IndexValueKind.Json => 3,
        IndexValueKind.Null => 4,
        _ => 5,
    };

    internal static readonly JsonSerializerOptions JsonOptions = new() { NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };
}
