using GraphQL;
using Microsoft.Extensions.DependencyInjection;
using Weightless.Core.Auth;
using Weightless.Core.Runs;

namespace Weightless.Core.GraphQL;

/// <summary>The per-request user context: who is asking.</summary>
internal sealed class GraphUserContext(Principal principal) : Dictionary<string, object?>
{
    public Principal Principal { get; } = principal;
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
