using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Weightless.Core.Hosting;

namespace Weightless.Query;

/// <summary>Liveness and dependency checks (no credentials needed; it reveals no tenant data).</summary>
internal sealed class HealthFunctions
{
    private readonly HealthService _health;

    public HealthFunctions(HealthService health) => _health = health;

    [Function("GetHealth")]
    public async Task<IResult> GetHealth([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/health")] HttpRequest req, CancellationToken cancellationToken)
    {
        var health = await _health.CheckAsync(cancellationToken);
        return health.Status == "healthy" ? TypedResults.Ok(health) : TypedResults.Json(health, statusCode: StatusCodes.Status503ServiceUnavailable);
    }
}
