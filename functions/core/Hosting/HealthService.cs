using Weightless.Core.Storage;

namespace Weightless.Core.Hosting;

/// <summary>One dependency the health endpoint checks besides storage (the durable backend, queue pollers).</summary>
internal interface IHealthProbe
{
    string Name { get; }

    Task<string> ProbeAsync(CancellationToken cancellationToken);
}

internal sealed record HealthResponse(string Status, IReadOnlyDictionary<string, string> Checks, IReadOnlyDictionary<string, long> StorageOperations);

internal sealed class HealthService(StorageAccount storage, IEnumerable<IHealthProbe> probes)
{
    public async Task<HealthResponse> CheckAsync(CancellationToken cancellationToken)
    {
        var checks = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, result) in await storage.ProbeAsync(cancellationToken).ConfigureAwait(false))
        {
            checks["storage." + name] = result;
        }
        foreach (var probe in probes)
        {
            try
            {
                checks[probe.Name] = await probe.ProbeAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                checks[probe.Name] = "unavailable: " + ex.Message.Split('\n')[0];
            }
        }
        var healthy = checks.Values.All(v => v == "ok");
        return new HealthResponse(healthy ? "healthy" : "unhealthy", checks, storage.Metrics.Snapshot());
    }
}
