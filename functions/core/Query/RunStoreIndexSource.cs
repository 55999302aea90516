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

/// <summary>Reads the run index's rows from the run store (tables <c>runs</c> and <c>deletedruns</c>).</summary>
internal sealed class RunStoreIndexSource(StorageAccount storage, RunService runs, TimeProvider clock) : IRunIndexSource
{
    public DateTimeOffset CurrentWatermark() => clock.GetUtcNow() - TimeSpan.FromSeconds(5);

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

    public async Task<RunIndexDelta> ReadChangedAsync(string entity, string project, DateTimeOffset since, CancellationToken cancellationToken)
    {
        var partition = RunService.PartitionOf(entity, project);
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {partition} and Timestamp ge {since}");
        var latest = new Dictionary<string, (DateTimeOffset Stamp, RunIndexRow? Row)>(StringComparer.Ordinal);
        var watermark = since;
        var table = await storage.TableAsync(RunService.RunsTable).ConfigureAwait(false);
        await foreach (var row in table.QueryAsync<RunRow>(filter, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            var stamp = row.Timestamp ?? since;
            watermark = stamp > watermark ? stamp : watermark;
            latest[row.RunId] = (stamp, await ToIndexRowAsync(row, deleted: false, cancellationToken).ConfigureAwait(false));
        }
        var deleted = await storage.TableAsync(DeletedRunMarker.TableName).ConfigureAwait(false);
        await foreach (var marker in deleted.QueryAsync<TableEntity>(filter, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            var stamp = marker.Timestamp ?? since;
            watermark = stamp > watermark ? stamp : watermark;
            var id = marker.GetString(nameof(RunRow.RunId)) ?? TableKeys.Unescape(marker.RowKey);
            if (latest.TryGetValue(id, out var existing) && existing.Stamp >= stamp)
            {
                continue;
            }
            latest[id] = (stamp, marker.GetString(DeletedRunMarker.MovedToProperty) is null
                ? await ToIndexRowAsync(ToRunRow(marker), deleted: true, cancellationToken).ConfigureAwait(false)
                : null);
        }
        return new RunIndexDelta(
            latest.Values.Where(v => v.Row is not null).Select(v => v.Row!).ToList(),
            latest.Where(v => v.Value.Row is null).Select(v => v.Key).ToList(),
            watermark);
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
            Deleted = deleted,
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
