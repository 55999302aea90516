using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Weightless.Core.Errors;
using Weightless.Core.History;

namespace Weightless.Core.Query;

/// <summary>
/// The compact M4 answer (<c>format=columns</c>): the same buckets as the JSON answer, as little-endian
/// Float64 columns a browser maps straight into <c>Float64Array</c>s (no per-bucket objects to build,
/// parse or collect). A chart of 400 series × 600 buckets is ~49 MB of JSON and ~18 MB of columns.
/// <para>Layout: bytes 0–3 <c>WM4C</c>; 4–7 the header length <c>h</c> (uint32); the UTF-8 JSON header
/// <c>{"xAxis","buckets","columns":[…],"series":[{"run","metric","source","count"}]}</c> padded with
/// spaces so the body starts at a multiple of 8; then per series, per column, <c>count</c> Float64s.
/// A bucket without a finite value has NaN in its point columns (the JSON answer leaves the points out).
/// Every value is exact: steps and counts are integers below 2^53.</para>
/// </summary>
internal static class M4Wire
{
    public const string Format = "columns";

    public const string ContentType = "application/vnd.weightless.m4-columns";

    private static ReadOnlySpan<byte> Magic => "WM4C"u8;

    /// <summary>Every column, in the order the body holds them when the caller names none.</summary>
    public static IReadOnlyList<string> AllColumns { get; } =
        ["start", "end", "count", "nonFinite", "firstX", "firstY", "lastX", "lastY", "minX", "minY", "maxX", "maxY"];

    /// <summary>The answer's format from the <c>format</c> parameter: null for JSON (the default), <see cref="Format"/> for columns.</summary>
    public static string? ParseFormat(string? format) => format switch
    {
        null or "json" => null,
        Format => Format,
        _ => throw new ValidationFailedException($"'format' must be 'json' or '{Format}'.", "format"),
    };

    /// <summary>The columns asked for (all when none), in the caller's order; an unknown one is a 400.</summary>
    public static IReadOnlyList<string> ParseColumns(IReadOnlyList<string>? requested)
    {
        if (requested is null || requested.Count == 0)
        {
            return AllColumns;
        }
        foreach (var column in requested)
        {
            if (!AllColumns.Contains(column, StringComparer.Ordinal))
            {
                throw new ValidationFailedException($"Unknown column '{column}'; columns are {string.Join(", ", AllColumns)}.", "columns");
            }
        }
        return requested.Distinct(StringComparer.Ordinal).ToList();
    }

    /// <summary>The columns answer of a JSON answer's buckets.</summary>
    public static byte[] Encode(M4ResponseDto response, IReadOnlyList<string> columns) => Encode(M4Result.From(response), columns);

    /// <summary>
    /// The columns answer, written straight from the engine's buckets into one buffer (no per-bucket objects:
    /// a first render's 200 series × 600 buckets would otherwise build 600,000 of them to read each once).
    /// </summary>
    public static byte[] Encode(M4Result response, IReadOnlyList<string> columns)
    {
        var header = new Header(
            response.XAxis,
            response.Buckets,
            columns,
            response.Series.Select(s => new SeriesHeader(s.Run, s.Metric, s.Source, s.Count)).ToList());
        var json = JsonSerializer.SerializeToUtf8Bytes(header, M4WireJsonContext.Default.Header);
        var headerLength = (json.Length + 7) / 8 * 8;
        var bodyStart = 8 + headerLength;
        var totalBuckets = response.Series.Sum(s => (long)s.Count);
        var bytes = new byte[bodyStart + (totalBuckets * columns.Count * sizeof(double))];
        Magic.CopyTo(bytes);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4), (uint)headerLength);
        json.CopyTo(bytes, 8);
        bytes.AsSpan(8 + json.Length, headerLength - json.Length).Fill((byte)' ');
        var selectors = columns.Select(Selector).ToArray();
        var body = bytes.AsSpan(bodyStart);
        var position = 0;
        foreach (var series in response.Series)
        {
            foreach (var select in selectors)
            {
                for (var i = 0; i < series.Count; i++)
                {
                    BinaryPrimitives.WriteDoubleLittleEndian(body[position..], select(series.Bucket(i)));
                    position += sizeof(double);
                }
            }
        }
        return bytes;
    }

    private static Func<M4WireBucket, double> Selector(string column) => column switch
    {
        "start" => b => b.Start,
        "end" => b => b.End,
        "count" => b => b.Count,
        "nonFinite" => b => b.NonFinite,
        "firstX" => b => b.First?.X ?? double.NaN,
        "firstY" => b => b.First?.Y ?? double.NaN,
        "lastX" => b => b.Last?.X ?? double.NaN,
        "lastY" => b => b.Last?.Y ?? double.NaN,
        "minX" => b => b.Min?.X ?? double.NaN,
        "minY" => b => b.Min?.Y ?? double.NaN,
        "maxX" => b => b.Max?.X ?? double.NaN,
        "maxY" => b => b.Max?.Y ?? double.NaN,
        _ => throw new ValidationFailedException($"Unknown column '{column}'.", "columns"),
    };

    internal sealed record SeriesHeader(string Run, string Metric, string Source, int Count);

    internal sealed record Header(string XAxis, int Buckets, IReadOnlyList<string> Columns, IReadOnlyList<SeriesHeader> Series);
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(M4Wire.Header))]
internal sealed partial class M4WireJsonContext : JsonSerializerContext;
