using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Weightless.Core.Workspaces;

internal static class WorkspacesServiceCollectionExtensions
{
    /// <summary>Saved workspace layouts (needs <c>AddWeightlessQuery</c> for the project checks).</summary>
    public static IServiceCollection AddWeightlessWorkspaces(this IServiceCollection services)
    {
        services.TryAddSingleton<WorkspaceService>();
        return services;
    }
}
