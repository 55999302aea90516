using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Azure.Messaging;
using Microsoft.Extensions.DependencyInjection;
using Weightless.Core.Events;

namespace Weightless.Integration.Tests.Events;

/// <summary>Topic → queue → queue-trigger function → event log, all through the real types.</summary>
public sealed class EventFlowTests
{
    [Fact]
    public async Task PublishedCloudEvent_IsRecordedByTheQueueTriggeredFunctionAndListed()
    {
        await using var host = new EventsTestHost();
        var publisher = host.Services.GetRequiredService<EventPublisher>();
        var cloudEvent = new CloudEvent("/weightless/tests", "weightless.run.finished", new { entity = "admin", project = "vision", run = "r1", value = 42 })
        {
            Subject = "admin/vision/r1",
        };

        await publisher.PublishAsync(cloudEvent);

        var listed = await EventsTestHost.EventuallyAsync(async () =>
        {
            using var document = JsonDocument.Parse(await host.Admin.GetStringAsync("/api/v1/automations/events?entity=admin"));
            return document.RootElement.GetProperty("events").EnumerateArray()
                .Where(e => e.GetProperty("id").GetString() == cloudEvent.Id)
                .Select(e => (JsonElement?)e.Clone())
                .FirstOrDefault() is { } found ? new Box(found) : null;
        }, "the published event in the automation event log");

        var recorded = listed.Value;
        Assert.Equal("weightless.run.finished", recorded.GetProperty("type").GetString());
        Assert.Equal("/weightless/tests", recorded.GetProperty("source").GetString());
        Assert.Equal("admin/vision/r1", recorded.GetProperty("subject").GetString());
        Assert.Equal(cloudEvent.Time!.Value.ToUnixTimeMilliseconds(), recorded.GetProperty("time").GetDateTimeOffset().ToUnixTimeMilliseconds());
        var data = recorded.GetProperty("data");
        Assert.Equal("admin", data.GetProperty("entity").GetString());
        Assert.Equal("vision", data.GetProperty("project").GetString());
        Assert.Equal(42, data.GetProperty("value").GetInt32());
    }

    [Fact]
    public async Task EventLog_ListsNewestFirst_AndRecordsARedeliveredEventOnce()
    {
        await using var host = new EventsTestHost();
        var publisher = host.Services.GetRequiredService<EventPublisher>();
        var older = new CloudEvent("/t", "weightless.test", new { entity = "admin", n = 1 }) { Time = DateTimeOffset.UtcNow.AddMinutes(-5) };
        var newer = new CloudEvent("/t", "weightless.test", new { entity = "admin", n = 2 }) { Time = DateTimeOffset.UtcNow };

        // The same event twice (Event Grid delivers at least once) must appear once.
        await publisher.PublishAsync([older, newer, older]);

        var ids = await EventsTestHost.EventuallyAsync(async () =>
        {
            using var document = JsonDocument.Parse(await host.Admin.GetStringAsync("/api/v1/automations/events?entity=admin"));
            var found = document.RootElement.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("id").GetString()!).ToList();
            var queue = await host.QueueAsync("automation-events");
            return found.Count == 2 && await queue.ApproximateCountAsync() == 0 ? found : null;
        }, "both events recorded");

        Assert.Equal([newer.Id, older.Id], ids);
    }

    [Fact]
    public async Task ListingEvents_NeedsCredentialsAndAccessToTheEntity()
    {
        await using var host = new EventsTestHost();
        using var anonymous = host.Factory.CreateClient();

        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/api/v1/automations/events?entity=admin")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await host.Admin.GetAsync("/api/v1/automations/events?entity=nobody")).StatusCode);
        var missing = await host.Admin.GetAsync("/api/v1/automations/events");
        Assert.Equal(HttpStatusCode.BadRequest, missing.StatusCode);
        Assert.Equal("entity", (await missing.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("field").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, (await host.Admin.GetAsync("/api/v1/automations/events?entity=admin&limit=0")).StatusCode);
    }

    [Fact]
    public async Task HealthCheck_ReportsTheQueuePollers()
    {
        await using var host = new EventsTestHost();
        using var client = host.Factory.CreateClient();

        var queues = await EventsTestHost.EventuallyAsync(async () =>
        {
            using var document = JsonDocument.Parse(await client.GetStringAsync("/api/v1/health"));
            return document.RootElement.GetProperty("checks").TryGetProperty("queues", out var check) && check.GetString() == "ok" ? check.GetString() : null;
        }, "the queues health check to report ok");

        Assert.Equal("ok", queues);
    }

    private sealed record Box(JsonElement Value);
}
