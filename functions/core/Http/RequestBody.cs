using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;
using Weightless.Core.Errors;

namespace Weightless.Core.Http;

/// <summary>Reads JSON request bodies so that malformed input is a 400 naming the problem, never a 500.</summary>
internal static class RequestBody
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = JsonNumberHandling.AllowReadingFromString | JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    public static async Task<T> ReadJsonAsync<T>(HttpRequest request, CancellationToken cancellationToken = default)
        where T : class
    {
        if (request.ContentLength == 0)
        {
            throw new ValidationFailedException("The request body is empty; send a JSON object.", "body");
        }
        try
        {
            return await JsonSerializer.DeserializeAsync<T>(request.Body, Options, cancellationToken).ConfigureAwait(false)
                ?? throw new ValidationFailedException("The request body is 'null'; send a JSON object.", "body");
        }
        catch (JsonException ex)
        {
            var field = string.IsNullOrEmpty(ex.Path) || ex.Path == "$" ? "body" : ex.Path.TrimStart('$', '.');
            throw new ValidationFailedException($"The request body is not valid JSON for this call: {ex.Message.Split(" Path:")[0]}", field);
        }
    }

    /// <summary>A required string property, trimmed; a 400 naming it when absent.</summary>
    public static string Required(string? value, string field) =>
        string.IsNullOrWhiteSpace(value) ? throw new ValidationFailedException($"'{field}' is required.", field) : value.Trim();
}
