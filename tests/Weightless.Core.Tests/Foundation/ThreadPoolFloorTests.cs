using Weightless.Core.Hosting;

namespace Weightless.Core.Tests.Foundation;

public sealed class ThreadPoolFloorTests
{
    [Fact]
    public void Apply_raises_the_minimum_worker_threads_and_keeps_the_completion_port_minimum()
    {
        ThreadPool.GetMinThreads(out _, out var completionPortsBefore);
        ThreadPoolFloor.Apply();
        ThreadPool.GetMinThreads(out var workers, out var completionPorts);
        Assert.True(workers >= ThreadPoolFloor.MinWorkerThreads, $"{workers} minimum worker threads");
        Assert.Equal(completionPortsBefore, completionPorts);

        // A higher minimum set elsewhere is left alone.
        ThreadPool.SetMinThreads(ThreadPoolFloor.MinWorkerThreads + 8, completionPorts);
        ThreadPoolFloor.Apply();
        ThreadPool.GetMinThreads(out workers, out _);
        Assert.Equal(ThreadPoolFloor.MinWorkerThreads + 8, workers);
        ThreadPool.SetMinThreads(ThreadPoolFloor.MinWorkerThreads, completionPorts);
    }
}
