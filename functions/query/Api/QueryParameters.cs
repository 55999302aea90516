using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Weightless.Core.Errors;
using Weightless.Core.Http;

namespace Weightless.Query.Api;

/// <summary>Query-string parsing that answers bad input with a 400 naming the parameter.</summary>
internal static class QueryParameters
{
    public static string? String(HttpRequest request, string name) =>
        request.Query.TryGetValue(name, out var values) && !string.IsNullOrWhiteSpace(values.ToString()) ? values.ToString() : null;

    public static int? Int(HttpRequest request, string name) =>
        String(request, name) is { } text
            ? int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value : throw new ValidationFailedException($"'{name}' must be an integer.", name)
            : null;

    public static long? Long(HttpRequest request, string name) =>
        String(request, name) is { } text
            ? long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value : throw new ValidationFailedException($"'{name}' must be an integer.", name)
            : null;

    public static double? Double(HttpRequest request, string name) =>
        String(request, name) is { } text
            ? double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && double.IsFinite(value) ? value : throw new ValidationFailedException($"'{name}' must be a finite number.", name)
            : null;

    public static bool Bool(HttpRequest request, string name) =>
        String(request, name) is { } text
            && (bool.TryParse(text, out var value) ? value : text == "1" || (text == "0" ? false : throw new ValidationFailedException($"'{name}' must be true or false.", name)));

    /// <summary>A comma-separated list (repeated parameters are joined too), or null when absent.</summary>
    public static IReadOnlyList<string>? List(HttpRequest request, string name) =>
        request.Query.TryGetValue(name, out var values) && values.Count > 0
            ? values.SelectMany(v => (v ?? "").Split(',')).Select(v => v.Trim()).Where(v => v.Length > 0).Distinct(StringComparer.Ordinal).ToList() is { Count: > 0 } list ? list : null
            : null;

    public static int Range(int? value, int defaultValue, int min, int max, string name) =>
        value switch
        {
            null => defaultValue,
            _ when value < min || value > max => throw new ValidationFailedException($"'{name}' must be {min}–{max}.", name),
            _ => value.Value,
        };

    /// <summary>A JSON answer with the API's conventions (camelCase, nulls left out).</summary>
    public static IResult Json<T>(T value, int status = StatusCodes.Status200OK) => TypedResults.Json(value, RequestBody.Options, statusCode: status);

    /// <summary>The <c>sort</c> of a query body: a string or an array of strings.</summary>
    public static IEnumerable<string>? SortOf(JsonElement? sort) => sort switch
    {
        null => null,
        { ValueKind: JsonValueKind.Null or JsonValueKind.Undefined } => null,
        { ValueKind: JsonValueKind.String } s => [s.GetString()!],
        { ValueKind: JsonValueKind.Array } a => a.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.String ? e.GetString()! : throw new ValidationFailedException("'sort' items are strings.", "sort")).ToList(),
        _ => throw new ValidationFailedException("'sort' is a string or an array of strings.", "sort"),
    };
}
