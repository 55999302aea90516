using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Weightless.Core.Artifacts;
using Weightless.Core.GraphQL;
using Weightless.Core.Query;
using Weightless.Core.Runs;

namespace Weightless.Ingest;

/// <summary>The services the ingest app's functions need beyond core; the dev host calls this too.</summary>
internal static class IngestServices
{
    public static void Add(IServiceCollection services, IConfiguration configuration)
    {
        services.AddWeightlessRuns(configuration);
        services.AddWeightlessGraphQL();
        services.AddWeightlessQuery(configuration);
        services.AddWeightlessArtifacts(configuration);
    }
}
