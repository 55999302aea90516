using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Middleware;
using Microsoft.Extensions.Logging;
using Weightless.Core.Errors;

namespace Weightless.Functions;

/// <summary>
/// The one error handler of a Function app: whatever an HTTP function throws becomes problem
/// details through <see cref="ProblemMapper"/>, exactly as the dev host's route mapper does it.
/// </summary>
internal sealed class ProblemDetailsMiddleware(ILogger<ProblemDetailsMiddleware> logger) : IFunctionsWorkerMiddleware
{
    public async Task Invoke(FunctionContext context, FunctionExecutionDelegate next)
    {
        try
        {
            await next(context).ConfigureAwait(false);
        }
        catch (Exception ex) when (context.GetHttpContext() is { } http && !http.Response.HasStarted)
        {
            var result = ProblemMapper.ToResult(Unwrap(ex), http, logger);
            await result.ExecuteAsync(http).ConfigureAwait(false);
        }
    }

    private static Exception Unwrap(Exception ex)
    {
        var current = ex;
        while (current is not WeightlessException && current.InnerException is { } inner)
        {
            current = inner;
        }
        return current is WeightlessException ? current : ex;
    }
}
