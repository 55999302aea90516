using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Weightless.Core.Errors;

namespace Weightless.Core.Query;

/// <summary>A parsed run filter (MongoDB-style). Build with <see cref="RunFilter.Parse(string?, string)"/>.</summary>
internal abstract record FilterNode;

internal sealed record AndNode(IReadOnlyList<FilterNode> Children) : FilterNode;

internal sealed record OrNode(IReadOnlyList<FilterNode> Children) : FilterNode;

internal sealed record NorNode(IReadOnlyList<FilterNode> Children) : FilterNode;

internal enum CompareOp
{
    Eq,
    Ne,
    Gt,
    Gte,
    Lt,
    Lte,
    In,
    Nin,
    Exists,
    Regex,
}

/// <summary>One comparison: <see cref="Operand"/> for scalar operators, <see cref="Operands"/> for $in/$nin, <see cref="Pattern"/> for $regex.</summary>
internal sealed record CompareNode(RunField Field, CompareOp Op, IndexValue Operand, IReadOnlyList<IndexValue>? Operands = null, Regex? Pattern = null) : FilterNode;

/// <summary>
/// The run filter language: MongoDB-style JSON with <c>$and $or $nor $eq $ne $gt $gte $lt $lte $in $nin
/// $exists $regex</c> over the fields <see cref="RunField"/> knows. Semantics follow MongoDB: a bare value
/// means <c>$eq</c>; <c>{"$eq": null}</c> matches missing fields; ordering operators compare numbers with
/// numbers and strings with strings (different kinds never match); <c>$ne</c>/<c>$nin</c> match runs
/// without the field; on <c>tags</c> an operator matches when any tag does. Dates compare as instants
/// (ISO strings or Unix milliseconds); <c>state</c> compares lowercase.
/// </summary>
internal static class RunFilter
{
    private static readonly TimeSpan RegexTimeout = TimeSpan.FromMilliseconds(200);

    /// <summary>Every field a filter compares (what the run index must decode before evaluating it).</summary>
    public static IEnumerable<RunField> Fields(FilterNode? node) => node switch
    {
        AndNode and => and.Children.SelectMany(Fields),
        OrNode or => or.Children.SelectMany(Fields),
        NorNode nor => nor.Children.SelectMany(Fields),
        CompareNode compare => [compare.Field],
        _ => [],
    };

    public static FilterNode? Parse(string? json, string field = "filter")
    {
        if (string.IsNullOrWhiteSpace(json))
        {
            return null;
        }
        try
        {
            using var document = JsonDocument.Parse(json);
            return Parse(document.RootElement, field);
        }
        catch (JsonException ex)
        {
            throw new ValidationFailedException($"The filter is not valid JSON: {ex.Message.Split(" Path:")[0]}", field);
        }
    }

    public static FilterNode? Parse(JsonElement element, string field = "filter")
    {
        if (element.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined)
        {
            return null;
        }
        return ParseObject(element, field);
    }

    private static FilterNode ParseObject(JsonElement element, string path)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw new ValidationFailedException($"A filter is a JSON object; found {element.ValueKind.ToString().ToLowerInvariant()}.", path);
        }
        var parts = new List<FilterNode>();
        foreach (var property in element.EnumerateObject())
        {
            var here = path + "." + property.Name;
            switch (property.Name)
            {
                case "$and":
                    parts.Add(new AndNode(ParseList(property.Value, here)));
                    break;
                case "$or":
                    parts.Add(new OrNode(ParseList(property.Value, here)));
                    break;
                case "$nor":
                    parts.Add(new NorNode(ParseList(property.Value, here)));
                    break;
                default:
                    if (property.Name.StartsWith('$'))
                    {
                        throw new ValidationFailedException($"'{property.Name}' is not allowed here; at the top of a filter use $and, $or, $nor or field names.", here);
                    }
                    parts.Add(ParseField(RunField.Parse(property.Name, here), property.Value, here));
                    break;
            }
        }
        return parts.Count == 1 ? parts[0] : new AndNode(parts);
    }

    private static List<FilterNode> ParseList(JsonElement element, string path)
    {
        if (element.ValueKind != JsonValueKind.Array)
        {
            throw new ValidationFailedException("$and, $or and $nor take an array of filters.", path);
        }
        var result = new List<FilterNode>();
        var index = 0;
        foreach (var item in element.EnumerateArray())
        {
            result.Add(ParseObject(item, $"{path}[{index++}]"));
        }
        return result;
    }

    private static FilterNode ParseField(RunField field, JsonElement value, string path)
    {
        if (value.ValueKind != JsonValueKind.Object || !value.EnumerateObject().Any(p => p.Name.StartsWith('$')))
        {
            return new CompareNode(field, CompareOp.Eq, Literal(field, value, path));
        }
        var parts = new List<FilterNode>();
        string? options = value.TryGetProperty("$options", out var optionsElement) && optionsElement.ValueKind == JsonValueKind.String ? optionsElement.GetString() : null;
        foreach (var op in value.EnumerateObject())
        {
            var here = path + "." + op.Name;
            switch (op.Name)
            {
                case "$eq": parts.Add(new CompareNode(field, CompareOp.Eq, Literal(field, op.Value, here))); break;
                case "$ne": parts.Add(new CompareNode(field, CompareOp.Ne, Literal(field, op.Value, here))); break;
                case "$gt": parts.Add(new CompareNode(field, CompareOp.Gt, Ordered(field, op.Value, here))); break;
                case "$gte": parts.Add(new CompareNode(field, CompareOp.Gte, Ordered(field, op.Value, here))); break;
                case "$lt": parts.Add(new CompareNode(field, CompareOp.Lt, Ordered(field, op.Value, here))); break;
                case "$lte": parts.Add(new CompareNode(field, CompareOp.Lte, Ordered(field, op.Value, here))); break;
                case "$in":
                case "$nin":
                    if (op.Value.ValueKind != JsonValueKind.Array)
                    {
                        throw new ValidationFailedException($"{op.Name} takes an array of values.", here);
                    }
                    var values = op.Value.EnumerateArray().Select((v, i) => Literal(field, v, $"{here}[{i}]")).ToList();
                    parts.Add(new CompareNode(field, op.Name == "$in" ? CompareOp.In : CompareOp.Nin, default, values));
                    break;
                case "$exists":
                    if (op.Value.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
                    {
                        throw new ValidationFailedException("$exists takes true or false.", here);
                    }
                    parts.Add(new CompareNode(field, CompareOp.Exists, IndexValue.Of(op.Value.GetBoolean())));
                    break;
                case "$regex":
                    if (op.Value.ValueKind != JsonValueKind.String)
                    {
                        throw new ValidationFailedException("$regex takes a string pattern.", here);
                    }
                    parts.Add(new CompareNode(field, CompareOp.Regex, default, null, Compile(op.Value.GetString()!, options, here)));
                    break;
                case "$options":
                    if (!value.TryGetProperty("$regex", out _))
                    {
                        throw new ValidationFailedException("$options only goes with $regex.", here);
                    }
                    break;
                default:
                    throw new ValidationFailedException($"Unknown operator '{op.Name}'; use $eq $ne $gt $gte $lt $lte $in $nin $exists $regex.", here);
            }
        }
        return parts.Count == 1 ? parts[0] : new AndNode(parts);
    }

    private static Regex Compile(string pattern, string? options, string path)
    {
        var flags = RegexOptions.CultureInvariant;
        foreach (var c in options ?? "")
        {
            flags |= c switch
            {
                'i' => RegexOptions.IgnoreCase,
                'm' => RegexOptions.Multiline,
                's' => RegexOptions.Singleline,
                'x' => RegexOptions.IgnorePatternWhitespace,
                _ => throw new ValidationFailedException($"Unknown $options flag '{c}'; use i, m, s or x.", path.Replace("$regex", "$options", StringComparison.Ordinal)),
            };
        }
        try
        {
            return new Regex(pattern, flags, RegexTimeout);
        }
        catch (ArgumentException ex)
        {
            throw new ValidationFailedException($"The $regex pattern is invalid: {ex.Message}", path);
        }
    }

    private static IndexValue Ordered(RunField field, JsonElement value, string path)
    {
        var literal = Literal(field, value, path);
        if (literal.Kind is not (IndexValueKind.Number or IndexValueKind.String or IndexValueKind.Bool))
        {
            throw new ValidationFailedException("Ordering operators take a number, string or boolean.", path);
        }
        return literal;
    }

    private static IndexValue Literal(RunField field, JsonElement value, string path)
    {
        if (field.IsDate && value.ValueKind == JsonValueKind.String)
        {
            var text = value.GetString()!;
            if (!DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var date))
            {
                throw new ValidationFailedException($"'{text}' is not a date; use ISO 8601 (2026-11-28T10:00:00Z) or Unix milliseconds.", path);
            }
            return IndexValue.OfDate(date);
        }
        if (field == RunField.State && value.ValueKind == JsonValueKind.String)
        {
            return IndexValue.Of(value.GetString()!.ToLowerInvariant());
        }
        if (value.ValueKind == JsonValueKind.Object && value.EnumerateObject().Any(p => p.Name.StartsWith('$')))
        {
            throw new ValidationFailedException("Operators cannot be nested inside a value.", path);
        }
        return IndexValue.FromElement(value);
    }

    /// <summary>Compiles a filter into a test of run positions of <paramref name="table"/>.</summary>
    public static Func<int, bool> Compile(FilterNode? node, RunTable table)
    {
        switch (node)
        {
            case null:
                return static _ => true;
            case AndNode and:
                {
                    var children = and.Children.Select(c => Compile(c, table)).ToArray();
                    return position =>
                    {
                        foreach (var child in children)
                        {
                            if (!child(position))
                            {
                                return false;
                            }
                        }
                        return true;
                    };
                }
            case OrNode or:
                {
                    var children = or.Children.Select(c => Compile(c, table)).ToArray();
                    return position =>
                    {
                        foreach (var child in children)
                        {
                            if (child(position))
                            {
                                return true;
                            }
                        }
                        return false;
                    };
                }
            case NorNode nor:
                {
                    var children = nor.Children.Select(c => Compile(c, table)).ToArray();
                    return position =>
                    {
                        foreach (var child in children)
                        {
                            if (child(position))
                            {
                                return false;
                            }
                        }
                        return true;
                    };
                }
            case CompareNode compare when compare.Field.Kind == RunFieldKind.Tags:
                return position => MatchesTags(compare, table.Tags(position));
            case CompareNode compare:
                {
                    var column = table.Column(compare.Field);
                    if (column is null)
                    {
                        var missing = Matches(compare, default);
                        return _ => missing;
                    }
                    return position => Matches(compare, column[position]);
                }
            default:
                throw new InvalidOperationException("Unknown filter node " + node.GetType().Name);
        }
    }

    /// <summary>Whether one scalar value satisfies a comparison (MongoDB semantics, see the type summary).</summary>
    public static bool Matches(CompareNode node, in IndexValue value)
    {
        switch (node.Op)
        {
            case CompareOp.Eq:
                return EqualsLiteral(value, node.Operand);
            case CompareOp.Ne:
                return !EqualsLiteral(value, node.Operand);
            case CompareOp.In:
                foreach (var operand in node.Operands!)
                {
                    if (EqualsLiteral(value, operand))
                    {
                        return true;
                    }
                }
                return false;
            case CompareOp.Nin:
                foreach (var operand in node.Operands!)
                {
                    if (EqualsLiteral(value, operand))
                    {
                        return false;
                    }
                }
                return true;
            case CompareOp.Exists:
                return value.IsPresent == node.Operand.Bool;
            case CompareOp.Regex:
                return value.Kind == IndexValueKind.String && SafeMatch(node.Pattern!, value.Text!);
            default:
                if (value.Kind != node.Operand.Kind || value.Kind is not (IndexValueKind.Number or IndexValueKind.String or IndexValueKind.Bool))
                {
                    return false;
                }
                var order = value.Kind == IndexValueKind.String ? string.CompareOrdinal(value.Text, node.Operand.Text) : value.Number.CompareTo(node.Operand.Number);
                if (value.Kind == IndexValueKind.Number && (double.IsNaN(value.Number) || double.IsNaN(node.Operand.Number)))
                {
                    return false;
                }
                return node.Op switch
                {
                    CompareOp.Gt => order > 0,
                    CompareOp.Gte => order >= 0,
                    CompareOp.Lt => order < 0,
                    _ => order <= 0,
                };
        }
    }

    private static bool MatchesTags(CompareNode node, IReadOnlyList<string> tags)
    {
        switch (node.Op)
        {
            case CompareOp.Exists:
                return tags.Count > 0 == node.Operand.Bool;
            case CompareOp.Ne:
            case CompareOp.Nin:
                var positive = node with { Op = node.Op == CompareOp.Ne ? CompareOp.Eq : CompareOp.In };
                return !MatchesTags(positive, tags);
            case CompareOp.Eq when node.Operand.Kind == IndexValueKind.Json:
                return string.Equals(node.Operand.Text is { } json ? Normalise(json) : null, JsonSerializer.Serialize(tags), StringComparison.Ordinal);
            case CompareOp.Eq when node.Operand.Kind is IndexValueKind.Null:
                return tags.Count == 0;
            default:
                foreach (var tag in tags)
                {
                    if (Matches(node, IndexValue.Of(tag)))
                    {
                        return true;
                    }
                }
                return false;
        }
    }

    private static string Normalise(string json)
    {
        using var document = JsonDocument.Parse(json);
        return JsonSerializer.Serialize(document.RootElement);
    }

    private static bool EqualsLiteral(in IndexValue value, in IndexValue literal)
    {
        if (literal.Kind == IndexValueKind.Null)
        {
            return value.Kind is IndexValueKind.Null or IndexValueKind.Missing;
        }
        if (value.Kind != literal.Kind)
        {
            return false;
        }
        return value.Kind switch
        {
            IndexValueKind.Number or IndexValueKind.Bool => value.Number == literal.Number,
            IndexValueKind.Json => string.Equals(Normalise(value.Text!), Normalise(literal.Text!), StringComparison.Ordinal),
            _ => string.Equals(value.Text, literal.Text, StringComparison.Ordinal),
        };
    }

    private static bool SafeMatch(Regex pattern, string text)
    {
        try
        {
            return pattern.IsMatch(text);
        }
        catch (RegexMatchTimeoutException)
        {
            throw new ValidationFailedException($"The $regex '{pattern}' took too long to evaluate; simplify it.", "filter");
        }
    }
}
