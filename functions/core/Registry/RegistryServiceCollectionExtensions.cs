using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Weightless.Core.Registry;

internal static class RegistryServiceCollectionExtensions
{
    /// <summary>Registries, their roles and the policy artifact code asks about registry projects.</summary>
    public static IServiceCollection AddWeightlessRegistry(this IServiceCollection services)
    {
        services.TryAddSingleton<RegistryAccess>();
        services.TryAddSingleton<Tenancy.EntityNumbers>();
        services.TryAddSingleton<IRegistryPolicy>(sp => sp.GetRequiredService<RegistryAccess>());
        services.TryAddSingleton<RegistryService>();
        return services;
    }
}
