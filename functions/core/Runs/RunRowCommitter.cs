using System.Collections.Concurrent;
using Azure;
using Azure.Data.Tables;
using Weightless.Core.Storage;

namespace Weightless.Core.Runs;

/// <summary>
/// Group commit of run-row writes. All runs of a project share one table partition
/// (<see cref="RunService.PartitionOf"/>), so the row writes of concurrent file_stream posts of a
/// project can go to storage as ONE transaction. A write that finds no flush of its partition in
/// flight starts one at once (no added latency when idle); writes arriving meanwhile wait for it and
/// go together in the next transaction, each still If-Match its own ETag.
/// <para>
/// A transaction is all-or-nothing: when it fails (one row lost its ETag race, say), each of its
/// rows is written on its own, so only the row that lost answers <see cref="Errors.ConflictException"/>
/// and the others commit as if they had never been grouped. Nothing is acknowledged before the
/// storage call that stores it returns.
/// </para>
/// </summary>
internal sealed class RunRowCommitter
{
    private readonly ConcurrentDictionary<(TableStore Table, string Partition), PartitionQueue> _queues = new();

    /// <summary>Writes <paramref name="row"/> If-Match <paramref name="ifMatch"/> (Replace) and returns its new ETag.</summary>
    public Task<ETag> UpdateAsync(TableStore table, ITableEntity row, ETag ifMatch, CancellationToken cancellationToken)
    {
        var pending = new PendingWrite(row, ifMatch);
        var key = (table, row.PartitionKey);
        var queue = _queues.GetOrAdd(key, _ => new PartitionQueue());
        bool lead;
        lock (queue.Lock)
        {
            queue.Waiting.Add(pending);
            lead = !queue.Flushing;
            queue.Flushing = true;
        }
        if (lead)
        {
            _ = Task.Run(() => FlushAsync(table, key, queue), CancellationToken.None);
        }
        return pending.Done.Task.WaitAsync(cancellationToken);
    }

    private async Task FlushAsync(TableStore table, (TableStore, string) key, PartitionQueue queue)
    {
        while (true)
        {
            List<PendingWrite> batch;
            lock (queue.Lock)
            {
                batch = TakeBatch(queue.Waiting);
                if (batch.Count == 0)
                {
                    queue.Flushing = false;
                    // An idle partition's queue is dropped; a writer holding it still flushes it itself.
                    _queues.TryRemove(new KeyValuePair<(TableStore, string), PartitionQueue>(key, queue));
                    return;
                }
            }
            await CommitAsync(table, batch).ConfigureAwait(false);
        }
    }

    /// <summary>Up to one transaction's worth of waiting writes, at most one per row (a transaction may not name an entity twice).</summary>
    private static List<PendingWrite> TakeBatch(List<PendingWrite> waiting)
    {
        var batch = new List<PendingWrite>();
        var actions = new List<TableTransactionAction>();
        var rows = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < waiting.Count && batch.Count < 100; i++)
        {
            var pending = waiting[i];
            if (!rows.Add(pending.Row.RowKey))
            {
                continue;
            }
            actions.Add(pending.Action);
            if (batch.Count > 0 && !TableStore.FitsOneTransaction(actions))
            {
                break;
            }
            batch.Add(pending);
        }
        foreach (var pending in batch)
        {
            waiting.Remove(pending);
        }
        return batch;
    }

    private static async Task CommitAsync(TableStore table, List<PendingWrite> batch)
    {
        if (batch.Count > 1)
        {
            try
            {
                var etags = await table.SubmitTransactionAsync([.. batch.Select(p => p.Action)], CancellationToken.None).ConfigureAwait(false);
                for (var i = 0; i < batch.Count; i++)
                {
                    if (etags[i] is { } etag)
                    {
                        batch[i].Done.TrySetResult(etag);
                    }
                    else
                    {
                        batch[i].Done.TrySetException(new InvalidOperationException("The storage service answered a row update without an ETag."));
                    }
                }
                return;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // Some row failed (most likely its If-Match): write each row on its own below.
            }
        }
        await Task.WhenAll(batch.Select(async pending =>
        {
            try
            {
                pending.Done.TrySetResult(await table.UpdateAsync(pending.Row, pending.IfMatch, cancellationToken: CancellationToken.None).ConfigureAwait(false));
            }
            catch (Exception ex)
            {
                pending.Done.TrySetException(ex);
            }
        })).ConfigureAwait(false);
    }

    private sealed class PendingWrite(ITableEntity row, ETag ifMatch)
    {
        public ITableEntity Row { get; } = row;
        public ETag IfMatch { get; } = ifMatch;
        public TableTransactionAction Action { get; } = new(TableTransactionActionType.UpdateReplace, row, ifMatch);
        public TaskCompletionSource<ETag> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private sealed class PartitionQueue
    {
        public Lock Lock { get; } = new();
        public List<PendingWrite> Waiting { get; } = [];
        public bool Flushing { get; set; }
    }
}
