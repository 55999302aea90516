using Azure.Core.Pipeline;

namespace Weightless.Core.Events;

/// <summary>Where events are published. Bound from the <c>EventGrid</c> configuration section.</summary>
internal sealed class EventGridOptions
{
    public const string Section = "EventGrid";

    /// <summary>
    /// The topic endpoint: in Azure the custom topic's <c>…/api/events</c> URL; locally the dev
    /// host's <c>http://127.0.0.1:7071/local-eventgrid/weightless/api/events</c>.
    /// </summary>
    public string? TopicEndpoint { get; set; }

    /// <summary>
    /// Topic access key. Locally any non-empty value (e.g. <c>local</c>). Empty in Azure, where the
    /// topic disables key auth and publishers use their managed identity (DefaultAzureCredential).
    /// </summary>
    public string? TopicKey { get; set; }

    /// <summary>
    /// Replaces the HTTP transport (not bound from configuration). Tests route the publisher
    /// through the in-memory test server with <c>new HttpClientTransport(testServer.CreateHandler())</c>.
    /// </summary>
    public HttpPipelineTransport? Transport { get; set; }
}
