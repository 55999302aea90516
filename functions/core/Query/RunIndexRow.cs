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
}

/// <summary>Runs changed since a watermark: rows to upsert, ids to drop (moved away), and the new watermark.</summary>
internal sealed record RunIndexDelta(IReadOnlyList<RunIndexRow> Rows, IReadOnlyList<string> Removed, DateTimeOffset Watermark);

/// <summary>Where the run index reads runs from (the run store in production; generated rows in tests and the bench).</summary>
internal interface IRunIndexSource
{
    /// <summary>Every run of the project, deleted ones included (flagged).</summary>
    IAsyncEnumerable<RunIndexRow> ReadAllAsync(string entity, string project, CancellationToken cancellationToken);

    /// <summary>
    /// Runs changed at or after <paramref name="since"/> (a watermark from a previous read). Runs removed
    /// outright by other code paths are not reported; the periodic full read catches those.
    /// </summary>
    Task<RunIndexDelta> ReadChangedAsync(string entity, string project, DateTimeOffset since, CancellationToken cancellationToken);

    /// <summary>The watermark a full read starting now may use (later changes are re-read by the next delta).</summary>
    DateTimeOffset CurrentWatermark();
}
