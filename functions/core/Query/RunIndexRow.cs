namespace Weightless.Core.Query;

/// <summary>
/// The filterable, sortable fields of one run, as the per-project run index holds them. Config keys
/// are unwrapped (W&amp;B's <c>{"value": …}</c> removed) and nested keys flattened with dots, as are
/// summary keys; dates are UTC.
/// </summary>
internal sealed record RunIndexRow
{
    public required string Id { get; init; }
    public string? DisplayName { get; init; }
    public string State { get; init; } = "running";
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset HeartbeatAt { get; init; }
    public string? User { get; init; }
    public IReadOnlyList<string> Tags { get; init; } = [];
    public string? Group { get; init; }
    public string? JobType { get; init; }
    public string? Host { get; init; }
    public string? Sweep { get; init; }

    /// <summary>Seconds the run has run: summary <c>_runtime</c> when logged, else heartbeat minus creation.</summary>
    public double Runtime { get; init; }
    public bool Deleted { get; init; }
    public IReadOnlyDictionary<string, IndexValue> Config { get; init; } = new Dictionary<string, IndexValue>(StringComparer.Ordinal);
    public IReadOnlyDictionary<string, IndexValue> Summary { get; init; } = new Dictionary<string, IndexValue>(StringComparer.Ordinal);

    /// <summary>
    /// Which stored version of the run row these fields were read from (<see cref="RunVersion.Of"/> of its
    /// ETag; 0 when unknown, e.g. a deleted run). Bookkeeping of the index, not a field of the run.
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public ulong Version { get; init; }
}

/// <summary>
/// A run row version as the run index keeps it: a 64-bit hash of the row's ETag, which the storage
/// service changes on every write. A change-log entry carries the ETag its commit wrote, so an index
/// that read exactly that version knows the entry brings nothing new (<see cref="RunTable.Covers"/>).
/// </summary>
internal static class RunVersion
{
    /// <summary>FNV-1a over the ETag's characters; 0 (unknown) for no ETag.</summary>
    public static ulong Of(string? etag)
    {
        if (string.IsNullOrEmpty(etag))
        {
            return 0;
        }
        var hash = 14695981039346656037UL;
        foreach (var c in etag)
        {
            hash = (hash ^ c) * 1099511628211UL;
        }
        return hash == 0 ? 1 : hash;
    }
}

/// <summary>The current state of some runs: rows to upsert, ids to drop (moved away or gone).</summary>
internal sealed record RunIndexDelta(IReadOnlyList<RunIndexRow> Rows, IReadOnlyList<string> Removed);

/// <summary>
/// One change-log entry: its unique key, the run it names, its time (UTC ticks), how long after that
/// it stands for the run's later commits that logged no entry (<see cref="RunChangeLog.Lease"/> or zero)
/// and the run row version its commit wrote (<see cref="RunVersion"/>; 0 when the entry names none).
/// </summary>
internal sealed record RunChange(string Key, string RunId, long Ticks = 0, TimeSpan Lease = default, ulong Version = 0);

/// <summary>
/// A change-log tail as the run index reads it: its entries, oldest first, and the log's compaction mark
/// (UTC ticks; 0 when never compacted): entries before the mark may be gone.
/// </summary>
internal sealed record RunChangeSet(IReadOnlyList<RunChange> Changes, long CompactedThroughTicks = 0);

/// <summary>Where the run index reads runs from (the run store and its change log in production).</summary>
internal interface IRunIndexSource
{
    /// <summary>Every run of the project, deleted ones included (flagged).</summary>
    IAsyncEnumerable<RunIndexRow> ReadAllAsync(string entity, string project, CancellationToken cancellationToken);

    /// <summary>
    /// Change-log entries with a lease written at or after <paramref name="since"/> and every entry written
    /// at or after <paramref name="unleasedSince"/> (an entry without a lease from before it stands for a
    /// commit the reader holds), with the log's compaction mark.
    /// </summary>
    Task<RunChangeSet> ReadChangesAsync(string entity, string project, DateTimeOffset since, DateTimeOffset unleasedSince, CancellationToken cancellationToken);

    /// <summary>The current rows of the named runs (point reads).</summary>
    Task<RunIndexDelta> ReadRunsAsync(string entity, string project, IReadOnlyCollection<string> runIds, CancellationToken cancellationToken);

    /// <summary>
    /// Compacts the change log: raises its compaction mark to <paramref name="before"/>, then drops the
    /// entries older than that (bounded work per call).
    /// </summary>
    Task CompactChangesAsync(string entity, string project, DateTimeOffset before, CancellationToken cancellationToken);
}
