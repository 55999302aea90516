using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Configuration;
using Microsoft.Net.Http.Headers;
using Weightless.Core.Errors;

namespace Weightless.Query;

/// <summary>
/// Serves the dashboard's static build (dashboard/dist, copied into the app's <c>wwwroot/</c> at
/// build time) at <c>/</c>. The catch-all route has the lowest routing precedence, so every API
/// route wins; paths under the API surfaces that match nothing get a 404 problem, never the app.
/// Client routes (no file extension) get <c>index.html</c> so links into the app work.
/// </summary>
internal sealed class DashboardFunctions
{
    /// <summary>Path prefixes that belong to the APIs: they must never fall back to index.html.</summary>
    private static readonly string[] ReservedPrefixes = ["api", "graphql", "files", "local-eventgrid", "runtime"];

    private static readonly FileExtensionContentTypeProvider ContentTypes = CreateContentTypes();

    private readonly string _root;

    public DashboardFunctions(IConfiguration configuration)
    {
        var configured = configuration["Dashboard:Root"];
        _root = Path.GetFullPath(string.IsNullOrWhiteSpace(configured) ? Path.Combine(AppContext.BaseDirectory, "wwwroot") : configured);
    }

    [Function("Dashboard")]
    public IResult Serve([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "{*path}")] HttpRequest req, string? path)
    {
        var relative = (path ?? string.Empty).Trim('/');
        var firstSegment = relative.Split('/', 2)[0];
        if (ReservedPrefixes.Contains(firstSegment, StringComparer.OrdinalIgnoreCase))
        {
            throw new NotFoundException($"No route matches {req.Method} {req.Path}.");
        }
        if (relative.Split('/').Any(segment => segment is ".." or "." || segment.Contains('\\', StringComparison.Ordinal)))
        {
            throw new NotFoundException("No such file.");
        }

        var file = relative.Length == 0 ? null : Resolve(relative);
        if (file is null)
        {
            // A client route (/entity/project/runs/id) or a missing asset. Assets have an extension;
            // routes do not (entity, project and run names may contain dots, so check the last segment).
            var lastSegment = relative[(relative.LastIndexOf('/') + 1)..];
            if (relative.StartsWith("assets/", StringComparison.Ordinal) || Path.HasExtension(lastSegment) && ContentTypes.TryGetContentType(lastSegment, out _))
            {
                throw new NotFoundException($"No such file: /{relative}.");
            }
            file = Resolve("index.html") ?? throw new NotFoundException("The dashboard is not built: run `npm ci && npm run build` in dashboard/ before building the query app.");
        }

        var isHashedAsset = relative.StartsWith("assets/", StringComparison.Ordinal) && file.Name != "index.html";
        req.HttpContext.Response.Headers.CacheControl = isHashedAsset ? "public, max-age=31536000, immutable" : "no-cache";
        req.HttpContext.Response.Headers.XContentTypeOptions = "nosniff";
        if (file.Name == "index.html")
        {
            req.HttpContext.Response.Headers["Referrer-Policy"] = "same-origin";
        }
        if (!ContentTypes.TryGetContentType(file.Name, out var contentType))
        {
            contentType = "application/octet-stream";
        }
        var etag = new EntityTagHeaderValue($"\"{file.Length:x}-{file.LastWriteTimeUtc.Ticks:x}\"");
        return TypedResults.PhysicalFile(file.FullName, contentType, lastModified: file.LastWriteTimeUtc, entityTag: etag);
    }

    private FileInfo? Resolve(string relative)
    {
        var full = Path.GetFullPath(Path.Combine(_root, relative));
        if (!full.StartsWith(_root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            return null;
        }
        var info = new FileInfo(full);
        return info.Exists ? info : null;
    }

    private static FileExtensionContentTypeProvider CreateContentTypes()
    {
        var provider = new FileExtensionContentTypeProvider();
        provider.Mappings[".js"] = "text/javascript; charset=utf-8";
        provider.Mappings[".mjs"] = "text/javascript; charset=utf-8";
        provider.Mappings[".css"] = "text/css; charset=utf-8";
        provider.Mappings[".html"] = "text/html; charset=utf-8";
        provider.Mappings[".json"] = "application/json; charset=utf-8";
        provider.Mappings[".svg"] = "image/svg+xml";
        provider.Mappings[".webmanifest"] = "application/manifest+json";
        provider.Mappings[".woff2"] = "font/woff2";
        return provider;
    }
}
