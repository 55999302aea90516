using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Weightless.Core.Errors;

namespace Weightless.Core.Query;

/// <summary>One sort key: a field and a direction. Missing, null and NaN values sort last in both directions.</summary>
internal sealed record SortKey(RunField Field, bool Descending)
{
    public override string ToString() => (Descending ? "-" : "+") + Field.Path;
}

/// <summary>What to list: filter, order, page size, cursor.</summary>
internal sealed record RunQuerySpec(FilterNode? Filter, IReadOnlyList<SortKey> Sort, int Limit, string? Cursor, bool IncludeDeleted = false);

/// <summary>One page of run positions, the count of all matches and the cursor of the next page.</summary>
internal sealed record RunPageResult(IReadOnlyList<int> Positions, int Total, string? NextCursor);

internal sealed record RunGroup(IReadOnlyList<IndexValue> Values, int Count, string Key);

/// <summary>
/// Runs the query language over a <see cref="RunTable"/>: filter, total order (sort keys, then run id),
/// cursor paging and grouping. Pure and in memory; the REST API and the GraphQL <c>runs(filters, order)</c>
/// resolver share it. A cursor is the last row's sort values plus its id, so a page resumes strictly
/// after it: runs added between pages never make an existing run appear twice or vanish.
/// </summary>
internal static class RunQueryEngine
{
    public const int MaxLimit = 1000;
    public static readonly IReadOnlyList<SortKey> DefaultSort = [new SortKey(RunField.CreatedAt, true)];

    /// <summary>Parses <c>-created_at,config.lr</c> (or a W&amp;B <c>order</c> string) into sort keys; empty means <see cref="DefaultSort"/>.</summary>
    public static IReadOnlyList<SortKey> ParseSort(IEnumerable<string>? keys, string field = "sort")
    {
        var result = new List<SortKey>();
        foreach (var raw in (keys ?? []).SelectMany(k => k.Split(',')))
        {
            var key = raw.Trim();
            if (key.Length == 0)
            {
                continue;
            }
            var descending = key[0] == '-';
            if (key[0] is '-' or '+')
            {
                key = key[1..].Trim();
            }
            result.Add(new SortKey(RunField.Parse(key, field), descending));
        }
        return result.Count == 0 ? DefaultSort : result;
    }

    public static int ValidateLimit(int? limit, int defaultLimit = 50, int max = MaxLimit, string field = "limit") =>
        limit switch
        {
            null => defaultLimit,
            < 1 => throw new ValidationFailedException($"'{field}' must be at least 1.", field),
            _ when limit > max => throw new ValidationFailedException($"'{field}' must be at most {max}.", field),
            _ => limit.Value,
        };

    /// <summary>The positions matching the filter (live runs; deleted ones only when asked), in position order.</summary>
    public static List<int> Match(RunTable table, FilterNode? filter, bool includeDeleted)
    {
        var test = RunFilter.Compile(filter, table);
        var result = new List<int>();
        for (var position = 0; position < table.Capacity; position++)
        {
            if (table.IsLive(position) && (includeDeleted || !table.IsDeleted(position)) && test(position))
            {
                result.Add(position);
            }
        }
        return result;
    }

    public static RunPageResult Execute(RunTable table, RunQuerySpec spec)
    {
        var matches = Match(table, spec.Filter, spec.IncludeDeleted);
        var order = new RowOrder(table, spec.Sort);
        var candidates = matches;
        if (spec.Cursor is not null)
        {
            var cursor = DecodeCursor(spec.Cursor, spec.Sort);
            candidates = matches.Where(p => order.CompareToCursor(p, cursor) > 0).ToList();
        }
        var page = TopK(candidates, spec.Limit + 1, order);
        var hasMore = page.Count > spec.Limit;
        if (hasMore)
        {
            page.RemoveAt(page.Count - 1);
        }
        var next = hasMore ? EncodeCursor(table, spec.Sort, page[^1]) : null;
        return new RunPageResult(page, matches.Count, next);
    }

    /// <summary>Every matching position in order (exports).</summary>
    public static List<int> ExecuteAll(RunTable table, FilterNode? filter, IReadOnlyList<SortKey> sort, bool includeDeleted)
    {
        var matches = Match(table, filter, includeDeleted);
        var order = new RowOrder(table, sort);
        matches.Sort(order.Compare);
        return matches;
    }

    /// <summary>Groups matching runs by the values of <paramref name="by"/>; a run counts once per tag when grouping by tags.</summary>
    public static List<RunGroup> Group(RunTable table, FilterNode? filter, IReadOnlyList<RunField> by, bool includeDeleted)
    {
        var matches = Match(table, filter, includeDeleted);
        var groups = new Dictionary<string, (IndexValue[] Values, int Count)>(StringComparer.Ordinal);
        var columns = by.Select(table.Column).ToArray();
        foreach (var position in matches)
        {
            foreach (var values in Combinations(table, by, columns, position))
            {
                var key = GroupKey(values);
                groups[key] = groups.TryGetValue(key, out var existing) ? (existing.Values, existing.Count + 1) : (values, 1);
            }
        }
        return groups
            .Select(g => new RunGroup(g.Value.Values, g.Value.Count, g.Key))
            .OrderByDescending(g => g.Count)
            .ThenBy(g => g.Key, StringComparer.Ordinal)
            .ToList();
    }

    private static IEnumerable<IndexValue[]> Combinations(RunTable table, IReadOnlyList<RunField> by, IndexColumn?[] columns, int position)
    {
        IEnumerable<IndexValue[]> result = [[]];
        for (var i = 0; i < by.Count; i++)
        {
            IndexValue[] choices;
            if (by[i].Kind == RunFieldKind.Tags)
            {
                var tags = table.Tags(position);
                choices = tags.Count == 0 ? [IndexValue.Null] : tags.Select(t => IndexValue.Of(t)).ToArray();
            }
            else
            {
                var value = columns[i]?[position] ?? default;
                choices = [value.IsPresent ? value : IndexValue.Null];
            }
            result = result.SelectMany(prefix => choices.Select(choice => (IndexValue[])[.. prefix, choice])).ToList();
        }
        return result;
    }

    private static string GroupKey(IndexValue[] values)
    {
        var array = new JsonArray();
        foreach (var value in values)
        {
            array.Add(value.Kind switch
            {
                IndexValueKind.Number => double.IsFinite(value.Number) ? JsonValue.Create(value.Number) : JsonValue.Create(value.ToText()),
                IndexValueKind.String => JsonValue.Create(value.Text),
                IndexValueKind.Bool => JsonValue.Create(value.Bool),
                IndexValueKind.Json => JsonNode.Parse(value.Text!),
                _ => null,
            });
        }
        return array.ToJsonString();
    }

    /// <summary>The <paramref name="k"/> first positions in order: a bounded heap, so a first page of 50 out of 100,000 matches never sorts them all.</summary>
    private static List<int> TopK(List<int> candidates, int k, RowOrder order)
    {
        if (candidates.Count <= k * 4)
        {
            candidates.Sort(order.Compare);
            // A copy even when all fit: the caller trims the page, and the candidates may be the matches it counts.
            return candidates.GetRange(0, Math.Min(k, candidates.Count));
        }
        // Max-heap of the best k seen: the root is the worst kept.
        var heap = new PriorityQueue<int, int>(k + 1, Comparer<int>.Create((a, b) => order.Compare(b, a)));
        foreach (var position in candidates)
        {
            if (heap.Count < k)
            {
                heap.Enqueue(position, position);
            }
            else if (order.Compare(position, heap.Peek()) < 0)
            {
                heap.EnqueueDequeue(position, position);
            }
        }
        var result = new List<int>(heap.Count);
        while (heap.Count > 0)
        {
            result.Add(heap.Dequeue());
        }
        result.Reverse();
        return result;
    }

    internal sealed record CursorKey(IndexValue[] Values, string Id);

    public static string EncodeCursor(RunTable table, IReadOnlyList<SortKey> sort, int position)
    {
        var values = new JsonArray();
        foreach (var key in sort)
        {
            var value = table.Get(key.Field, position);
            values.Add(new JsonObject { ["k"] = (int)value.Kind, ["n"] = value.Kind is IndexValueKind.Number or IndexValueKind.Bool ? BitConverter.DoubleToInt64Bits(value.Number) : null, ["t"] = value.Text });
        }
        var cursor = new JsonObject { ["s"] = string.Join(",", sort), ["v"] = values, ["id"] = table.Id(position) };
        return Convert.ToBase64String(Encoding.UTF8.GetBytes(cursor.ToJsonString())).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }

    public static CursorKey DecodeCursor(string cursor, IReadOnlyList<SortKey> sort, string field = "cursor")
    {
        try
        {
            var base64 = cursor.Replace('-', '+').Replace('_', '/');
            base64 += new string('=', (4 - base64.Length % 4) % 4);
            var node = JsonNode.Parse(Encoding.UTF8.GetString(Convert.FromBase64String(base64)))!.AsObject();
            if (node["s"]?.GetValue<string>() != string.Join(",", sort))
            {
                throw new ValidationFailedException("The cursor belongs to a different sort order; start again without a cursor.", field);
            }
            var values = node["v"]!.AsArray().Select(v =>
            {
                var kind = (IndexValueKind)v!["k"]!.GetValue<int>();
                var number = v["n"] is { } n ? BitConverter.Int64BitsToDouble(n.GetValue<long>()) : 0;
                return new IndexValue(kind, number, v["t"]?.GetValue<string>());
            }).ToArray();
            return new CursorKey(values, node["id"]!.GetValue<string>());
        }
        catch (Exception ex) when (ex is FormatException or JsonException or InvalidOperationException or NullReferenceException or ArgumentException)
        {
            throw new ValidationFailedException("The cursor is not one this API issued.", field);
        }
    }

    /// <summary>The total order of a query: sort keys (missing last), then run id ascending.</summary>
    internal sealed class RowOrder
    {
        private readonly RunTable _table;
        private readonly IReadOnlyList<SortKey> _sort;
        private readonly IndexColumn?[] _columns;

        public RowOrder(RunTable table, IReadOnlyList<SortKey> sort)
        {
            _table = table;
            _sort = sort;
            _columns = sort.Select(k => k.Field.Kind == RunFieldKind.Tags ? null : table.Column(k.Field)).ToArray();
        }

        private IndexValue Value(int key, int position) =>
            _sort[key].Field.Kind == RunFieldKind.Tags ? _table.Get(_sort[key].Field, position) : _columns[key]?[position] ?? default;

        public int Compare(int a, int b)
        {
            if (a == b)
            {
                return 0;
            }
            for (var i = 0; i < _sort.Count; i++)
            {
                var order = CompareValues(Value(i, a), Value(i, b), _sort[i].Descending);
                if (order != 0)
                {
                    return order;
                }
            }
            return string.CompareOrdinal(_table.Id(a), _table.Id(b));
        }

        public int CompareToCursor(int position, CursorKey cursor)
        {
            for (var i = 0; i < _sort.Count; i++)
            {
                var order = CompareValues(Value(i, position), cursor.Values[i], _sort[i].Descending);
                if (order != 0)
                {
                    return order;
                }
            }
            return string.CompareOrdinal(_table.Id(position), cursor.Id);
        }

        private static int CompareValues(in IndexValue a, in IndexValue b, bool descending)
        {
            // NaN sorts with the missing values: last, whichever the direction.
            var aMissing = a.Kind is IndexValueKind.Missing or IndexValueKind.Null || (a.Kind == IndexValueKind.Number && double.IsNaN(a.Number));
            var bMissing = b.Kind is IndexValueKind.Missing or IndexValueKind.Null || (b.Kind == IndexValueKind.Number && double.IsNaN(b.Number));
            if (aMissing || bMissing)
            {
                return aMissing == bMissing ? 0 : aMissing ? 1 : -1;
            }
            var order = IndexValue.CompareForSort(a, b);
            return descending ? -order : order;
        }
    }
}
