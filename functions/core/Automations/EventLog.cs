using System.Globalization;
using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using Azure.Messaging;
using Weightless.Core.Auth;
using Weightless.Core.Storage;
using Weightless.Core.Tenancy;

namespace Weightless.Core.Automations;

/// <summary>One recorded event as the API returns it.</summary>
internal sealed record LoggedEvent(string Id, string Type, string Source, string? Subject, DateTimeOffset? Time, JsonElement? Data);

internal sealed record EventLogPage(string Entity, IReadOnlyList<LoggedEvent> Events);

/// <summary>A stored event: partition = its entity (tenant), row = inverted time + event id.</summary>
internal sealed class EventLogRow : TableRow
{
    public string EventId { get; set; } = "";
    public string Type { get; set; } = "";
    public string Source { get; set; } = "";
    public string? Subject { get; set; }
    public DateTimeOffset? Time { get; set; }
    public string? DataContentType { get; set; }
    public string? DataJson { get; set; }
    public bool DataTruncated { get; set; }
}

/// <summary>
/// Every event the automations app receives, per entity and newest first. It is what automations
/// will match on and what a user reads to see why an automation fired (or did not).
/// </summary>
internal sealed class EventLog(StorageAccount storage, TenancyService tenancy)
{
    public const string Table = "automationevents";

    /// <summary>Partition for events that name no entity (platform events).</summary>
    public const string SystemPartition = "_system";

    public const int DefaultLimit = 100;
    public const int MaxLimit = 1000;

    /// <summary>
    /// Records an event. Idempotent on the event id: a redelivered event (queue retry, Event Grid
    /// at-least-once delivery) has the same time and id, so it lands on the same row.
    /// </summary>
    public async Task RecordAsync(CloudEvent cloudEvent, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(cloudEvent);
        var (data, truncated) = DataJson(cloudEvent);
        var row = new EventLogRow
        {
            PartitionKey = TableKeys.Escape(EntityOf(cloudEvent) ?? SystemPartition),
            RowKey = RowKeyFor(cloudEvent.Time, cloudEvent.Id),
            EventId = cloudEvent.Id,
            Type = cloudEvent.Type,
            Source = cloudEvent.Source,
            Subject = cloudEvent.Subject,
            Time = cloudEvent.Time,
            DataContentType = cloudEvent.DataContentType,
            DataJson = data,
            DataTruncated = truncated,
        };
        var table = await storage.TableAsync(Table).ConfigureAwait(false);
        await table.UpsertAsync(row, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The entity's events, newest first; viewers of the entity may read them.</summary>
    public async Task<EventLogPage> ListAsync(Principal principal, string? entity, int? limit, CancellationToken cancellationToken = default)
    {
        var name = EntityNames.ValidateEntity(entity, "entity");
        var take = limit ?? DefaultLimit;
        if (take is < 1 or > MaxLimit)
        {
            throw new Errors.ValidationFailedException($"limit must be between 1 and {MaxLimit}.", "limit");
        }
        await tenancy.RequireRoleAsync(principal, name, Role.Viewer, cancellationToken).ConfigureAwait(false);
        var table = await storage.TableAsync(Table).ConfigureAwait(false);
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {TableKeys.Escape(name)}");
        var events = new List<LoggedEvent>(Math.Min(take, 100));
        await foreach (var row in table.QueryAsync<EventLogRow>(filter, maxPerPage: Math.Min(take, 1000), cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            events.Add(ToLoggedEvent(row));
            if (events.Count == take)
            {
                break;
            }
        }
        return new EventLogPage(name, events);
    }

    /// <summary>
    /// The tenant an event belongs to: the data's <c>entity</c> field when the data is a JSON object
    /// that has one, else the first segment of the subject (<c>entity/project/run…</c>) when it is
    /// a valid entity name; null when neither names one.
    /// </summary>
    internal static string? EntityOf(CloudEvent cloudEvent)
    {
        if (cloudEvent.Data is { } data && IsJson(cloudEvent.DataContentType))
        {
            try
            {
                using var document = JsonDocument.Parse(data.ToMemory());
                if (document.RootElement.ValueKind == JsonValueKind.Object
                    && document.RootElement.TryGetProperty("entity", out var entity)
                    && entity.ValueKind == JsonValueKind.String
                    && IsEntityName(entity.GetString()))
                {
                    return entity.GetString();
                }
            }
            catch (JsonException)
            {
                // Data that is not JSON names no entity; the subject still may.
            }
        }
        var first = cloudEvent.Subject?.TrimStart('/').Split('/', 2)[0];
        return IsEntityName(first) ? first : null;
    }

    /// <summary>
    /// Newest first: (max ticks − event ticks) as 19 digits, then the escaped id. An event without
    /// a time sorts as the oldest (it still has a stable key, so redelivery stays idempotent).
    /// </summary>
    internal static string RowKeyFor(DateTimeOffset? time, string id)
    {
        var ticks = time?.UtcTicks ?? 0;
        var inverted = DateTimeOffset.MaxValue.UtcTicks - ticks;
        return inverted.ToString("D19", CultureInfo.InvariantCulture) + "_" + TableKeys.Escape(id);
    }

    private static (string? Json, bool Truncated) DataJson(CloudEvent cloudEvent)
    {
        if (cloudEvent.Data is not { } data)
        {
            return (null, false);
        }
        string json;
        if (IsJson(cloudEvent.DataContentType) && IsValidJson(data))
        {
            json = data.ToString();
        }
        else
        {
            // Binary or text data is kept as a JSON string (base64 for binary), so the API always returns JSON.
            json = JsonSerializer.Serialize(cloudEvent.DataContentType is { } type && type.StartsWith("text/", StringComparison.OrdinalIgnoreCase)
                ? data.ToString()
                : Convert.ToBase64String(data.ToMemory().Span));
        }
        return json.Length > TableStore.MaxStringChars ? (null, true) : (json, false);
    }

    private static LoggedEvent ToLoggedEvent(EventLogRow row)
    {
        JsonElement? data = null;
        if (row.DataJson is { } json)
        {
            using var document = JsonDocument.Parse(json);
            data = document.RootElement.Clone();
        }
        else if (row.DataTruncated)
        {
            using var document = JsonDocument.Parse("""{"truncated":true}""");
            data = document.RootElement.Clone();
        }
        return new LoggedEvent(row.EventId, row.Type, row.Source, row.Subject, row.Time, data);
    }

    private static bool IsJson(string? contentType) =>
        contentType is null || contentType.StartsWith("application/json", StringComparison.OrdinalIgnoreCase) || contentType.Contains("+json", StringComparison.OrdinalIgnoreCase);

    private static bool IsValidJson(BinaryData data)
    {
        try
        {
            using var _ = JsonDocument.Parse(data.ToMemory());
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static bool IsEntityName(string? name)
    {
        if (string.IsNullOrEmpty(name))
        {
            return false;
        }
        try
        {
            EntityNames.ValidateEntity(name);
            return true;
        }
        catch (Errors.ValidationFailedException)
        {
            return false;
        }
    }
}
