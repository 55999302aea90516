using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Weightless.Core.Query;

namespace Weightless.Core.Tests.Query;

/// <summary>
/// A direct, unoptimised restatement of the filter semantics over <see cref="RunIndexRow"/>s and the raw
/// filter JSON (no AST, no columns): the reference the engine's results must equal.
/// </summary>
internal static class BruteForce
{
    private sealed record Value(object? Scalar);

    public static bool Matches(RunIndexRow row, JsonElement filter)
    {
        foreach (var property in filter.EnumerateObject())
        {
            var ok = property.Name switch
            {
                "$and" => property.Value.EnumerateArray().All(f => Matches(row, f)),
                "$or" => property.Value.EnumerateArray().Any(f => Matches(row, f)),
                "$nor" => !property.Value.EnumerateArray().Any(f => Matches(row, f)),
                _ => FieldMatches(row, property.Name, property.Value),
            };
            if (!ok)
            {
                return false;
            }
        }
        return true;
    }

    private static bool FieldMatches(RunIndexRow row, string path, JsonElement condition)
    {
        var isDate = path is "createdAt" or "created_at" or "heartbeatAt" or "heartbeat_at";
        if (path == "tags")
        {
            return TagMatches(row.Tags, condition);
        }
        var value = Lookup(row, path);
        if (condition.ValueKind != JsonValueKind.Object || !condition.EnumerateObject().Any(p => p.Name.StartsWith('$')))
        {
            return Equal(value, Literal(condition, isDate, path));
        }
        foreach (var op in condition.EnumerateObject())
        {
            var ok = op.Name switch
            {
                "$eq" => Equal(value, Literal(op.Value, isDate, path)),
                "$ne" => !Equal(value, Literal(op.Value, isDate, path)),
                "$in" => op.Value.EnumerateArray().Any(v => Equal(value, Literal(v, isDate, path))),
                "$nin" => !op.Value.EnumerateArray().Any(v => Equal(value, Literal(v, isDate, path))),
                "$exists" => (value is not null) == op.Value.GetBoolean(),
                "$regex" => value?.Scalar is string s && new Regex(op.Value.GetString()!, condition.TryGetProperty("$options", out var o) && o.GetString()!.Contains('i') ? RegexOptions.IgnoreCase : RegexOptions.None).IsMatch(s),
                "$options" => true,
                _ => Ordered(value, op.Name, Literal(op.Value, isDate, path)),
            };
            if (!ok)
            {
                return false;
            }
        }
        return true;
    }

    private static bool TagMatches(IReadOnlyList<string> tags, JsonElement condition)
    {
        bool Any(Func<string, bool> test) => tags.Any(test);
        if (condition.ValueKind == JsonValueKind.String)
        {
            return tags.Contains(condition.GetString()!);
        }
        foreach (var op in condition.EnumerateObject())
        {
            var ok = op.Name switch
            {
                "$eq" => op.Value.ValueKind == JsonValueKind.Null ? tags.Count == 0 : tags.Contains(op.Value.GetString()!),
                "$ne" => !tags.Contains(op.Value.GetString()!),
                "$in" => Any(t => op.Value.EnumerateArray().Any(v => v.GetString() == t)),
                "$nin" => !Any(t => op.Value.EnumerateArray().Any(v => v.GetString() == t)),
                "$exists" => (tags.Count > 0) == op.Value.GetBoolean(),
                "$regex" => Any(t => Regex.IsMatch(t, op.Value.GetString()!)),
                _ => throw new InvalidOperationException(op.Name),
            };
            if (!ok)
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>Null when the field is absent; otherwise a Value holding double, string, bool or null.</summary>
    private static Value? Lookup(RunIndexRow row, string path)
    {
        static Value? From(IReadOnlyDictionary<string, IndexValue> values, string key) =>
            values.TryGetValue(key, out var v) ? new Value(v.Kind switch
            {
                IndexValueKind.Number => v.Number,
                IndexValueKind.String => v.Text,
                IndexValueKind.Bool => v.Bool,
                _ => null,
            }) : null;
        static Value? Text(string? s) => s is null ? new Value(null) : new Value(s);
        if (path.StartsWith("config.", StringComparison.Ordinal))
        {
            // W&B addresses config values as config.<key>.value[.nested]: drop that one "value" segment.
            var segments = path["config.".Length..].Split('.').ToList();
            if (segments.Count > 1 && segments[1] == "value")
            {
                segments.RemoveAt(1);
            }
            return From(row.Config, string.Join('.', segments));
        }
        if (path.StartsWith("summary_metrics.", StringComparison.Ordinal))
        {
            return From(row.Summary, path["summary_metrics.".Length..]);
        }
        return path switch
        {
            "state" => Text(row.State),
            "displayName" or "display_name" => Text(row.DisplayName),
            "name" => Text(row.Id),
            "username" => Text(row.User),
            "group" => Text(row.Group),
            "jobType" or "job_type" => Text(row.JobType),
            "host" => Text(row.Host),
            "sweep" => Text(row.Sweep),
            "createdAt" or "created_at" => new Value((double)row.CreatedAt.ToUnixTimeMilliseconds()),
            "heartbeatAt" or "heartbeat_at" => new Value((double)row.HeartbeatAt.ToUnixTimeMilliseconds()),
            "runtime" => new Value(row.Runtime),
            _ => throw new InvalidOperationException(path),
        };
    }

    private static Value Literal(JsonElement element, bool isDate, string path) => element.ValueKind switch
    {
        JsonValueKind.String when isDate => new Value((double)DateTimeOffset.Parse(element.GetString()!, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal).ToUnixTimeMilliseconds()),
        JsonValueKind.String when path == "state" => new Value(element.GetString()!.ToLowerInvariant()),
        JsonValueKind.String => new Value(element.GetString()),
        JsonValueKind.Number => new Value(element.GetDouble()),
        JsonValueKind.True => new Value(true),
        JsonValueKind.False => new Value(false),
        _ => new Value(null),
    };

    private static bool Equal(Value? value, Value literal)
    {
        if (literal.Scalar is null)
        {
            return value is null || value.Scalar is null;
        }
        return value?.Scalar is not null && value.Scalar.GetType() == literal.Scalar.GetType() && value.Scalar.Equals(literal.Scalar)
            && !(value.Scalar is double d && double.IsNaN(d));
    }

    private static bool Ordered(Value? value, string op, Value literal)
    {
        if (value?.Scalar is null || value.Scalar.GetType() != literal.Scalar?.GetType())
        {
            return false;
        }
        int order;
        switch (value.Scalar)
        {
            case double d:
                var l = (double)literal.Scalar;
                if (double.IsNaN(d) || double.IsNaN(l))
                {
                    return false;
                }
                order = d.CompareTo(l);
                break;
            case string s:
                order = string.CompareOrdinal(s, (string)literal.Scalar);
                break;
            case bool b:
                order = b.CompareTo((bool)literal.Scalar);
                break;
            default:
                return false;
        }
        return op switch
        {
            "$gt" => order > 0,
            "$gte" => order >= 0,
            "$lt" => order < 0,
            "$lte" => order <= 0,
            _ => throw new InvalidOperationException(op),
        };
    }
}
