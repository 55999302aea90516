using Azure.Core.Pipeline;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Weightless.Core.Events;
using Weightless.Core.Storage;
using Weightless.Tests.Infrastructure;

namespace Weightless.Integration.Tests.Events;

/// <summary>
/// The dev host with fast queue polling, no retry delay, and the event publisher's HTTP transport
/// routed through the in-memory test server, so the real EventGridPublisherClient reaches the
/// local topic endpoint.
/// </summary>
internal sealed class EventsTestHost : IAsyncDisposable
{
    public const string ProbeTopic = "probe";
    public const string ProbeQueue = "probe-events";

    private readonly WeightlessFactory _factory;

    public EventsTestHost()
    {
        _factory = new WeightlessFactory(new Dictionary<string, string?>
        {
            ["DevHost:QueuePollInterval"] = "00:00:00.100",
            ["DevHost:QueueVisibilityTimeout"] = "00:00:00",
            // A topic whose queue no function listens to, to look at what the topic writes.
            [$"EventGrid:LocalTopics:{ProbeTopic}:Queues:0"] = ProbeQueue,
        });
        Factory = _factory.WithWebHostBuilder(builder => builder.ConfigureTestServices(services =>
            services.AddOptions<EventGridOptions>().Configure<IServer>((options, server) =>
                options.Transport = new HttpClientTransport(((TestServer)server).CreateHandler()))));
        Admin = Factory.CreateClient();
        Admin.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue(
            "Basic", Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes("api:" + _factory.AdminKey)));
    }

    public WebApplicationFactory<Program> Factory { get; }

    /// <summary>Authenticated as the instance administrator (user and entity <c>admin</c>).</summary>
    public HttpClient Admin { get; }

    public string Prefix => _factory.Prefix;

    public IServiceProvider Services => Factory.Services;

    public Task<QueueStore> QueueAsync(string logicalName) =>
        Services.GetRequiredService<StorageAccount>().QueueAsync(Services.GetRequiredService<StorageAccount>().PhysicalName(logicalName));

    public async ValueTask DisposeAsync()
    {
        Admin.Dispose();
        await Factory.DisposeAsync();
        await _factory.DisposeAsync();
    }

    /// <summary>Polls until <paramref name="condition"/> holds; fails with <paramref name="what"/> after the timeout.</summary>
    public static async Task<T> EventuallyAsync<T>(Func<Task<T?>> probe, string what, TimeSpan? timeout = null)
        where T : class
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            if (await probe() is { } value)
            {
                return value;
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("Timed out waiting for " + what);
            }
            await Task.Delay(100);
        }
    }
}
