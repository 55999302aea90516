using Azure.Messaging;
using Microsoft.Extensions.Options;
using Weightless.Core.Events;

namespace Weightless.Core.Tests.Events;

public sealed class EventPublisherTests
{
    [Fact]
    public async Task Publishing_WithoutATopicEndpoint_FailsLoudlyNamingTheSetting()
    {
        var publisher = new EventPublisher(Options.Create(new EventGridOptions()));

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => publisher.PublishAsync(new CloudEvent("/t", "weightless.test", null)));

        Assert.Contains("EventGrid:TopicEndpoint", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Publishing_ToANonUrlEndpoint_FailsNamingIt()
    {
        var publisher = new EventPublisher(Options.Create(new EventGridOptions { TopicEndpoint = "not a url", TopicKey = "local" }));

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => publisher.PublishAsync(new CloudEvent("/t", "weightless.test", null)));

        Assert.Contains("'not a url'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PublishingNothing_NeedsNoTopic()
    {
        var publisher = new EventPublisher(Options.Create(new EventGridOptions()));

        var error = await Record.ExceptionAsync(() => publisher.PublishAsync(Array.Empty<CloudEvent>()));

        Assert.Null(error);
    }

    [Fact]
    public void AClient_IsBuiltWithAKey_OrWithTheDefaultCredentialWhenThereIsNone()
    {
        var withKey = EventPublisher.CreateClient(new EventGridOptions { TopicEndpoint = "http://127.0.0.1:7071/local-eventgrid/weightless/api/events", TopicKey = "local" });
        var withIdentity = EventPublisher.CreateClient(new EventGridOptions { TopicEndpoint = "https://topic.westeurope-1.eventgrid.azure.net/api/events" });

        Assert.Equal("EventGridPublisherClient", withKey.GetType().Name);
        Assert.Equal("EventGridPublisherClient", withIdentity.GetType().Name);
    }
}
