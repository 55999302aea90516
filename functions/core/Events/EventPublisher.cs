using Azure;
using Azure.Messaging;
using Azure.Messaging.EventGrid;
using Microsoft.Extensions.Options;

namespace Weightless.Core.Events;

/// <summary>
/// Publishes CloudEvents to the Event Grid topic with the real <see cref="EventGridPublisherClient"/>.
/// In Azure the topic's subscription delivers them to a storage queue; locally the dev host's topic
/// endpoint does the same against Azurite. Either way consumers are <c>[QueueTrigger]</c> functions.
/// </summary>
internal sealed class EventPublisher(IOptions<EventGridOptions> options)
{
    private readonly object _gate = new();
    private EventGridPublisherClient? _client;

    public Task PublishAsync(CloudEvent cloudEvent, CancellationToken cancellationToken = default) =>
        PublishAsync([cloudEvent], cancellationToken);

    public async Task PublishAsync(IReadOnlyCollection<CloudEvent> events, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(events);
        if (events.Count == 0)
        {
            return;
        }
        await Client.SendEventsAsync(events, cancellationToken).ConfigureAwait(false);
    }

    private EventGridPublisherClient Client
    {
        get
        {
            lock (_gate)
            {
                return _client ??= CreateClient(options.Value);
            }
        }
    }

    /// <summary>
    /// Built on first use so that a host without a topic still starts (most functions never
    /// publish), while a publish without one fails loudly instead of silently dropping the event.
    /// </summary>
    internal static EventGridPublisherClient CreateClient(EventGridOptions settings)
    {
        if (string.IsNullOrWhiteSpace(settings.TopicEndpoint))
        {
            throw new InvalidOperationException(
                $"Cannot publish events: {EventGridOptions.Section}:TopicEndpoint is not configured. Set it to the Event Grid topic endpoint " +
                "(locally http://127.0.0.1:7071/local-eventgrid/weightless/api/events with EventGrid:TopicKey=local).");
        }
        if (!Uri.TryCreate(settings.TopicEndpoint, UriKind.Absolute, out var endpoint) || (endpoint.Scheme != Uri.UriSchemeHttps && endpoint.Scheme != Uri.UriSchemeHttp))
        {
            throw new InvalidOperationException($"Cannot publish events: {EventGridOptions.Section}:TopicEndpoint '{settings.TopicEndpoint}' is not an absolute http(s) URL.");
        }
        var clientOptions = new EventGridPublisherClientOptions();
        if (settings.Transport is not null)
        {
            clientOptions.Transport = settings.Transport;
        }
        return string.IsNullOrEmpty(settings.TopicKey)
            ? new EventGridPublisherClient(endpoint, new Azure.Identity.DefaultAzureCredential(), clientOptions)
            : new EventGridPublisherClient(endpoint, new AzureKeyCredential(settings.TopicKey), clientOptions);
    }
}
