using System.Text.Json;
using Azure.Messaging;
using Azure.Messaging.EventGrid;
using Weightless.Core.Errors;
using Weightless.Core.Events;
using Weightless.Core.Storage;

namespace Weightless.DevHost.Events;

/// <summary>
/// A local Event Grid topic (no emulator exists here): <c>POST /local-eventgrid/{topic}/api/events</c>
/// takes what <c>EventGridPublisherClient</c> sends — a CloudEvents batch
/// (<c>application/cloudevents-batch+json</c>) or an Event Grid schema array — and, like a topic
/// subscription with a storage-queue destination, writes each event as one base64-encoded queue
/// message (see <see cref="QueueMessageText"/>) to every queue configured for the topic under
/// <c>EventGrid:LocalTopics:{topic}:Queues</c>. Each entry is an app setting name whose value is
/// the queue (e.g. <c>AutomationEventsQueue</c>) or else a queue name; the storage prefix is applied.
/// </summary>
internal static class LocalEventGridEndpoint
{
    public const string Route = "/local-eventgrid/{topic}/api/events";

    /// <summary>Event Grid's limit on one publish request.</summary>
    public const int MaxRequestBytes = 1024 * 1024;

    public static IEndpointRouteBuilder MapLocalEventGrid(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapPost(Route, PublishAsync).WithName("LocalEventGridPublish").ExcludeFromDescription();
        return endpoints;
    }

    /// <summary>The physical queues a topic delivers to; empty when the topic is not configured.</summary>
    public static IReadOnlyList<string> QueuesFor(string topic, IConfiguration configuration, StorageAccount storage) =>
        configuration.GetSection($"{EventGridOptions.Section}:LocalTopics:{topic}:Queues").GetChildren()
            .Select(entry => entry.Value)
            .Where(value => !string.IsNullOrWhiteSpace(value))
            .Select(value => configuration[value!] is { Length: > 0 } fromSetting ? fromSetting : value!)
            .Select(storage.PhysicalName)
            .Distinct(StringComparer.Ordinal)
            .ToList();

    private static async Task<IResult> PublishAsync(string topic, HttpContext context, IConfiguration configuration, StorageAccount storage, ILoggerFactory loggers)
    {
        var request = context.Request;
        // Event Grid answers 401 when no credential is sent; the local topic accepts any key or token.
        if (string.IsNullOrWhiteSpace(request.Headers["aeg-sas-key"]) && string.IsNullOrWhiteSpace(request.Headers["aeg-sas-token"]) && string.IsNullOrWhiteSpace(request.Headers.Authorization))
        {
            return ProblemMapper.ToResult(new UnauthenticatedException("Send the topic key in the 'aeg-sas-key' header (any non-empty value locally) or an Authorization header."), context, null);
        }
        var queues = QueuesFor(topic, configuration, storage);
        if (queues.Count == 0)
        {
            return ProblemMapper.ToResult(new NotFoundException($"Topic '{topic}' is not configured (EventGrid:LocalTopics:{topic}:Queues)."), context, null);
        }
        if (request.ContentLength > MaxRequestBytes)
        {
            return ProblemMapper.ToResult(new TooLargeException($"An Event Grid publish request may be at most {MaxRequestBytes} bytes.", "body"), context, null);
        }
        var body = await BinaryData.FromStreamAsync(request.Body, context.RequestAborted).ConfigureAwait(false);
        if (body.ToMemory().Length > MaxRequestBytes)
        {
            return ProblemMapper.ToResult(new TooLargeException($"An Event Grid publish request may be at most {MaxRequestBytes} bytes.", "body"), context, null);
        }
        IReadOnlyList<string> messages;
        try
        {
            messages = SplitEvents(body, request.ContentType);
        }
        catch (ValidationFailedException ex)
        {
            return ProblemMapper.ToResult(ex, context, null);
        }
        foreach (var queueName in queues)
        {
            var queue = await storage.QueueAsync(queueName).ConfigureAwait(false);
            foreach (var message in messages)
            {
                await queue.SendAsync(QueueMessageText.Encode(message), cancellationToken: context.RequestAborted).ConfigureAwait(false);
            }
        }
        loggers.CreateLogger(typeof(LocalEventGridEndpoint).FullName!).LogDebug("Topic {Topic}: {Count} event(s) to {Queues}", topic, messages.Count, string.Join(", ", queues));
        // Event Grid answers a successful publish with 200 and an empty body.
        return Results.Ok();
    }

    /// <summary>
    /// Validates the body as the content type says (CloudEvents or Event Grid schema, parsed by the
    /// SDK's own ParseMany) and returns each event's JSON as published, one per queue message.
    /// </summary>
    internal static IReadOnlyList<string> SplitEvents(BinaryData body, string? contentType)
    {
        var cloudEvents = contentType is not null && contentType.StartsWith("application/cloudevents", StringComparison.OrdinalIgnoreCase);
        var schema = cloudEvents ? "CloudEvents" : "Event Grid events";
        int parsed;
        try
        {
            parsed = cloudEvents ? CloudEvent.ParseMany(body).Length : EventGridEvent.ParseMany(body).Length;
        }
        catch (Exception ex) when (ex is JsonException or ArgumentException or FormatException or InvalidOperationException or KeyNotFoundException or NullReferenceException)
        {
            throw new ValidationFailedException($"The body is not a valid batch of {schema} (content type '{contentType ?? "none"}'): {ex.Message.Split('\n')[0]}", "body");
        }
        if (parsed == 0)
        {
            throw new ValidationFailedException($"The body holds no {schema}.", "body");
        }
        using var document = JsonDocument.Parse(body.ToMemory());
        return document.RootElement.ValueKind == JsonValueKind.Array
            ? document.RootElement.EnumerateArray().Select(e => e.GetRawText()).ToList()
            : [document.RootElement.GetRawText()];
    }
}
