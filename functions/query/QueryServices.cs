using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Weightless.Core.Artifacts;
using Weightless.Core.Query;
using Weightless.Core.Runs;
using Weightless.Core.Workspaces;

namespace Weightless.Query;

/// <summary>The services the query app's functions need beyond core; the dev host calls this too.</summary>
internal static class QueryServices
{
    public static void Add(IServiceCollection services, IConfiguration configuration)
    {
        services.AddWeightlessRuns(configuration);
        services.AddWeightlessQuery(configuration);
        services.AddWeightlessArtifacts(configuration);
        services.AddWeightlessWorkspaces();
    }
}
