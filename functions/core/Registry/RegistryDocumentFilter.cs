using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Weightless.Core.Errors;

namespace Weightless.Core.Registry;

/// <summary>
/// The Mongo-style filters the W&amp;B clients send for registries, collections and versions
/// (<c>{"name": {"$regex": "^fraud"}}</c>, <c>{"tag": "prod"}</c>, <c>{"metadata.accuracy": {"$gt": 0.9}}</c>,
/// <c>$and</c>/<c>$or</c>/<c>$nor</c>, <c>$eq $ne $in $nin $regex $options $exists $gt $gte $lt $lte</c>),
/// evaluated against a JSON document describing the candidate. A field holding a list matches
/// when any element does, as in Mongo. Unknown operators are refused, never ignored.
/// </summary>
internal sealed class RegistryDocumentFilter
{
    private static readonly TimeSpan RegexTimeout = TimeSpan.FromMilliseconds(200);
    private readonly JsonObject? filter;
    private readonly string field;

    private RegistryDocumentFilter(JsonObject? filter, string field)
    {
        this.filter = filter;
        this.field = field;
    }

    public static readonly RegistryDocumentFilter All = new(null, "filters");

    /// <summary>Parses a filter argument (null, empty or <c>{}</c> match everything); bad JSON is a 400 naming <paramref name="field"/>.</summary>
    public static RegistryDocumentFilter Parse(string? json, string field)
    {
        if (string.IsNullOrWhiteSpace(json))
        {
            return new RegistryDocumentFilter(null, field);
        }
        JsonNode? parsed;
        try
        {
            parsed = JsonNode.Parse(json);
        }
        catch (JsonException)
        {
            throw new ValidationFailedException($"'{field}' is not valid JSON.", field);
        }
        if (parsed is null)
        {
            return new RegistryDocumentFilter(null, field);
        }
        if (parsed is not JsonObject obj)
        {
            throw new ValidationFailedException($"'{field}' is a JSON object of conditions.", field);
        }
        var result = new RegistryDocumentFilter(obj, field);
        // Evaluate once against an empty document so malformed operators fail up front, not per candidate.
        result.Matches(new JsonObject());
        return result;
    }

    public bool Matches(JsonObject document) => filter is null || MatchesAll(filter, document);

    private bool MatchesAll(JsonObject conditions, JsonObject document)
    {
        foreach (var (key, condition) in conditions)
        {
            var matched = key switch
            {
                "$and" => Clauses(condition, key).All(c => MatchesAll(c, document)),
                "$or" => Clauses(condition, key).Any(c => MatchesAll(c, document)),
                "$nor" => !Clauses(condition, key).Any(c => MatchesAll(c, document)),
                _ when key.StartsWith('$') => throw new ValidationFailedException($"Operator '{key}' is not supported at the top of '{field}'.", field),
                _ => MatchesField(Lookup(document, key), condition),
            };
            if (!matched)
            {
                return false;
            }
        }
        return true;
    }

    private List<JsonObject> Clauses(JsonNode? node, string op) =>
        node is JsonArray array && array.All(a => a is JsonObject)
            ? array.Select(a => (JsonObject)a!).ToList()
            : throw new ValidationFailedException($"'{op}' takes a list of condition objects.", field);

    private static JsonNode? Lookup(JsonObject document, string path)
    {
        JsonNode? current = document;
        foreach (var part in path.Split('.'))
        {
            if (current is not JsonObject obj || !obj.TryGetPropertyValue(part, out current))
            {
                return null;
            }
        }
        return current;
    }

    private bool MatchesField(JsonNode? value, JsonNode? condition)
    {
        if (condition is JsonObject ops && ops.Count > 0 && ops.All(o => o.Key.StartsWith('$')))
        {
            foreach (var (op, operand) in ops)
            {
                if (!MatchesOperator(value, op, operand, ops))
                {
                    return false;
                }
            }
            return true;
        }
        return EqualsAny(value, condition);
    }

    private bool MatchesOperator(JsonNode? value, string op, JsonNode? operand, JsonObject ops) => op switch
    {
        "$eq" => EqualsAny(value, operand),
        "$ne" => !EqualsAny(value, operand),
        "$in" => List(operand, op).Any(o => EqualsAny(value, o)),
        "$nin" => !List(operand, op).Any(o => EqualsAny(value, o)),
        "$exists" => (value is not null) == (operand is JsonValue v && v.TryGetValue<bool>(out var b) ? b : throw new ValidationFailedException("'$exists' takes true or false.", field)),
        "$regex" => Pattern(operand, ops) is var regex && Elements(value).Any(e => Text(e) is { } text && regex.IsMatch(text)),
        "$options" => true,
        "$gt" => Elements(value).Any(e => Compare(e, operand) is > 0),
        "$gte" => Elements(value).Any(e => Compare(e, operand) is >= 0),
        "$lt" => Elements(value).Any(e => Compare(e, operand) is < 0),
        "$lte" => Elements(value).Any(e => Compare(e, operand) is <= 0),
        _ => throw new ValidationFailedException($"Operator '{op}' is not supported in '{field}'.", field),
    };

    private Regex Pattern(JsonNode? operand, JsonObject ops)
    {
        var pattern = operand is JsonValue v && v.TryGetValue<string>(out var s) ? s : throw new ValidationFailedException("'$regex' takes a string.", field);
        var options = RegexOptions.CultureInvariant;
        if (ops.TryGetPropertyValue("$options", out var o) && o is JsonValue ov && ov.TryGetValue<string>(out var flags) && flags.Contains('i', StringComparison.Ordinal))
        {
            options |= RegexOptions.IgnoreCase;
        }
        try
        {
            return new Regex(pattern, options, RegexTimeout);
        }
        catch (ArgumentException)
        {
            throw new ValidationFailedException($"'$regex' pattern '{pattern}' is not a valid regular expression.", field);
        }
    }

    private List<JsonNode?> List(JsonNode? operand, string op) =>
        operand is JsonArray array ? array.ToList() : throw new ValidationFailedException($"'{op}' takes a list.", field);

    private static IEnumerable<JsonNode?> Elements(JsonNode? value) => value is JsonArray array ? array : new[] { value };

    private static bool EqualsAny(JsonNode? value, JsonNode? expected) =>
        JsonNode.DeepEquals(value, expected) || (value is JsonArray array && array.Any(e => JsonNode.DeepEquals(e, expected)));

    private static string? Text(JsonNode? node) => node is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    private static int? Compare(JsonNode? value, JsonNode? operand)
    {
        if (value is JsonValue a && operand is JsonValue b)
        {
            if (a.TryGetValue<double>(out var x) && b.TryGetValue<double>(out var y))
            {
                return x.CompareTo(y);
            }
            if (Text(a) is { } s && Text(b) is { } t)
            {
                return string.CompareOrdinal(s, t);
            }
        }
        return null;
    }

    /// <summary>A timestamp as the documents carry it (ISO 8601, comparable as text).</summary>
    public static string Timestamp(DateTimeOffset value) => value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
}
