using System.Collections.Concurrent;
using Microsoft.Azure.Functions.Worker;

namespace Weightless.Integration.Tests.Events;

/// <summary>What the test-only trigger functions saw.</summary>
internal sealed class TriggerCalls
{
    public ConcurrentQueue<TimerInfo> Timers { get; } = new();
    public ConcurrentQueue<(TestOrder Order, string Id, long DequeueCount)> Orders { get; } = new();
    public ConcurrentQueue<string> Texts { get; } = new();
    public int FlakyAttempts;
}

internal sealed record TestOrder(string Entity, int Quantity);

/// <summary>
/// Trigger functions that exist only in this test assembly, so the runners are tested against
/// their own inputs instead of adding test-only functions to the apps.
/// </summary>
internal sealed class TestTriggerFunctions
{
    private readonly TriggerCalls _calls;

    public TestTriggerFunctions(TriggerCalls calls) => _calls = calls;

    [Function("TestTick")]
    public Task Tick([TimerTrigger("%TestTickSchedule%")] TimerInfo timer, CancellationToken cancellationToken)
    {
        _calls.Timers.Enqueue(timer);
        return Task.CompletedTask;
    }

    [Function("TestFailingTimer")]
    public void FailingTimer([TimerTrigger("0 0 0 1 1 *")] TimerInfo timer) =>
        throw new InvalidOperationException("the timer function failed");

    [Function("TestOrderQueue")]
    public ValueTask Order([QueueTrigger("%TestOrdersQueue%")] TestOrder order, string id, long dequeueCount)
    {
        _calls.Orders.Enqueue((order, id, dequeueCount));
        return ValueTask.CompletedTask;
    }

    [Function("TestFlakyQueue")]
    public async Task Flaky([QueueTrigger("flaky")] BinaryData message, CancellationToken cancellationToken)
    {
        await Task.Yield();
        var attempt = Interlocked.Increment(ref _calls.FlakyAttempts);
        var text = message.ToString();
        if (text == "always fails" || attempt < 3)
        {
            throw new InvalidOperationException($"attempt {attempt} fails");
        }
        _calls.Texts.Enqueue(text);
    }
}
