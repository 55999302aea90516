using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Weightless.Core.Errors;
using Weightless.Core.Storage;

namespace Weightless.Core.Artifacts;

/// <summary>
/// The events of one state change, waiting to be published (row <c>o:&lt;id&gt;</c> in the partition
/// the change was written to). Written in the same entity-group transaction as the change, so a
/// committed version, link or alias always has its events stored; deleted once they are published.
/// </summary>
internal sealed class OutboxRow : TableRow
{
    public string Events { get; set; } = "[]";
    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>A republisher holds the row until then, so two timers do not publish it at once.</summary>
    public DateTimeOffset? ClaimedUntil { get; set; }
    public int Attempts { get; set; }
}

/// <summary>
/// Transactional outbox for artifact events. Writers add <see cref="Row"/> to the batch that
/// changes state and call <see cref="DispatchAsync"/> after it succeeded; rows left behind (the
/// publisher was down, the process died) are published by <see cref="RepublishPendingAsync"/>
/// from a timer. Every event has a stable id (<c>&lt;outbox id&gt;.&lt;n&gt;</c>), so a consumer that
/// sees an id twice (published, then the delete failed) can drop the repeat.
/// </summary>
internal sealed class ArtifactOutbox(StorageAccount storage, IArtifactEventSink sink, TimeProvider clock, IOptions<ArtifactsOptions> options, ILogger<ArtifactOutbox> logger)
{
    public const string RowPrefix = "o:";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>An outbox row for <paramref name="events"/> in <paramref name="partitionKey"/>; null when there is nothing to publish.</summary>
    public OutboxRow? Row(string partitionKey, IReadOnlyList<ArtifactEvent> events)
    {
        if (events.Count == 0)
        {
            return null;
        }
        var id = Guid.NewGuid().ToString("N");
        var numbered = events.Select((e, i) => e with { Id = $"{id}.{i}" }).ToList();
        return new OutboxRow { PartitionKey = partitionKey, RowKey = RowPrefix + id, Events = JsonSerializer.Serialize(numbered, Json), CreatedAt = clock.GetUtcNow() };
    }

    public static void AddTo(List<TableTransactionAction> actions, OutboxRow? row)
    {
        if (row is not null)
        {
            actions.Add(new TableTransactionAction(TableTransactionActionType.Add, row));
        }
    }

    /// <summary>Publishes right after the change; a failure leaves the row for the timer and is not the caller's error.</summary>
    public async Task DispatchAsync(OutboxRow? row, CancellationToken cancellationToken)
    {
        if (row is null)
        {
            return;
        }
        try
        {
            await PublishAndRemoveAsync(row, ETag.All, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            logger.LogWarning(ex, "Artifact events {Row} not published yet; the outbox timer retries them", row.RowKey);
        }
    }

    /// <summary>
    /// Publishes every outbox row older than <see cref="ArtifactsOptions.OutboxRetryAfter"/> (younger
    /// ones are still being dispatched by their writer). Each row is claimed with its ETag first.
    /// Returns how many rows were published.
    /// </summary>
    public async Task<int> RepublishPendingAsync(CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(ArtifactService.ArtifactsTable).ConfigureAwait(false);
        var now = clock.GetUtcNow();
        var cutoff = now - options.Value.OutboxRetryAfter;
        var filter = TableClient.CreateQueryFilter($"RowKey ge {RowPrefix} and RowKey lt {TableKeys.PrefixEnd(RowPrefix)} and CreatedAt le {cutoff}");
        var published = 0;
        await foreach (var row in table.QueryAsync<OutboxRow>(filter, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            if (row.ClaimedUntil > now)
            {
                continue;
            }
            row.ClaimedUntil = now + options.Value.OutboxClaim;
            row.Attempts++;
            ETag claimed;
            try
            {
                claimed = await table.UpdateAsync(row, row.ETag, cancellationToken: cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is ConflictException or NotFoundException)
            {
                continue;
            }
            try
            {
                await PublishAndRemoveAsync(row, claimed, cancellationToken).ConfigureAwait(false);
                published++;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                logger.LogWarning(ex, "Artifact events {Row} still not published (attempt {Attempts})", row.RowKey, row.Attempts);
            }
        }
        return published;
    }

    private async Task PublishAndRemoveAsync(OutboxRow row, ETag ifMatch, CancellationToken cancellationToken)
    {
        var events = JsonSerializer.Deserialize<List<ArtifactEvent>>(row.Events, Json) ?? [];
        await sink.PublishAsync(events, cancellationToken).ConfigureAwait(false);
        var table = await storage.TableAsync(ArtifactService.ArtifactsTable).ConfigureAwait(false);
        try
        {
            await table.DeleteAsync(row.PartitionKey, row.RowKey, ifMatch, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is ConflictException or NotFoundException)
        {
            // Claimed or removed meanwhile by a republisher: it publishes the same ids again at worst.
        }
    }
}
