using Azure;

namespace Weightless.Core.History;

/// <summary>
/// A run's effective history rows (lines [0, Applied) of one state, in step order) as numeric points
/// per flattened key: exactly the points a row read gives (<see cref="HistoryValues.AsNumber"/> of each
/// row's value), so any step range of any metric is a slice. Shared: callers only read it.
/// </summary>
internal sealed class RawSeries
{
    private readonly Dictionary<string, M4Point[]> _byKey;

    public RawSeries(Dictionary<string, M4Point[]> byKey)
    {
        _byKey = byKey;
        Points = byKey.Values.Sum(p => (long)p.Length);
    }

    /// <summary>Points held (what the cache's capacity counts).</summary>
    public long Points { get; }

    /// <summary>
    /// The key's points with steps in [from, to], in step order (effective rows have strictly increasing
    /// steps, so the range is found by binary search).
    /// </summary>
    public IReadOnlyList<M4Point> Range(string key, long from, long to)
    {
        if (!_byKey.TryGetValue(key, out var points) || points.Length == 0 || to < from)
        {
            return [];
        }
        var start = FirstAtOrAbove(points, from);
        var end = to == long.MaxValue ? points.Length : FirstAtOrAbove(points, to + 1);
        return new ArraySegment<M4Point>(points, start, end - start);
    }

    private static int FirstAtOrAbove(M4Point[] points, long step)
    {
        int lo = 0, hi = points.Length;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (points[mid].Step < step)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }
        return lo;
    }

    /// <summary>Collects rows in step order (the caller applies the effective-row rule).</summary>
    public sealed class Builder
    {
        private readonly Dictionary<string, List<M4Point>> _byKey = new(StringComparer.Ordinal);

        public void Add(HistoryRow row, long step)
        {
            foreach (var (key, value) in row.Flat)
            {
                if (HistoryValues.AsNumber(value) is not { } number)
                {
                    continue;
                }
                if (!_byKey.TryGetValue(key, out var points))
                {
                    _byKey[key] = points = [];
                }
                points.Add(new M4Point(step, number));
            }
        }

        public RawSeries Build() => new(_byKey.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray(), StringComparer.Ordinal));
    }
}

/// <summary>
/// Runs' <see cref="RawSeries"/> kept in memory per instance, each tagged with the ETag of the run's
/// derived state it was read under (every history change commits that state, so the same ETag means the
/// same effective rows). A chart asking for a short run's raw rows (ranges finer than any rollup level)
/// then reads and parses the run's chunks once for every metric and every later request — not once per
/// request, nor once per concurrent request: a read in flight is shared. Only runs of at most
/// <see cref="MaxLines"/> lines are kept; bounded by the points held, the least recently used go first.
/// </summary>
internal sealed class RawSeriesCache
{
    /// <summary>Runs longer than this are read range by range (their raw reads are range edges, not whole runs).</summary>
    public const long MaxLines = 40_000;

    /// <summary>Points held at most (16 bytes each, ~100 MB).</summary>
    public const long DefaultCapacityPoints = 6_000_000;

    private readonly long _capacityPoints;
    private readonly Dictionary<string, LinkedListNode<Entry>> _entries = new(StringComparer.Ordinal);
    private readonly LinkedList<Entry> _recency = new();
    private readonly Lock _gate = new();
    private long _points;

    public RawSeriesCache(long capacityPoints = DefaultCapacityPoints) => _capacityPoints = capacityPoints;

    private sealed class Entry(string key, ETag stateETag, Task<RawSeries> series)
    {
        public string Key { get; } = key;
        public ETag StateETag { get; } = stateETag;
        public Task<RawSeries> Series { get; } = series;
        public long Points { get; set; }
    }

    /// <summary>Points held now (for tests and diagnostics).</summary>
    public long Points
    {
        get
        {
            lock (_gate)
            {
                return _points;
            }
        }
    }

    /// <summary>
    /// The series read under <paramref name="stateETag"/>: held, in flight, or read now by <paramref name="read"/>
    /// (which runs to completion even when this caller gives up, so concurrent and later callers get it).
    /// A failed read is not kept.
    /// </summary>
    public Task<RawSeries> GetOrReadAsync(string key, ETag stateETag, Func<Task<RawSeries>> read, CancellationToken cancellationToken)
    {
        Entry entry;
        lock (_gate)
        {
            if (_entries.TryGetValue(key, out var node) && node.Value.StateETag == stateETag)
            {
                _recency.Remove(node);
                _recency.AddFirst(node);
                return node.Value.Series.WaitAsync(cancellationToken);
            }
            if (node is not null)
            {
                Remove(node);
            }
            var pending = new TaskCompletionSource<RawSeries>(TaskCreationOptions.RunContinuationsAsynchronously);
            entry = new Entry(key, stateETag, pending.Task);
            _entries[key] = _recency.AddFirst(entry);
            _ = CompleteAsync(entry, pending, read);
        }
        return entry.Series.WaitAsync(cancellationToken);
    }

    private async Task CompleteAsync(Entry entry, TaskCompletionSource<RawSeries> pending, Func<Task<RawSeries>> read)
    {
        try
        {
            var series = await Task.Run(read).ConfigureAwait(false);
            lock (_gate)
            {
                if (_entries.TryGetValue(entry.Key, out var node) && node.Value == entry)
                {
                    entry.Points = series.Points;
                    _points += series.Points;
                    while (_points > _capacityPoints && _recency.Last is { } oldest)
                    {
                        Remove(oldest);
                    }
                }
            }
            pending.SetResult(series);
        }
        catch (Exception e)
        {
            lock (_gate)
            {
                if (_entries.TryGetValue(entry.Key, out var node) && node.Value == entry)
                {
                    Remove(node);
                }
            }
            pending.SetException(e);
        }
    }

    private void Remove(LinkedListNode<Entry> node)
    {
        _recency.Remove(node);
        _entries.Remove(node.Value.Key);
        _points -= node.Value.Points;
    }
}
