using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Logging;

namespace Weightless.Core.Errors;

/// <summary>
/// The one mapping from exceptions to RFC 7807 problem details. Bad input is never a 500: JSON
/// that does not parse is a 400, and only a genuinely unexpected fault is a 500 (logged).
/// </summary>
internal static class ProblemMapper
{
    public static ProblemHttpResult ToResult(Exception exception, HttpContext? context, ILogger? logger)
    {
        var problem = ToProblem(exception, logger);
        if (context is not null)
        {
            problem.Instance = context.Request.Path;
            if (exception is RateLimitedException limited)
            {
                context.Response.Headers.RetryAfter = limited.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            }
            if (exception is UnauthenticatedException)
            {
                context.Response.Headers.WWWAuthenticate = "Basic realm=\"weightless\", Bearer";
            }
        }
        return TypedResults.Problem(problem);
    }

    public static ProblemDetails ToProblem(Exception exception, ILogger? logger) => exception switch
    {
        WeightlessException known => Problem(known.StatusCode, known.Title, known.Message, known.Field),
        JsonException json => Problem(400, "Malformed JSON", $"The request body is not valid JSON: {json.Message}", json.Path is { Length: > 0 } p ? p : "body"),
        BadHttpRequestException bad => Problem(bad.StatusCode, "Invalid request", bad.Message, null),
        OperationCanceledException => Problem(499, "Client closed request", "The request was cancelled.", null),
        _ => Unexpected(exception, logger),
    };

    private static ProblemDetails Unexpected(Exception exception, ILogger? logger)
    {
        logger?.LogError(exception, "Unhandled error");
        return Problem(500, "Internal error", "An unexpected error occurred; it has been logged.", null);
    }

    private static ProblemDetails Problem(int status, string title, string detail, string? field)
    {
        var problem = new ProblemDetails
        {
            Status = status,
            Title = title,
            Detail = detail,
            Type = $"https://httpstatuses.io/{status}",
        };
        if (field is not null)
        {
            problem.Extensions["field"] = field;
        }
        return problem;
    }
}
