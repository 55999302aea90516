using System.Text;
using System.Text.Json;
using GraphQL;
using GraphQL.Execution;
using GraphQL.SystemTextJson;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Weightless.Core.Auth;
using Weightless.Core.Errors;
using Weightless.Core.Runs;

namespace Weightless.Core.GraphQL;

/// <summary>
/// <c>POST /graphql</c> as the W&amp;B clients use it: authenticate (401/403 before any GraphQL),
/// then run the document on a real executor. GraphQL failures — validation, bad input, not found
/// — are HTTP 200 with <c>errors[]</c>; a body that is not a GraphQL request is a 400 with
/// <c>errors[]</c>; nothing a client sends is a 500.
/// </summary>
internal sealed class GraphQLEndpoint(Authenticator authenticator, WandbSchema schema, ILogger<GraphQLEndpoint> logger)
{
    private static readonly DocumentExecuter Executer = new();
    private static readonly GraphQLSerializer Serializer = new();

    public async Task<IResult> HandleAsync(HttpContext http, CancellationToken cancellationToken)
    {
        var principal = await authenticator.AuthenticateAsync(http, cancellationToken).ConfigureAwait(false);
        byte[] body;
        try
        {
            body = await RequestBodies.ReadAsync(http.Request, cancellationToken).ConfigureAwait(false);
        }
        catch (WeightlessException ex)
        {
            return Error(ex.StatusCode, ex.Message);
        }
        if (!TryReadRequest(body, out var query, out var operationName, out var variables, out var problem))
        {
            return Error(400, problem);
        }
        var userContext = new GraphUserContext(principal, http.Response.Headers);
        var result = await Executer.ExecuteAsync(options =>
        {
            options.Schema = schema;
            options.Query = query;
            options.OperationName = operationName;
            options.Variables = variables;
            options.UserContext = userContext;
            options.RequestServices = http.RequestServices;
            options.CancellationToken = cancellationToken;
            options.ThrowOnUnhandledException = false;
            options.UnhandledExceptionDelegate = ToGraphQLError;
        }).ConfigureAwait(false);
        if (userContext.RateLimited is { } limited)
        {
            return ProblemMapper.ToResult(limited, http, logger);
        }
        return TypedResults.Content(Serializer.Serialize(result), "application/json", Encoding.UTF8, StatusCodes.Status200OK);
    }

    /// <summary>Known failures keep their message and get a code; anything else is logged and stays generic.</summary>
    private Task ToGraphQLError(UnhandledExceptionContext context)
    {
        var exception = context.OriginalException;
        while (exception is not WeightlessException && exception.InnerException is { } inner)
        {
            exception = inner;
        }
        if (exception is WeightlessException known)
        {
            var error = new ExecutionError(known.Message) { Code = Code(known) };
            if (known.Field is { } field)
            {
                error.Data["field"] = field;
            }
            context.Exception = error;
        }
        else if (exception is OperationCanceledException)
        {
            context.ErrorMessage = "The request was cancelled.";
        }
        else
        {
            logger.LogError(context.OriginalException, "GraphQL resolver failed");
            context.ErrorMessage = "An unexpected error occurred; it has been logged.";
        }
        return Task.CompletedTask;
    }

    private static string Code(WeightlessException exception) => exception switch
    {
        NotFoundException => "NOT_FOUND",
        ForbiddenException => "FORBIDDEN",
        UnauthenticatedException => "UNAUTHENTICATED",
        ConflictException => "CONFLICT",
        TooLargeException => "TOO_LARGE",
        RateLimitedException => "RATE_LIMITED",
        _ => "BAD_USER_INPUT",
    };

    /// <summary>Reads <c>{"query", "variables"?, "operationName"?}</c>; variables may also arrive as a JSON string.</summary>
    internal static bool TryReadRequest(byte[] body, out string query, out string? operationName, out Inputs? variables, out string problem)
    {
        query = "";
        operationName = null;
        variables = null;
        problem = "";
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body);
        }
        catch (JsonException ex)
        {
            problem = $"The request body is not valid JSON: {ex.Message.Split(" LineNumber")[0]}";
            return false;
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                problem = "The request body must be a JSON object with 'query'.";
                return false;
            }
            if (!root.TryGetProperty("query", out var queryElement) || queryElement.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(queryElement.GetString()))
            {
                problem = "'query' must be a non-empty string.";
                return false;
            }
            query = queryElement.GetString()!;
            if (root.TryGetProperty("operationName", out var name))
            {
                if (name.ValueKind == JsonValueKind.String)
                {
                    operationName = name.GetString() is { Length: > 0 } text ? text : null;
                }
                else if (name.ValueKind != JsonValueKind.Null)
                {
                    problem = "'operationName' must be a string.";
                    return false;
                }
            }
            if (root.TryGetProperty("variables", out var variablesElement))
            {
                try
                {
                    switch (variablesElement.ValueKind)
                    {
                        case JsonValueKind.Object:
                            variables = Serializer.ReadNode<Inputs>(variablesElement);
                            break;
                        case JsonValueKind.String when variablesElement.GetString() is { Length: > 0 } text:
                            variables = Serializer.Deserialize<Inputs>(text);
                            break;
                        case JsonValueKind.Null or JsonValueKind.String:
                            break;
                        default:
                            problem = "'variables' must be a JSON object.";
                            return false;
                    }
                }
                catch (JsonException ex)
                {
                    problem = $"'variables' is not a valid JSON object: {ex.Message.Split(" LineNumber")[0]}";
                    return false;
                }
            }
        }
        return true;
    }

    private static IResult Error(int status, string message) =>
        TypedResults.Content(
            JsonSerializer.Serialize(new { errors = new[] { new { message } } }),
            "application/json",
            Encoding.UTF8,
            status);
}
