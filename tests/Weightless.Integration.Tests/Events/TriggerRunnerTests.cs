using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Weightless.Core.Events;
using Weightless.Core.Storage;
using Weightless.DevHost;
using Weightless.DevHost.Triggers;
using Weightless.Tests.Infrastructure;

namespace Weightless.Integration.Tests.Events;

/// <summary>The timer runner and queue poller against this assembly's test-only functions.</summary>
public sealed class TriggerRunnerTests
{
    [Fact]
    public async Task TimerFunction_RunsOnItsSchedule_WithScheduleStatus()
    {
        await using var services = Build(new() { ["TestTickSchedule"] = "* * * * * *" }, runTimers: true);
        var runner = services.GetRequiredService<TimerTriggerRunner>();
        var calls = services.GetRequiredService<TriggerCalls>();

        await runner.StartAsync(CancellationToken.None);
        await EventsTestHost.EventuallyAsync(() => Task.FromResult(calls.Timers.Count >= 2 ? calls : null), "two ticks of an every-second timer", TimeSpan.FromSeconds(10));
        await runner.StopAsync(CancellationToken.None);

        var ticks = calls.Timers.ToArray();
        Assert.All(ticks, t => Assert.True(t.ScheduleStatus!.Next > t.ScheduleStatus.LastUpdated));
        Assert.Equal(ticks[0].ScheduleStatus!.LastUpdated, ticks[1].ScheduleStatus!.Last);
        Assert.Equal(2, runner.Functions.Count);
    }

    [Fact]
    public async Task TimersOff_NothingRunsOnSchedule_ButRunNowInvokesTheFunction()
    {
        await using var services = Build(new() { ["TestTickSchedule"] = "* * * * * *" }, runTimers: false);
        var runner = services.GetRequiredService<TimerTriggerRunner>();
        var calls = services.GetRequiredService<TriggerCalls>();

        await runner.StartAsync(CancellationToken.None);
        await Task.Delay(1500);
        Assert.Empty(calls.Timers);

        await runner.RunNowAsync("TestTick");

        var timer = Assert.Single(calls.Timers);
        Assert.False(timer.IsPastDue);
        await runner.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task RunNow_PropagatesTheFunctionsFailure_AndRejectsUnknownNames()
    {
        await using var services = Build(new() { ["TestTickSchedule"] = "0 */5 * * * *" }, runTimers: false);
        var runner = services.GetRequiredService<TimerTriggerRunner>();

        var failure = await Assert.ThrowsAsync<InvalidOperationException>(() => runner.RunNowAsync("TestFailingTimer"));
        Assert.Equal("the timer function failed", failure.Message);
        var unknown = await Assert.ThrowsAsync<InvalidOperationException>(() => runner.RunNowAsync("NoSuchTimer"));
        Assert.Contains("TestTick", unknown.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnInvalidSchedule_FailsStartUpNamingTheFunction()
    {
        await using var services = Build(new() { ["TestTickSchedule"] = "every minute" }, runTimers: true);
        var runner = services.GetRequiredService<TimerTriggerRunner>();

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => runner.StartAsync(CancellationToken.None));

        Assert.Contains("TestTick", error.Message, StringComparison.Ordinal);
        Assert.Contains("every minute", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task QueueFunction_GetsAJsonPocoAndMessageMetadata_FromTheResolvedPrefixedQueue()
    {
        await using var services = Build(new() { ["TestTickSchedule"] = "0 0 0 1 1 *", ["TestOrdersQueue"] = "orders" }, runTimers: false);
        var poller = services.GetRequiredService<QueueTriggerPoller>();
        var storage = services.GetRequiredService<StorageAccount>();
        var calls = services.GetRequiredService<TriggerCalls>();
        var orders = await storage.QueueAsync(storage.PhysicalName("orders"));
        await orders.SendAsync(QueueMessageText.Encode(JsonSerializer.Serialize(new { entity = "admin", quantity = 3 })));

        await poller.StartAsync(CancellationToken.None);
        var (order, id, dequeueCount) = (await EventsTestHost.EventuallyAsync(
            () => Task.FromResult(calls.Orders.TryPeek(out var seen) ? Tuple.Create(seen) : null), "the order function to run")).Item1;
        await EventsTestHost.EventuallyAsync(async () => await orders.ApproximateCountAsync() == 0 ? orders : null, "the message to be deleted");
        await poller.StopAsync(CancellationToken.None);

        Assert.Equal(new TestOrder("admin", 3), order);
        Assert.False(string.IsNullOrEmpty(id));
        Assert.Equal(1, dequeueCount);
        Assert.Contains(poller.Functions, f => f.Name == "TestOrderQueue" && f.PhysicalQueue == storage.PhysicalName("orders"));
    }

    [Fact]
    public async Task QueueFunction_IsRetriedAfterFailures_AndPoisonedAfterFiveAttempts()
    {
        await using var services = Build(new() { ["TestTickSchedule"] = "0 0 0 1 1 *", ["TestOrdersQueue"] = "orders" }, runTimers: false);
        var poller = services.GetRequiredService<QueueTriggerPoller>();
        var storage = services.GetRequiredService<StorageAccount>();
        var calls = services.GetRequiredService<TriggerCalls>();
        var flaky = await storage.QueueAsync(storage.PhysicalName("flaky"));
        var poison = await storage.QueueAsync(storage.PhysicalName("flaky") + "-poison");

        await flaky.SendAsync(QueueMessageText.Encode("third time lucky"));
        await poller.StartAsync(CancellationToken.None);
        await EventsTestHost.EventuallyAsync(() => Task.FromResult(calls.Texts.IsEmpty ? null : calls), "the flaky function to succeed");
        Assert.Equal(3, calls.FlakyAttempts);
        Assert.Equal("ok", poller.Health());

        await flaky.SendAsync(QueueMessageText.Encode("always fails"));
        var poisoned = await EventsTestHost.EventuallyAsync(async () => (await poison.PeekAsync(32)) is { Length: 1 } found ? found : null, "the poison message");
        await poller.StopAsync(CancellationToken.None);

        Assert.Equal(3 + 5, calls.FlakyAttempts);
        Assert.Equal("always fails", System.Text.Encoding.UTF8.GetString(QueueMessageText.Decode(poisoned[0].MessageText)));
        Assert.Equal(0, await flaky.ApproximateCountAsync());
    }

    private static ServiceProvider Build(Dictionary<string, string?> settings, bool runTimers)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddLogging(l => l.SetMinimumLevel(LogLevel.Warning));
        services.AddSingleton(TimeProvider.System);
        services.AddOptions<StorageOptions>().Configure(o =>
        {
            o.ConnectionString = AzuriteFixture.ConnectionString;
            o.TablePrefix = AzuriteFixture.NewPrefix();
        });
        services.AddSingleton<StorageMetrics>();
        services.AddSingleton<StorageAccount>();
        services.AddOptions<DevHostOptions>().Configure(o =>
        {
            o.RunTimers = runTimers;
            o.QueuePollInterval = TimeSpan.FromMilliseconds(100);
        });
        services.AddOptions<TriggerOptions>().Configure(o => o.QueueVisibilityTimeout = TimeSpan.Zero);
        services.AddSingleton(new FunctionAssemblies([typeof(TestTriggerFunctions).Assembly]));
        services.AddSingleton<TriggerCalls>();
        services.AddSingleton<TimerTriggerRunner>();
        services.AddSingleton<QueueTriggerPoller>();
        return services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
    }
}
