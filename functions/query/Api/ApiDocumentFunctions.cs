using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;

namespace Weightless.Query.Api;

/// <summary>The OpenAPI document of <c>/api/v1</c> and a self-contained reference page that renders it (no CDN: it works offline).</summary>
internal sealed class ApiDocumentFunctions
{
    [Function("GetOpenApiDocument")]
    public IResult GetOpenApiDocument([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/openapi.json")] HttpRequest req) =>
        TypedResults.Bytes(ApiDocuments.OpenApi, "application/json");

    [Function("GetApiReference")]
    public IResult GetApiReference([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/docs")] HttpRequest req) =>
        TypedResults.Bytes(ApiDocuments.ReferencePage, "text/html; charset=utf-8");
}

/// <summary>The documents embedded in this assembly (the repository files are the single source).</summary>
internal static class ApiDocuments
{
    private static readonly Lazy<byte[]> OpenApiBytes = new(() => Read("Weightless.Query.openapi.json"));
    private static readonly Lazy<byte[]> ReferenceBytes = new(() => Read("Weightless.Query.docs.html"));

    public static byte[] OpenApi => OpenApiBytes.Value;

    public static byte[] ReferencePage => ReferenceBytes.Value;

    private static byte[] Read(string name)
    {
        using var stream = typeof(ApiDocuments).Assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"Embedded resource {name} is missing.");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
