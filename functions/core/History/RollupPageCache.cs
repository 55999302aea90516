using Azure;

namespace Weightless.Core.History;

/// <summary>
/// One rollup read, decoded: each metric's level buckets (in the read's metric order; shared, callers only
/// read them) and the highest page watermark on the read's last page (which tells <see cref="HistoryStore"/>'s M4
/// query whether a post landing meanwhile reached past the state it planned with).
/// </summary>
internal sealed record RollupRead(List<(long BucketIndex, M4Accumulator Aggregate)>[] Buckets, long LastPageApplied)
{
    /// <summary>Memory a bucket takes: its index and an aggregate of two counts, a flag and four points.</summary>
    public const int BucketBytes = 96;

    public long Bytes => Buckets.Sum(b => (long)b.Count) * BucketBytes + 64;
}

/// <summary>
/// Rollup reads kept in memory, decoded, each tagged with the ETag of the run's derived state it was read
/// under. Every history change (a post, a rewind, a rebuild, a gap writer's touch) commits that state
/// after writing its pages, so a read under the same state ETag would answer the same pages: a chart
/// re-drawing finished runs reads one state entity per run instead of scanning their pages again
/// (Azurite scans a whole table per query; Azure bills each query). Entries read under an older ETag
/// are replaced on their next read. Bounded by the bytes held; the least recently used go first.
/// </summary>
internal sealed class RollupPageCache
{
    /// <summary>Decoded bucket bytes held at most.</summary>
    public const long DefaultCapacityBytes = 256L * 1024 * 1024;

    private readonly long _capacityBytes;
    private readonly Dictionary<string, LinkedListNode<Entry>> _entries = new(StringComparer.Ordinal);
    private readonly LinkedList<Entry> _recency = new();
    private readonly Lock _gate = new();
    private long _bytes;

    public RollupPageCache(long capacityBytes = DefaultCapacityBytes) => _capacityBytes = capacityBytes;

    /// <summary>Bytes held now (for tests and diagnostics).</summary>
    public long Bytes
    {
        get
        {
            lock (_gate)
            {
                return _bytes;
            }
        }
    }

    public static string Key(string partitionKey, int level, long firstPage, long lastPage, IReadOnlyList<string>? metrics) =>
        string.Join('\u0000', partitionKey, level, firstPage, lastPage, metrics is null ? "*" : string.Join('\u0001', metrics));

    /// <summary>The read made under <paramref name="stateETag"/> (shared: callers only read it), or null when none is held for it.</summary>
    public RollupRead? Get(string key, ETag stateETag)
    {
        lock (_gate)
        {
            if (!_entries.TryGetValue(key, out var node) || node.Value.StateETag != stateETag)
            {
                return null;
            }
            _recency.Remove(node);
            _recency.AddFirst(node);
            return node.Value.Read;
        }
    }

    public void Put(string key, ETag stateETag, RollupRead read)
    {
        var bytes = read.Bytes + key.Length * 2L;
        if (bytes > _capacityBytes / 4)
        {
            return;
        }
        lock (_gate)
        {
            if (_entries.Remove(key, out var old))
            {
                _recency.Remove(old);
                _bytes -= old.Value.Bytes;
            }
            _entries[key] = _recency.AddFirst(new Entry(key, stateETag, read, bytes));
            _bytes += bytes;
            while (_bytes > _capacityBytes && _recency.Last is { } last)
            {
                _recency.RemoveLast();
                _entries.Remove(last.Value.Key);
                _bytes -= last.Value.Bytes;
            }
        }
    }

    private sealed record Entry(string Key, ETag StateETag, RollupRead Read, long Bytes);
}
