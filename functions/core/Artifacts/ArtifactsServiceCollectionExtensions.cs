using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Weightless.Core.Artifacts;

internal static class ArtifactsServiceCollectionExtensions
{
    /// <summary>Artifacts, their events and lineage (needs <c>AddWeightlessCore</c> and <c>AddWeightlessRuns</c>).</summary>
    public static IServiceCollection AddWeightlessArtifacts(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<ArtifactsOptions>().Bind(configuration.GetSection(ArtifactsOptions.Section));
        services.TryAddSingleton<IArtifactEventSink, EventGridArtifactEventSink>();
        services.TryAddSingleton<ArtifactOutbox>();
        services.TryAddSingleton<ArtifactService>();
        services.TryAddSingleton<ArtifactApi>();
        Registry.RegistryServiceCollectionExtensions.AddWeightlessRegistry(services);
        return services;
    }
}
