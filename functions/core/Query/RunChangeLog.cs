using System.Collections.Concurrent;
using System.Globalization;
using Azure.Data.Tables;
using Weightless.Core.Runs;
using Weightless.Core.Storage;

namespace Weightless.Core.Query;

/// <summary>One change-log row: "run <see cref="RunId"/> changed at the time its row key starts with".</summary>
internal sealed class RunChangeRow : TableRow
{
    public string RunId { get; set; } = "";

    /// <summary>
    /// How long after its time the entry stands for later commits of its run that wrote no entry of
    /// their own: 0 when the writer skips nothing after it; absent (entries older than this property,
    /// and bulk seeders) means <see cref="RunChangeLog.Lease"/>.
    /// </summary>
    public double? LeaseSeconds { get; set; }

    /// <summary>
    /// The run row's ETag as the logged commit wrote it: a reader whose index already holds that version
    /// skips the entry. Absent when the entry names no one version (deletes, moves, older entries).
    /// </summary>
    public string? RunETag { get; set; }
}

/// <summary>
/// The per-project log of run changes (table <c>runchanges</c>, partition = the runs partition
/// <c>entity:project</c>, row key = <c>ticks:runId:random</c>, so a tail is one indexed range read).
/// Every committed run row write adds an entry <em>after</em> the row write, so whoever sees the entry
/// and then reads the row sees that write. The run index reads only the tail after its watermark
/// instead of scanning the runs partition. Entries say only which run changed: applying one twice is
/// harmless, which is why readers can re-read a safety margin before their watermark.
/// <para>
/// An entry of a run that is being written often is a lease: it covers its run's commits for
/// <see cref="Lease"/> after its time (<see cref="RunChangeRow.LeaseSeconds"/>), and readers re-read
/// such a run until they have read it a lease after the entry. So a writer that logged a run less than
/// a lease ago logs the next commit as a lease and then skips entries until it ends
/// (<see cref="RecordCoalescedAsync"/>): a run streaming file_stream posts costs about one log write per
/// lease instead of one per post, and a query still sees every commit that finished before it started.
/// A run written once (created, finished, edited, seeded) gets an entry without a lease: a reader that
/// read the run after seeing that entry never needs to read it again for it.
/// </para>
/// <para>
/// An entry also names the row version its commit wrote (<see cref="RunChangeRow.RunETag"/>). An entry
/// without a lease stands for that one commit, so an index holding exactly that version skips it
/// however recent it is: a snapshot built right after a bulk seed does not make cold starts re-read
/// the runs seeded within the clock margin before the build. Any other version (older or newer) is re-read.
/// </para>
/// </summary>
internal static class RunChangeLog
{
    public const string TableName = "runchanges";

    /// <summary>How long one entry covers later commits of its run (readers re-read runs named this far back).</summary>
    public static readonly TimeSpan Lease = TimeSpan.FromSeconds(15);

    /// <summary>Runs this process logged lately: (physical table, partition, run) → the last entry's time and the end of its lease.</summary>
    private static readonly ConcurrentDictionary<(string Table, string Partition, string RunId), (DateTimeOffset Logged, DateTimeOffset LeaseEnd)> Leases = new();

    /// <summary>Above this many remembered leases the expired ones are dropped (bounded memory).</summary>
    private const int LeaseSweepThreshold = 10_000;

    /// <summary>Records that the run changed, always (deletes, moves, state changes: rare writes).</summary>
    public static Task RecordAsync(StorageAccount storage, RunKey key, CancellationToken cancellationToken = default) =>
        WriteAsync(storage, key, leased: false, null, cancellationToken);

    /// <summary>
    /// Records a committed run row write unless this process holds a lease on the run (then readers
    /// re-read it anyway). The entry is a lease when this process's last entry of the run covered it
    /// until less than a lease ago (a run written often); otherwise it stands for this commit only. Call after the row write: the
    /// lease check must see the commit's end. <paramref name="committed"/> is the ETag the row write returned.
    /// </summary>
    public static Task RecordCoalescedAsync(StorageAccount storage, RunKey key, bool stateChanged, Azure.ETag committed, CancellationToken cancellationToken = default)
    {
        var now = DateTimeOffset.UtcNow;
        var known = Leases.TryGetValue((storage.PhysicalName(TableName), RunService.PartitionOf(key.Entity, key.Project), key.RunId), out var last);
        if (!stateChanged && known && now < last.LeaseEnd)
        {
            return Task.CompletedTask;
        }
        // Written again within a lease of what the last entry covered: a run being streamed, so a lease.
        return WriteAsync(storage, key, leased: !stateChanged && known && now - last.LeaseEnd < Lease, committed.ToString(), cancellationToken);
    }

    private static async Task WriteAsync(StorageAccount storage, RunKey key, bool leased, string? committed, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(TableName).ConfigureAwait(false);
        var partition = RunService.PartitionOf(key.Entity, key.Project);
        var time = DateTimeOffset.UtcNow;
        await table.UpsertAsync(new RunChangeRow
        {
            PartitionKey = partition,
            RowKey = TableKeys.Compose(TimeKey(time), key.RunId, Guid.NewGuid().ToString("N")[..8]),
            RunId = key.RunId,
            LeaseSeconds = leased ? Lease.TotalSeconds : 0,
            RunETag = string.IsNullOrEmpty(committed) ? null : committed,
        }, cancellationToken: cancellationToken).ConfigureAwait(false);
        // A lease starts at the entry's time (readers count from the row key), only once it is stored.
        Leases[(storage.PhysicalName(TableName), partition, key.RunId)] = (time, leased ? time + Lease : time);
        if (Leases.Count > LeaseSweepThreshold)
        {
            var stale = DateTimeOffset.UtcNow - Lease;
            foreach (var (run, entry) in Leases)
            {
                if (entry.Logged <= stale && entry.LeaseEnd <= stale)
                {
                    Leases.TryRemove(run, out _);
                }
            }
        }
    }

    /// <summary>How long after its time an entry stands for later unlogged commits of its run.</summary>
    public static TimeSpan LeaseOf(RunChangeRow row) => row.LeaseSeconds is { } seconds ? TimeSpan.FromSeconds(seconds) : Lease;

    /// <summary>The entry's time (the first part of its row key).</summary>
    public static long TicksOf(RunChangeRow row) =>
        long.TryParse(row.RowKey.AsSpan(0, Math.Min(19, row.RowKey.Length)), NumberStyles.None, CultureInfo.InvariantCulture, out var ticks) ? ticks : 0;

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
