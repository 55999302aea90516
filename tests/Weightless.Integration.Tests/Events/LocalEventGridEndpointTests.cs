using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Azure;
using Azure.Core.Pipeline;
using Azure.Messaging;
using Azure.Messaging.EventGrid;
using Microsoft.AspNetCore.TestHost;
using Weightless.Core.Events;

namespace Weightless.Integration.Tests.Events;

/// <summary>The local topic endpoint answers as Event Grid does and writes what Event Grid writes.</summary>
public sealed class LocalEventGridEndpointTests
{
    private const string ProbeRoute = "/local-eventgrid/" + EventsTestHost.ProbeTopic + "/api/events";

    [Fact]
    public async Task WithoutAKey_Is401()
    {
        await using var host = new EventsTestHost();
        using var client = host.Factory.CreateClient();

        var response = await client.PostAsync(ProbeRoute, Json("[]", "application/cloudevents-batch+json"));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Theory]
    [InlineData("application/cloudevents-batch+json", "not json at all")]
    [InlineData("application/cloudevents-batch+json", """[{"id":"1","type":"t"}]""")]
    [InlineData("application/json", """[{"hello":"world"}]""")]
    [InlineData("application/json", "[]")]
    public async Task ABodyThatIsNotEvents_Is400NamingTheBody(string contentType, string body)
    {
        await using var host = new EventsTestHost();
        using var client = host.Factory.CreateClient();
        client.DefaultRequestHeaders.Add("aeg-sas-key", "local");

        var response = await client.PostAsync(ProbeRoute, Json(body, contentType));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("body", problem.GetProperty("field").GetString());
        Assert.Matches("CloudEvents|Event Grid events", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task AnUnknownTopic_Is404()
    {
        await using var host = new EventsTestHost();
        using var client = host.Factory.CreateClient();
        client.DefaultRequestHeaders.Add("aeg-sas-key", "local");

        var response = await client.PostAsync("/local-eventgrid/nosuchtopic/api/events", Json("[]", "application/cloudevents-batch+json"));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task CloudEvents_AreWrittenOnePerMessage_Base64Encoded()
    {
        await using var host = new EventsTestHost();
        var server = (TestServer)host.Factory.Server;
        var publisher = new EventGridPublisherClient(new Uri("http://127.0.0.1:7071" + ProbeRoute), new AzureKeyCredential("local"),
            new EventGridPublisherClientOptions { Transport = new HttpClientTransport(server.CreateHandler()) });
        var first = new CloudEvent("/t", "weightless.one", new { entity = "admin", n = 1 });
        var second = new CloudEvent("/t", "weightless.two", BinaryData.FromString("plain"), "text/plain");

        var response = await publisher.SendEventsAsync([first, second]);

        Assert.Equal(200, response.Status);
        Assert.Equal(0, response.Content.ToMemory().Length);
        var queue = await host.QueueAsync(EventsTestHost.ProbeQueue);
        var messages = await queue.PeekAsync(32);
        Assert.Equal(2, messages.Length);
        var delivered = messages.Select(m => CloudEvent.Parse(BinaryData.FromBytes(QueueMessageText.Decode(m.MessageText)))!).ToList();
        Assert.Equal([first.Id, second.Id], delivered.Select(e => e.Id));
        Assert.Equal(1, delivered[0].Data!.ToObjectFromJson<JsonElement>().GetProperty("n").GetInt32());
        Assert.Equal("plain", delivered[1].Data!.ToString());
    }

    [Fact]
    public async Task EventGridSchemaEvents_AreAcceptedToo()
    {
        await using var host = new EventsTestHost();
        var server = (TestServer)host.Factory.Server;
        var publisher = new EventGridPublisherClient(new Uri("http://127.0.0.1:7071" + ProbeRoute), new AzureKeyCredential("local"),
            new EventGridPublisherClientOptions { Transport = new HttpClientTransport(server.CreateHandler()) });
        var gridEvent = new EventGridEvent("admin/vision", "weightless.grid", "1.0", new { entity = "admin" });

        await publisher.SendEventAsync(gridEvent);

        var queue = await host.QueueAsync(EventsTestHost.ProbeQueue);
        var message = Assert.Single(await queue.PeekAsync(32));
        var delivered = EventGridEvent.Parse(BinaryData.FromBytes(QueueMessageText.Decode(message.MessageText)));
        Assert.Equal(gridEvent.Id, delivered.Id);
        Assert.Equal("weightless.grid", delivered.EventType);
    }

    private static StringContent Json(string body, string contentType) => new(body, Encoding.UTF8, contentType);
}
