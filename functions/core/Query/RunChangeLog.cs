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

    /// <summary>
    /// Only on the partition's compaction marker (<see cref="RunChangeLog.CompactedRowKey"/>): entries
    /// before this time (UTC ticks) may have been deleted.
    /// </summary>
    public long? CompactedThrough { get; set; }
}

/// <summary>
/// A change-log tail: its entries, oldest first, and the partition's compaction mark (UTC ticks; 0 when
/// never compacted). A reader whose window starts before the mark may have lost entries it needs.
/// </summary>
internal sealed record RunChangeTail(IReadOnlyList<RunChangeRow> Entries, long CompactedThroughTicks);

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
/// <para>
/// Compaction (<see cref="CompactAsync"/>, after a snapshot save) keeps the log short: it first raises
/// the partition's marker row (<see cref="CompactedRowKey"/>, which sorts after every entry, so each
/// tail read ends with it) and then deletes the entries before the mark. A reader whose window starts
/// before the mark reopens from the snapshot instead of trusting its table; one whose window starts at
/// or after it has every entry it needs. Entries are never deleted before the marker says so.
/// </para>
/// </summary>
internal static class RunChangeLog
{
    public const string TableName = "runchanges";

    /// <summary>The row key of a partition's compaction marker: after every entry's (digits), so a tail read returns it last.</summary>
    public const string CompactedRowKey = "~compacted";

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
    public static async Task<List<RunChangeRow>> ReadSinceAsync(StorageAccount storage, string entity, string project, DateTimeOffset since, CancellationToken cancellationToken) =>
        [.. (await ReadTailAsync(storage, entity, project, since, since, cancellationToken).ConfigureAwait(false)).Entries];

    /// <summary>
    /// The tail a reader needs: leased entries at or after <paramref name="since"/> and every entry at or
    /// after <paramref name="unleasedSince"/> (an entry without a lease from before it stands for one
    /// commit the reader already holds), with the compaction mark. One range read; the lease test runs
    /// in the storage service, so a burst of one-time writes before the window's last part (a bulk seed)
    /// is not sent at all.
    /// </summary>
    public static async Task<RunChangeTail> ReadTailAsync(StorageAccount storage, string entity, string project, DateTimeOffset since, DateTimeOffset unleasedSince, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(TableName).ConfigureAwait(false);
        var from = TimeKey(since);
        var unleasedFrom = TimeKey(unleasedSince > since ? unleasedSince : since);
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {RunService.PartitionOf(entity, project)} and RowKey ge {from}");
        if (string.CompareOrdinal(unleasedFrom, from) > 0)
        {
            // A Double literal (LeaseSeconds is stored as Edm.Double; the service compares like types only).
            filter += " and (" + TableClient.CreateQueryFilter($"RowKey ge {unleasedFrom}") + " or LeaseSeconds gt 0.0)";
        }
        var result = new List<RunChangeRow>();
        long compacted = 0;
        await foreach (var row in table.QueryAsync<RunChangeRow>(filter, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            if (row.RowKey == CompactedRowKey)
            {
                compacted = row.CompactedThrough ?? 0;
            }
            else
            {
                result.Add(row);
            }
        }
        return new RunChangeTail(result, compacted);
    }

    /// <summary>
    /// Deletes up to <paramref name="max"/> entries older than <paramref name="before"/> once the
    /// partition's compaction mark says so (raised first, never lowered): a reader whose window starts
    /// earlier then reopens from the snapshot. Returns how many entries were deleted.
    /// </summary>
    public static async Task<int> CompactAsync(StorageAccount storage, string entity, string project, DateTimeOffset before, int max, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(TableName).ConfigureAwait(false);
        var partition = RunService.PartitionOf(entity, project);
        var through = Math.Max(0, before.UtcTicks);
        if (!await RaiseMarkAsync(table, partition, through, cancellationToken).ConfigureAwait(false))
        {
            return 0;
        }
        var keys = new List<string>();
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {partition} and RowKey lt {TimeKey(before)}");
        await foreach (var row in table.QueryAsync<TableEntity>(filter, select: ["PartitionKey", "RowKey"], cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            keys.Add(row.RowKey);
            if (keys.Count >= max)
            {
                break;
            }
        }
        await Parallel.ForEachAsync(keys.Chunk(100), new ParallelOptions { MaxDegreeOfParallelism = 4, CancellationToken = cancellationToken }, async (chunk, ct) =>
        {
            try
            {
                await table.SubmitBatchAsync([.. chunk.Select(key => new TableTransactionAction(TableTransactionActionType.Delete, new TableEntity(partition, key), Azure.ETag.All))], ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is Errors.NotFoundException or Azure.RequestFailedException { Status: 404 })
            {
                // Another compactor deleted some of them first: the rest one by one.
                foreach (var key in chunk)
                {
                    try
                    {
                        await table.DeleteAsync(partition, key, Azure.ETag.All, ct).ConfigureAwait(false);
                    }
                    catch (Errors.NotFoundException)
                    {
                    }
                }
            }
        }).ConfigureAwait(false);
        return keys.Count;
    }

    /// <summary>Moves the compaction mark up to <paramref name="through"/> (never down); false when concurrent compactors kept it from being written.</summary>
    private static async Task<bool> RaiseMarkAsync(TableStore table, string partition, long through, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < 5; attempt++)
        {
            var marker = await table.GetAsync<RunChangeRow>(partition, CompactedRowKey, cancellationToken).ConfigureAwait(false);
            if (marker?.CompactedThrough >= through)
            {
                return true;
            }
            try
            {
                if (marker is null)
                {
                    await table.AddAsync(new RunChangeRow { PartitionKey = partition, RowKey = CompactedRowKey, CompactedThrough = through }, cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    marker.CompactedThrough = through;
                    await table.UpdateAsync(marker, marker.ETag, cancellationToken: cancellationToken).ConfigureAwait(false);
                }
                return true;
            }
            catch (Errors.ConflictException)
            {
                // Another compactor moved the mark meanwhile: read it again.
            }
        }
        return false;
    }

    /// <summary>Fixed-width UTC ticks: row keys sort by time.</summary>
    public static string TimeKey(DateTimeOffset time) => Math.Max(0, time.UtcTicks).ToString("D19", CultureInfo.InvariantCulture);
}
