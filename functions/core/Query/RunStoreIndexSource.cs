using Azure.Data.Tables;
using Weightless.Core.History;
using Weightless.Core.Runs;
using Weightless.Core.Storage;

namespace Weightless.Core.Query;

/// <summary>
/// A deleted run (table <c>deletedruns</c>, same keys as <c>runs</c>): the whole run row moved aside, so
/// every reader of <c>runs</c> (GraphQL, file_stream) sees it gone while undelete can restore it. A row
/// with <see cref="MovedTo"/> is only a marker that the run moved to another project.
/// </summary>
internal sealed class DeletedRunMarker
{
    public const string TableName = "deletedruns";
    public const string MovedToProperty = "MovedTo";
    public const string DeletedAtProperty = "DeletedAt";
}

/// <summary>Reads the run index's rows from the run store (tables <c>runs</c> and <c>deletedruns</c>) and its change log.</summary>
internal sealed class RunStoreIndexSource(StorageAccount storage, RunService runs) : IRunIndexSource
{
    public async IAsyncEnumerable<RunIndexRow> ReadAllAsync(string entity, string project, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var partition = RunService.PartitionOf(entity, project);
        var live = new HashSet<string>(StringComparer.Ordinal);
        var table = await storage.TableAsync(RunService.RunsTable).ConfigureAwait(false);
        await foreach (var row in table.QueryPartitionAsync<RunRow>(partition, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            live.Add(row.RunId);
            yield return await ToIndexRowAsync(row, deleted: false, cancellationToken).ConfigureAwait(false);
        }
        var deleted = await storage.TableAsync(DeletedRunMarker.TableName).ConfigureAwait(false);
        await foreach (var entity_ in deleted.QueryPartitionAsync<TableEntity>(partition, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            if (entity_.GetString(DeletedRunMarker.MovedToProperty) is null && entity_.GetString(nameof(RunRow.RunId)) is { } id && !live.Contains(id))
            {
                yield return await ToIndexRowAsync(ToRunRow(entity_), deleted: true, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    public async Task<RunChangeSet> ReadChangesAsync(string entity, string project, DateTimeOffset since, DateTimeOffset unleasedSince, CancellationToken cancellationToken)
    {
        var tail = await RunChangeLog.ReadTailAsync(storage, entity, project, since, unleasedSince, cancellationToken).ConfigureAwait(false);
        return new RunChangeSet(tail.Entries.Select(r => new RunChange(r.RowKey, r.RunId, RunChangeLog.TicksOf(r), RunChangeLog.LeaseOf(r), RunVersion.Of(r.RunETag))).ToList(), tail.CompactedThroughTicks);
    }

    /// <summary>At most this many entries are deleted per compaction (a bulk seed's worth of 100,000 runs in one).</summary>
    private const int CompactionBatch = 100_000;

    public Task CompactChangesAsync(string entity, string project, DateTimeOffset before, CancellationToken cancellationToken) =>
        RunChangeLog.CompactAsync(storage, entity, project, before, CompactionBatch, cancellationToken);

    /// <summary>
    /// Point reads of each named run: the live row (flagged deleted when soft-deleted), else a deleted
    /// run's kept row, else nothing (moved away or never existed), which removes it from the index.
    /// </summary>
    public async Task<RunIndexDelta> ReadRunsAsync(string entity, string project, IReadOnlyCollection<string> runIds, CancellationToken cancellationToken)
    {
        var partition = RunService.PartitionOf(entity, project);
        var table = await storage.TableAsync(RunService.RunsTable).ConfigureAwait(false);
        var deleted = await storage.TableAsync(DeletedRunMarker.TableName).ConfigureAwait(false);
        var found = new RunIndexRow?[runIds.Count];
        var ids = runIds.ToArray();
        // A page of rows (50) in one round of requests; bulk re-reads at most 64 at a time.
        await Parallel.ForAsync(0, ids.Length, new ParallelOptions { MaxDegreeOfParallelism = 64, CancellationToken = cancellationToken }, async (i, ct) =>
        {
            var rowKey = TableKeys.Escape(ids[i]);
            if (await table.GetAsync<RunRow>(partition, rowKey, ct).ConfigureAwait(false) is { } row)
            {
                found[i] = await ToIndexRowAsync(row, deleted: false, ct).ConfigureAwait(false);
            }
            else if (await deleted.GetAsync<TableEntity>(partition, rowKey, ct).ConfigureAwait(false) is { } marker
                && marker.GetString(DeletedRunMarker.MovedToProperty) is null)
            {
                found[i] = await ToIndexRowAsync(ToRunRow(marker), deleted: true, ct).ConfigureAwait(false);
            }
        }).ConfigureAwait(false);
        return new RunIndexDelta(
            found.Where(r => r is not null).Select(r => r!).ToList(),
            ids.Where((_, i) => found[i] is null).ToList());
    }

    /// <summary>A deleted run's stored row back as a <see cref="RunRow"/> (same properties).</summary>
    internal static RunRow ToRunRow(TableEntity entity)
    {
        var row = new RunRow { PartitionKey = entity.PartitionKey, RowKey = entity.RowKey, ETag = entity.ETag, Timestamp = entity.Timestamp };
        foreach (var property in typeof(RunRow).GetProperties())
        {
            if (property.CanWrite && property.Name is not (nameof(RunRow.PartitionKey) or nameof(RunRow.RowKey) or nameof(RunRow.ETag) or nameof(RunRow.Timestamp))
                && entity.TryGetValue(property.Name, out var value) && value is not null)
            {
                var target = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
                property.SetValue(row, target == typeof(DateTimeOffset) && value is DateTime dt ? new DateTimeOffset(dt, TimeSpan.Zero)
                    : target == typeof(int) && value is long l ? (int)l
                    : value);
            }
        }
        return row;
    }

    public async Task<RunIndexRow> ToIndexRowAsync(RunRow row, bool deleted, CancellationToken cancellationToken)
    {
        var config = Flatten(await runs.GetConfigAsync(row, cancellationToken).ConfigureAwait(false), unwrap: true);
        var summary = Flatten(await runs.GetSummaryAsync(row, cancellationToken).ConfigureAwait(false), unwrap: false);
        var runtime = summary.TryGetValue("_runtime", out var logged) && logged.Kind == IndexValueKind.Number
            ? logged.Number
            : Math.Max(0, (row.HeartbeatAt - row.CreatedAt).TotalSeconds);
        return new RunIndexRow
        {
            Id = row.RunId,
            DisplayName = row.DisplayName,
            State = row.State,
            CreatedAt = row.CreatedAt,
            HeartbeatAt = row.HeartbeatAt,
            User = row.CreatedBy,
            Tags = RunService.GetTags(row),
            Group = row.Group,
            JobType = row.JobType,
            Host = row.Host,
            Sweep = row.SweepName,
            Runtime = runtime,
            Deleted = deleted || row.DeletedAt is not null,
            // A live row's version (a deleted run's kept row lives in another table: no version to match).
            Version = deleted ? 0 : RunVersion.Of(row.ETag.ToString()),
            Config = config,
            Summary = summary,
        };
    }

    /// <summary>
    /// Flattens a config or summary document to dotted keys. Config values are unwrapped from W&amp;B's
    /// <c>{"desc": …, "value": …}</c>; <c>_wandb</c> (client bookkeeping) is left out; media objects
    /// (with <c>_type</c>) and lists stay whole.
    /// </summary>
    public static Dictionary<string, IndexValue> Flatten(string? json, bool unwrap)
    {
        var result = new Dictionary<string, IndexValue>(StringComparer.Ordinal);
        if (string.IsNullOrWhiteSpace(json) || !TolerantJson.TryParse(json, out var parsed) || parsed is not JsonLineObject root)
        {
            return result;
        }
        foreach (var (key, raw) in root)
        {
            if (key == "_wandb")
            {
                continue;
            }
            var value = unwrap && raw is JsonLineObject wrapped && wrapped.TryGetValue("value", out var inner) ? inner : raw;
            Add(key, value);
        }
        return result;

        void Add(string key, object? value)
        {
            if (value is JsonLineObject nested && nested.MediaType is null && nested.Count > 0)
            {
                foreach (var (child, childValue) in nested)
                {
                    Add(key + "." + child, childValue);
                }
            }
            else
            {
                result[key] = IndexValue.FromParsed(value);
            }
        }
    }
}
