using GraphQL;
using Microsoft.Extensions.DependencyInjection;
using Weightless.Core.Auth;
using Weightless.Core.Runs;

namespace Weightless.Core.GraphQL;

/// <summary>The per-request user context: who is asking, and where rate-limit headers go.</summary>
internal sealed class GraphUserContext(Principal principal, Microsoft.AspNetCore.Http.IHeaderDictionary? responseHeaders = null) : Dictionary<string, object?>
{
    public Principal Principal { get; } = principal;

    public Microsoft.AspNetCore.Http.IHeaderDictionary? ResponseHeaders { get; } = responseHeaders;

    /// <summary>
    /// Set when a resolver was refused by a rate limit: the whole answer is then HTTP 429, because
    /// the clients retry only on the status code, never on an error inside a 200.
    /// </summary>
    public Errors.RateLimitedException? RateLimited { get; set; }
}

/// <summary>A project as the schema sees it: it may not exist yet (W&amp;B creates projects on first write).</summary>
internal sealed record ProjectSource(string Entity, string Name, ProjectRow? Row);

/// <summary>A page of run files.</summary>
internal sealed record FileConnectionSource(IReadOnlyList<RunFileInfo> Files, bool HasMore);

internal sealed record ViewerSource(Principal Principal, string? Email, IReadOnlyList<string> Teams);

internal sealed record NamedSource(string Id, string Name);

internal static class ResolveContextExtensions
{
    public static Principal Principal(this IResolveFieldContext context) =>
        (context.UserContext as GraphUserContext)?.Principal ?? throw new Errors.UnauthenticatedException("Not signed in.");

    public static T Service<T>(this IResolveFieldContext context)
        where T : notnull =>
        context.RequestServices!.GetRequiredService<T>();
}
