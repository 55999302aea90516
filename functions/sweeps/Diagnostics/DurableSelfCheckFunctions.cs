using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using Weightless.Core.Auth;
using Weightless.Core.Errors;
using Weightless.Core.Http;

namespace Weightless.Sweeps.Diagnostics;

/// <summary>The status of one durable self-check, as GET returns it.</summary>
internal sealed record SelfCheckStatus(
    string InstanceId,
    string RuntimeStatus,
    SelfCheckResult? Output,
    DateTimeOffset CreatedAt,
    DateTimeOffset LastUpdatedAt,
    string? Failure);

/// <summary>Start and inspect the durable self-check (instance administrators only).</summary>
internal sealed class DurableSelfCheckFunctions
{
    private const string Route = "api/v1/sweeps/diagnostics/durable";

    private readonly Authenticator _auth;

    public DurableSelfCheckFunctions(Authenticator auth) => _auth = auth;

    [Function("StartDurableSelfCheck")]
    public async Task<IResult> Start(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = Route)] HttpRequest req,
        [DurableClient] DurableTaskClient client,
        CancellationToken cancellationToken)
    {
        await RequireInstanceAdminAsync(req, cancellationToken);
        var body = req.ContentLength is null or 0 ? new SelfCheckRequest(null, null) : await RequestBody.ReadJsonAsync<SelfCheckRequest>(req, cancellationToken);
        var input = body.Validate();
        var instanceId = await client.ScheduleNewOrchestrationInstanceAsync(nameof(DurableSelfCheck), input, cancellationToken);
        return TypedResults.Accepted($"/{Route}/{instanceId}", new { instanceId, input.Steps, input.DelaySeconds });
    }

    [Function("GetDurableSelfCheck")]
    public async Task<IResult> Get(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = Route + "/{instanceId}")] HttpRequest req,
        string instanceId,
        [DurableClient] DurableTaskClient client,
        CancellationToken cancellationToken)
    {
        await RequireInstanceAdminAsync(req, cancellationToken);
        var instance = await client.GetInstanceAsync(instanceId, getInputsAndOutputs: true, cancellationToken);
        // Only self-checks are visible here, not the instances of other orchestrations.
        if (instance is null || !string.Equals(instance.Name, nameof(DurableSelfCheck), StringComparison.Ordinal))
        {
            throw new NotFoundException($"No durable self-check '{instanceId}'.");
        }
        var output = instance.RuntimeStatus == OrchestrationRuntimeStatus.Completed ? instance.ReadOutputAs<SelfCheckResult>() : null;
        return TypedResults.Ok(new SelfCheckStatus(
            instance.InstanceId,
            instance.RuntimeStatus.ToString(),
            output,
            instance.CreatedAt,
            instance.LastUpdatedAt,
            instance.FailureDetails?.ErrorMessage));
    }

    private async Task RequireInstanceAdminAsync(HttpRequest req, CancellationToken cancellationToken)
    {
        var principal = await _auth.AuthenticateAsync(req.HttpContext, cancellationToken);
        if (!principal.IsInstanceAdmin)
        {
            throw new ForbiddenException("Only instance administrators can run the durable self-check.");
        }
    }
}
