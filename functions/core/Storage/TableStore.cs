using System.Diagnostics;
using System.Runtime.CompilerServices;
using Azure;
using Azure.Data.Tables;
using Weightless.Core.Errors;

namespace Weightless.Core.Storage;

/// <summary>
/// One table, behind the rules Azure enforces and Azurite does not: batches of at most 100
/// entities of one partition and under 4 MiB, entities under 1 MiB, strings under 32K chars and
/// binary properties under 64 KiB. ETag conflicts become <see cref="ConflictException"/>.
/// </summary>
internal sealed class TableStore(TableClient client, StorageMetrics metrics)
{
    public const int MaxBatchEntities = 100;
    public const int MaxBatchBytes = 4 * 1024 * 1024;
    public const int MaxEntityBytes = 1024 * 1024;
    public const int MaxStringChars = 32 * 1024;
    public const int MaxBinaryBytes = 64 * 1024;

    // Per-request envelope overhead in a batch (changeset boundaries, headers) — a conservative allowance.
    private const int BatchOverheadPerEntity = 1024;

    public string Name => client.Name;

    internal Task CreateIfNotExistsAsync() =>
        Measure("create", () => client.CreateIfNotExistsAsync());

    public async Task<T?> GetAsync<T>(string partitionKey, string rowKey, CancellationToken cancellationToken = default)
        where T : class, ITableEntity
    {
        var response = await Measure("get", () => client.GetEntityIfExistsAsync<T>(partitionKey, rowKey, cancellationToken: cancellationToken)).ConfigureAwait(false);
        return response.HasValue ? response.Value : null;
    }

    public async IAsyncEnumerable<T> QueryAsync<T>(string? filter, int? maxPerPage = null, IEnumerable<string>? select = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        where T : class, ITableEntity
    {
        var stopwatch = Stopwatch.StartNew();
        var pages = client.QueryAsync<T>(filter, maxPerPage, select, cancellationToken).AsPages();
        await using var enumerator = pages.GetAsyncEnumerator(cancellationToken);
        while (true)
        {
            bool more;
            try
            {
                more = await enumerator.MoveNextAsync().ConfigureAwait(false);
            }
            catch (RequestFailedException ex)
            {
                metrics.Record("table", "query", Outcome(ex), stopwatch.Elapsed.TotalMilliseconds);
                throw Map(ex);
            }
            if (!more)
            {
                break;
            }
            metrics.Record("table", "query", "ok", stopwatch.Elapsed.TotalMilliseconds);
            foreach (var item in enumerator.Current.Values)
            {
                yield return item;
            }
            stopwatch.Restart();
        }
    }

    /// <summary>All entities of one partition, optionally only row keys in [<paramref name="fromRowKey"/>, <paramref name="toRowKey"/>).</summary>
    public IAsyncEnumerable<T> QueryPartitionAsync<T>(string partitionKey, string? fromRowKey = null, string? toRowKey = null, CancellationToken cancellationToken = default)
        where T : class, ITableEntity
    {
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {partitionKey}");
        if (fromRowKey is not null)
        {
            filter += " and " + TableClient.CreateQueryFilter($"RowKey ge {fromRowKey}");
        }
        if (toRowKey is not null)
        {
            filter += " and " + TableClient.CreateQueryFilter($"RowKey lt {toRowKey}");
        }
        return QueryAsync<T>(filter, cancellationToken: cancellationToken);
    }

    /// <summary>Inserts; <see cref="ConflictException"/> if the entity exists.</summary>
    public async Task<ETag> AddAsync(ITableEntity entity, CancellationToken cancellationToken = default)
    {
        Validate(entity);
        var response = await Measure("add", () => client.AddEntityAsync(entity, cancellationToken)).ConfigureAwait(false);
        return response.Headers.ETag ?? default;
    }

    public async Task<ETag> UpsertAsync(ITableEntity entity, TableUpdateMode mode = TableUpdateMode.Replace, CancellationToken cancellationToken = default)
    {
        Validate(entity);
        var response = await Measure("upsert", () => client.UpsertEntityAsync(entity, mode, cancellationToken)).ConfigureAwait(false);
        return response.Headers.ETag ?? default;
    }

    /// <summary>Replaces if <paramref name="ifMatch"/> still matches; <see cref="ConflictException"/> when another writer got there first.</summary>
    public async Task<ETag> UpdateAsync(ITableEntity entity, ETag ifMatch, TableUpdateMode mode = TableUpdateMode.Replace, CancellationToken cancellationToken = default)
    {
        Validate(entity);
        var response = await Measure("update", () => client.UpdateEntityAsync(entity, ifMatch, mode, cancellationToken)).ConfigureAwait(false);
        return response.Headers.ETag ?? default;
    }

    public Task DeleteAsync(string partitionKey, string rowKey, ETag ifMatch = default, CancellationToken cancellationToken = default) =>
        Measure("delete", () => client.DeleteEntityAsync(partitionKey, rowKey, ifMatch, cancellationToken));

    /// <summary>
    /// Submits actions that all share one partition key as entity-group transactions of at most
    /// 100 entities and 4 MiB each. Each chunk is atomic; the whole call is not, so callers make
    /// their writes idempotent (deterministic keys, upserts).
    /// </summary>
    public async Task SubmitBatchAsync(IReadOnlyList<TableTransactionAction> actions, CancellationToken cancellationToken = default)
    {
        if (actions.Count == 0)
        {
            return;
        }
        var partition = actions[0].Entity.PartitionKey;
        foreach (var action in actions)
        {
            if (!string.Equals(action.Entity.PartitionKey, partition, StringComparison.Ordinal))
            {
                throw new InvalidOperationException($"A table batch must stay within one partition; got '{partition}' and '{action.Entity.PartitionKey}'.");
            }
        }
        foreach (var chunk in Chunk(actions))
        {
            await SubmitChunkAsync(chunk, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Groups actions by partition and submits each group as <see cref="SubmitBatchAsync"/> does.</summary>
    public async Task SubmitByPartitionAsync(IEnumerable<TableTransactionAction> actions, CancellationToken cancellationToken = default)
    {
        foreach (var group in actions.GroupBy(a => a.Entity.PartitionKey, StringComparer.Ordinal))
        {
            await SubmitBatchAsync(group.ToList(), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Splits into chunks of at most 100 actions and <see cref="MaxBatchBytes"/> estimated bytes.</summary>
    internal static IEnumerable<List<TableTransactionAction>> Chunk(IReadOnlyList<TableTransactionAction> actions)
    {
        var chunk = new List<TableTransactionAction>(Math.Min(actions.Count, MaxBatchEntities));
        long bytes = 0;
        foreach (var action in actions)
        {
            var size = Validate(action.Entity) + BatchOverheadPerEntity;
            if (chunk.Count == MaxBatchEntities || (chunk.Count > 0 && bytes + size > MaxBatchBytes))
            {
                yield return chunk;
                chunk = new List<TableTransactionAction>(MaxBatchEntities);
                bytes = 0;
            }
            chunk.Add(action);
            bytes += size;
        }
        if (chunk.Count > 0)
        {
            yield return chunk;
        }
    }

    /// <summary>Checks Azure's per-entity limits and returns the estimated size in bytes on the wire of a batch.</summary>
    internal static long Validate(ITableEntity entity)
    {
        long size = 4 + (entity.PartitionKey.Length + entity.RowKey.Length) * 2L;
        long wireOverhead = 0;
        if (entity.PartitionKey.Length > TableKeys.MaxLength || entity.RowKey.Length > TableKeys.MaxLength)
        {
            throw new ValidationFailedException("A key is longer than 1 KiB.", "name");
        }
        IEnumerable<KeyValuePair<string, object?>> properties = entity is TableEntity dictionary
            ? dictionary
            : entity.GetType().GetProperties().Where(p => p.CanRead && p.GetIndexParameters().Length == 0).Select(p => new KeyValuePair<string, object?>(p.Name, p.GetValue(entity)));
        foreach (var (name, value) in properties)
        {
            size += 8 + name.Length * 2L;
            switch (value)
            {
                case string text:
                    if (text.Length > MaxStringChars)
                    {
                        throw new TooLargeException($"Property '{name}' is {text.Length} characters; a stored string may hold at most {MaxStringChars}.", name);
                    }
                    size += 4 + text.Length * 2L;
                    break;
                case byte[] bytes:
                    if (bytes.Length > MaxBinaryBytes)
                    {
                        throw new TooLargeException($"Property '{name}' is {bytes.Length} bytes; a stored binary value may hold at most {MaxBinaryBytes}.", name);
                    }
                    size += 4 + bytes.Length;
                    wireOverhead += Base64Overhead(bytes.Length);
                    break;
                case BinaryData data:
                    size += 4 + data.ToMemory().Length;
                    wireOverhead += Base64Overhead(data.ToMemory().Length);
                    break;
                case null:
                    break;
                default:
                    size += 16;
                    break;
            }
        }
        if (size > MaxEntityBytes)
        {
            throw new TooLargeException($"An entity would be {size} bytes; Azure Table storage allows at most 1 MiB.", "entity");
        }
        // Binary values travel base64-encoded in a batch request, which is what the 4 MiB batch limit measures.
        return size + wireOverhead;
    }

    private static long Base64Overhead(int bytes) => ((bytes + 2) / 3 * 4) - bytes;

    /// <summary>True when <paramref name="actions"/> fit one atomic transaction (<see cref="SubmitTransactionAsync"/>).</summary>
    public static bool FitsOneTransaction(IReadOnlyList<TableTransactionAction> actions)
    {
        if (actions.Count is 0 or > MaxBatchEntities)
        {
            return false;
        }
        // What Chunk would do, without building the chunks: one action always makes a chunk of its own.
        long bytes = 0;
        foreach (var action in actions)
        {
            bytes += Validate(action.Entity) + BatchOverheadPerEntity;
        }
        return actions.Count == 1 || bytes <= MaxBatchBytes;
    }

    /// <summary>
    /// Submits <paramref name="actions"/> (one partition, <see cref="FitsOneTransaction"/>) as ONE atomic
    /// transaction and returns each action's new ETag (null for deletes or when the service sent none).
    /// </summary>
    public async Task<IReadOnlyList<ETag?>> SubmitTransactionAsync(IReadOnlyList<TableTransactionAction> actions, CancellationToken cancellationToken = default)
    {
        if (!FitsOneTransaction(actions) || !OnePartition(actions))
        {
            throw new InvalidOperationException("A single transaction needs 1-100 actions in one partition under the batch size limit.");
        }
        var responses = await SubmitChunkAsync(actions, cancellationToken).ConfigureAwait(false);
        var etags = new ETag?[actions.Count];
        for (var i = 0; i < etags.Length && i < responses.Count; i++)
        {
            etags[i] = responses[i].Headers.ETag;
        }
        return etags;
    }

    private static bool OnePartition(IReadOnlyList<TableTransactionAction> actions)
    {
        var partition = actions[0].Entity.PartitionKey;
        for (var i = 1; i < actions.Count; i++)
        {
            if (!string.Equals(actions[i].Entity.PartitionKey, partition, StringComparison.Ordinal))
            {
                return false;
            }
        }
        return true;
    }

    private async Task<IReadOnlyList<Response>> SubmitChunkAsync(IReadOnlyList<TableTransactionAction> chunk, CancellationToken cancellationToken)
    {
        var stopwatch = Stopwatch.StartNew();
        try
        {
            var response = await client.SubmitTransactionAsync(chunk, cancellationToken).ConfigureAwait(false);
            metrics.Record("table", "batch", "ok", stopwatch.Elapsed.TotalMilliseconds, chunk.Count);
            return response.Value;
        }
        catch (TableTransactionFailedException ex)
        {
            metrics.Record("table", "batch", Outcome(ex), stopwatch.Elapsed.TotalMilliseconds);
            throw Map(ex);
        }
        catch (RequestFailedException ex)
        {
            metrics.Record("table", "batch", Outcome(ex), stopwatch.Elapsed.TotalMilliseconds);
            throw Map(ex);
        }
    }

    private async Task<TResult> Measure<TResult>(string operation, Func<Task<TResult>> call)
    {
        var stopwatch = Stopwatch.StartNew();
        try
        {
            var result = await call().ConfigureAwait(false);
            metrics.Record("table", operation, "ok", stopwatch.Elapsed.TotalMilliseconds);
            return result;
        }
        catch (RequestFailedException ex)
        {
            metrics.Record("table", operation, Outcome(ex), stopwatch.Elapsed.TotalMilliseconds);
            throw Map(ex);
        }
    }

    private static string Outcome(RequestFailedException ex) => ex.Status switch
    {
        404 => "not_found",
        409 => "conflict",
        412 => "precondition_failed",
        _ => "error",
    };

    private static Exception Map(RequestFailedException ex) => ex.Status switch
    {
        409 => new ConflictException("The item already exists.", ex),
        412 => new ConflictException("The item was changed by someone else; read it again and retry.", ex),
        404 when ex.ErrorCode is "ResourceNotFound" or "EntityNotFound" => new NotFoundException("Not found."),
        _ => ex,
    };
}
