using Microsoft.DurableTask.Client;
using Weightless.Core.Hosting;

namespace Weightless.DevHost.Durable;

/// <summary>
/// <c>durable</c> in GET /api/v1/health: asks the sidecar for an instance that never exists, which
/// goes through the gRPC sidecar to the backend's instance store — so "ok" means both answer.
/// </summary>
internal sealed class DurableHealthProbe(DurableTaskClient client) : IHealthProbe
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    public string Name => "durable";

    public async Task<string> ProbeAsync(CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Timeout);
        try
        {
            await client.GetInstanceAsync("weightless-health-probe", getInputsAndOutputs: false, timeout.Token).ConfigureAwait(false);
            return "ok";
        }
        catch (Exception ex) when (ex is Grpc.Core.RpcException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return "unavailable: " + ex.Message.Split('\n')[0];
        }
    }
}
