using Weightless.Core.Events;

namespace Weightless.Integration.Tests.Events;

/// <summary>A message the function cannot handle is tried 5 times, then moved to &lt;queue&gt;-poison.</summary>
public sealed class PoisonQueueTests
{
    [Fact]
    public async Task MalformedMessages_EndInThePoisonQueueAfterFiveAttempts()
    {
        await using var host = new EventsTestHost();
        var queue = await host.QueueAsync("automation-events");
        var poison = await host.QueueAsync("automation-events-poison");
        var notACloudEvent = QueueMessageText.Encode("""{"hello":"not a cloud event"}""");
        const string notBase64 = "this is % not base64 {";

        await queue.SendAsync(notACloudEvent);
        await queue.SendAsync(notBase64);

        var poisoned = await EventsTestHost.EventuallyAsync(async () =>
        {
            var peeked = await poison.PeekAsync(32);
            return peeked.Length == 2 ? peeked : null;
        }, "two messages in the poison queue");

        Assert.Equal(new[] { notACloudEvent, notBase64 }.Order(StringComparer.Ordinal), poisoned.Select(m => m.MessageText).Order(StringComparer.Ordinal));
        Assert.Equal(0, await queue.ApproximateCountAsync());
    }
}
