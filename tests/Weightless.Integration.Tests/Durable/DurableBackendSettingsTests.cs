using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using Weightless.Core.Storage;
using Weightless.DevHost;
using Weightless.DevHost.Durable;

namespace Weightless.Integration.Tests.Durable;

public sealed class DurableBackendSettingsTests
{
    [Fact]
    public void The_task_hub_is_the_configured_hub_behind_the_storage_prefix()
    {
        var settings = Settings("AzureStorage", prefix: "t1a2b3c4", hub: "weightless");
        Assert.Equal("t1a2b3c4weightless", settings.TaskHubName);
        Assert.False(settings.IsInMemory);
    }

    [Theory]
    [InlineData("", "hub-name")]
    [InlineData("", "9lives")]
    [InlineData("t1a2b3c4", "aVeryLongTaskHubNameThatDoesNotFitAzureLimits")]
    public void An_invalid_task_hub_name_stops_start_up(string prefix, string hub)
    {
        var error = Assert.Throws<InvalidOperationException>(() => Settings("AzureStorage", prefix, hub));
        Assert.Contains("3–45 letters and digits", error.Message);
    }

    [Fact]
    public void An_unknown_backend_stops_start_up()
    {
        var error = Assert.Throws<InvalidOperationException>(() => Settings("Netherite", "", "weightless"));
        Assert.Contains("DevHost:DurableBackend", error.Message);
    }

    private static DurableBackendSettings Settings(string backend, string prefix, string hub) =>
        new(
            Options.Create(new DevHostOptions { DurableBackend = backend }),
            Options.Create(new StorageOptions { TablePrefix = prefix }),
            new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["DurableTaskHub"] = hub }).Build());
}
