using System.Globalization;
using System.Numerics;
using System.Text.Json;
using GraphQL.Types;
using GraphQLParser.AST;
using Weightless.Core.Runs;

namespace Weightless.Core.GraphQL;

/// <summary>
/// W&amp;B's <c>JSONString</c>: JSON text carried in a string. Input may also be a JSON object or
/// list (some clients send the value itself), which becomes its JSON text. Text is not
/// re-serialised, so Python's bare NaN/Infinity survive; the resolvers that need an object check it.
/// </summary>
internal sealed class JsonStringGraphType : ScalarGraphType
{
    public JsonStringGraphType()
    {
        Name = "JSONString";
        Description = "JSON text in a string.";
    }

    public override object? ParseValue(object? value) => value switch
    {
        null => null,
        string text => text,
        JsonElement element => element.ValueKind == JsonValueKind.String ? element.GetString() : element.GetRawText(),
        _ => JsonSerializer.Serialize(value),
    };

    public override object? ParseLiteral(GraphQLValue value) => value switch
    {
        GraphQLNullValue => null,
        GraphQLStringValue text => (string)text.Value,
        GraphQLObjectValue or GraphQLListValue or GraphQLIntValue or GraphQLFloatValue or GraphQLBooleanValue => JsonSerializer.Serialize(LiteralToObject(value)),
        _ => ThrowLiteralConversionError(value),
    };

    public override object? Serialize(object? value) => value switch
    {
        null => null,
        string text => text,
        _ => JsonSerializer.Serialize(value),
    };

    public override bool CanParseValue(object? value) => true;

    internal static object? LiteralToObject(GraphQLValue value) => value switch
    {
        GraphQLNullValue => null,
        GraphQLStringValue s => (string)s.Value,
        GraphQLBooleanValue b => b.BoolValue,
        GraphQLIntValue i => BigInteger.Parse(i.Value.Span, CultureInfo.InvariantCulture) is var big && big >= long.MinValue && big <= long.MaxValue ? (object)(long)big : (double)big,
        GraphQLFloatValue f => double.Parse(f.Value.Span, CultureInfo.InvariantCulture),
        GraphQLEnumValue e => (string)e.Name.Value,
        GraphQLListValue list => list.Values?.Select(LiteralToObject).ToList() ?? [],
        GraphQLObjectValue obj => obj.Fields?.ToDictionary(f => (string)f.Name.Value, f => LiteralToObject(f.Value)) ?? [],
        _ => null,
    };
}

/// <summary>W&amp;B's <c>JSON</c>: a raw JSON value (<c>historyKeys</c>, <c>cliVersionInfo</c>, <c>sampledHistory</c> rows).</summary>
internal sealed class JsonGraphType : ScalarGraphType
{
    public JsonGraphType()
    {
        Name = "JSON";
        Description = "A JSON value.";
    }

    public override object? ParseValue(object? value) => value;

    public override object? ParseLiteral(GraphQLValue value) => JsonStringGraphType.LiteralToObject(value);

    public override object? Serialize(object? value) => value;

    public override bool CanParseValue(object? value) => true;
}

/// <summary>W&amp;B's <c>Int64</c> (steps, sizes, TTLs). Accepts numbers and numeric strings.</summary>
internal sealed class Int64GraphType : ScalarGraphType
{
    public Int64GraphType()
    {
        Name = "Int64";
        Description = "A 64-bit integer.";
    }

    public override object? ParseValue(object? value) => value switch
    {
        null => null,
        long l => l,
        int i => (long)i,
        short s => (long)s,
        byte b => (long)b,
        ulong u when u <= long.MaxValue => (long)u,
        uint u => (long)u,
        BigInteger big when big >= long.MinValue && big <= long.MaxValue => (long)big,
        double d when Math.Floor(d) == d && d >= long.MinValue && d <= long.MaxValue => (long)d,
        decimal m when decimal.Truncate(m) == m && m >= long.MinValue && m <= long.MaxValue => (long)m,
        string text when long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var parsed) => parsed,
        _ => ThrowValueConversionError(value),
    };

    public override object? ParseLiteral(GraphQLValue value) => value switch
    {
        GraphQLNullValue => null,
        GraphQLIntValue i when long.TryParse(i.Value.Span, NumberStyles.Integer, CultureInfo.InvariantCulture, out var parsed) => parsed,
        GraphQLStringValue s when long.TryParse(s.Value.Span, NumberStyles.Integer, CultureInfo.InvariantCulture, out var parsed) => parsed,
        _ => ThrowLiteralConversionError(value),
    };

    public override object? Serialize(object? value) => value is null ? null : ParseValue(value);
}

/// <summary>
/// <c>DateTime</c> as W&amp;B writes it: UTC, seconds precision, no zone suffix
/// (<c>2026-11-28T17:56:09</c>), which every client's parser accepts.
/// </summary>
internal sealed class WandbDateTimeGraphType : ScalarGraphType
{
    public const string Format = "yyyy-MM-dd'T'HH:mm:ss";

    public WandbDateTimeGraphType()
    {
        Name = "DateTime";
        Description = "A UTC date and time, ISO 8601 without a zone suffix.";
    }

    public override object? ParseValue(object? value) => value switch
    {
        null => null,
        DateTimeOffset d => d,
        DateTime d => new DateTimeOffset(DateTime.SpecifyKind(d, d.Kind == DateTimeKind.Unspecified ? DateTimeKind.Utc : d.Kind)),
        string text when DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed) => parsed,
        _ => ThrowValueConversionError(value),
    };

    public override object? ParseLiteral(GraphQLValue value) => value switch
    {
        GraphQLNullValue => null,
        GraphQLStringValue s => ParseValue((string)s.Value),
        _ => ThrowLiteralConversionError(value),
    };

    public override object? Serialize(object? value) => value switch
    {
        null => null,
        DateTimeOffset d => d.UtcDateTime.ToString(Format, CultureInfo.InvariantCulture),
        DateTime d => d.ToUniversalTime().ToString(Format, CultureInfo.InvariantCulture),
        string text => text,
        _ => ThrowSerializationError(value),
    };
}
