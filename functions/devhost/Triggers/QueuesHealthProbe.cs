using Weightless.Core.Hosting;

namespace Weightless.DevHost.Triggers;

/// <summary>The <c>queues</c> health check: the queue-trigger pollers run and reach their queues.</summary>
internal sealed class QueuesHealthProbe(QueueTriggerPoller poller) : IHealthProbe
{
    public string Name => "queues";

    public Task<string> ProbeAsync(CancellationToken cancellationToken) => Task.FromResult(poller.Health());
}
