using System.Text.Json;
using Microsoft.Azure.Functions.Worker;
using Weightless.Core.Events;
using Weightless.DevHost;
using Weightless.Tests.Infrastructure;

namespace Weightless.Integration.Tests.Events;

/// <summary>
/// The dev host decodes queue messages as <see cref="QueueMessageText"/> says; an app whose
/// host.json told the Functions host otherwise would behave differently in Azure.
/// </summary>
public sealed class HostJsonEncodingTests
{
    [Fact]
    public void EveryAppWithAQueueTrigger_UsesTheEncodingEventGridWrites()
    {
        var queueApps = FunctionApps.Assemblies
            .Where(a => a.GetTypes().SelectMany(t => t.GetMethods()).Any(m => m.GetParameters().Any(p => p.IsDefined(typeof(QueueTriggerAttribute), false))))
            .ToList();
        Assert.NotEmpty(queueApps);
        foreach (var assembly in queueApps)
        {
            var folder = assembly.GetName().Name!["Weightless.".Length..].ToLowerInvariant();
            var hostJson = Path.Combine(AzuriteFixture.RepositoryRoot(), "functions", folder, "host.json");
            using var document = JsonDocument.Parse(File.ReadAllText(hostJson));
            var queues = document.RootElement.GetProperty("extensions").GetProperty("queues");
            Assert.Equal(QueueMessageText.HostJsonEncoding, queues.GetProperty("messageEncoding").GetString());
            Assert.Equal(5, queues.GetProperty("maxDequeueCount").GetInt32());
        }
    }
}
