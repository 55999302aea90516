using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Weightless.Core.Events;

internal static class EventsServiceCollectionExtensions
{
    /// <summary>The event publisher; called from <c>AddWeightlessCore</c>, so every host can publish.</summary>
    public static IServiceCollection AddWeightlessEvents(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<EventGridOptions>().Bind(configuration.GetSection(EventGridOptions.Section));
        services.AddSingleton<EventPublisher>();
        return services;
    }
}
