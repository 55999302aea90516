using System.Globalization;
using Azure.Data.Tables;
using Weightless.Core.Runs;
using Weightless.Core.Storage;

namespace Weightless.Core.Query;

/// <summary>One change-log row: "run <see cref="RunId"/> changed at the time its row key starts with".</summary>
internal sealed class RunChangeRow : TableRow
{
    public string RunId { get; set; } = "";
}

/// <summary>
/// The per-project log of run changes (table <c>runchanges</c>, partition = the runs partition
/// <c>entity:project</c>, row key = <c>ticks:runId:random</c>, so a tail is one indexed range read).
/// Every committed run row write adds an entry <em>after</em> the row write, so whoever sees the entry
/// and then reads the row sees that write. The run index reads only the tail after its watermark
/// instead of scanning the runs partition. Entries say only which run changed: applying one twice is
/// harmless, which is why readers can re-read a safety margin before their watermark.
/// </summary>
internal static class RunChangeLog
{
    public const string TableName = "runchanges";

    /// <summary>Records that the run changed (called once per committed run row write).</summary>
    public static async Task RecordAsync(StorageAccount storage, RunKey key, CancellationToken cancellationToken = default)
    {
        var table = await storage.TableAsync(TableName).ConfigureAwait(false);
        await table.UpsertAsync(new RunChangeRow
        {
            PartitionKey = RunService.PartitionOf(key.Entity, key.Project),
            RowKey = TableKeys.Compose(TimeKey(DateTimeOffset.UtcNow), key.RunId, Guid.NewGuid().ToString("N")[..8]),
            RunId = key.RunId,
        }, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Entries at or after <paramref name="since"/>, oldest first.</summary>
    public static async Task<List<RunChangeRow>> ReadSinceAsync(StorageAccount storage, string entity, string project, DateTimeOffset since, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(TableName).ConfigureAwait(false);
        var result = new List<RunChangeRow>();
        await foreach (var row in table.QueryPartitionAsync<RunChangeRow>(RunService.PartitionOf(entity, project), TimeKey(since), cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            result.Add(row);
        }
        return result;
    }

    /// <summary>Deletes up to <paramref name="max"/> entries older than <paramref name="before"/> (snapshots past them never read them again).</summary>
    public static async Task<int> PruneAsync(StorageAccount storage, string entity, string project, DateTimeOffset before, int max, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(TableName).ConfigureAwait(false);
        var actions = new List<TableTransactionAction>();
        await foreach (var row in table.QueryPartitionAsync<RunChangeRow>(RunService.PartitionOf(entity, project), toRowKey: TimeKey(before), cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            actions.Add(new TableTransactionAction(TableTransactionActionType.Delete, row, Azure.ETag.All));
            if (actions.Count >= max)
            {
                break;
            }
        }
        if (actions.Count > 0)
        {
            await table.SubmitBatchAsync(actions, cancellationToken).ConfigureAwait(false);
        }
        return actions.Count;
    }

    /// <summary>Fixed-width UTC ticks: row keys sort by time.</summary>
    public static string TimeKey(DateTimeOffset time) => Math.Max(0, time.UtcTicks).ToString("D19", CultureInfo.InvariantCulture);
}
