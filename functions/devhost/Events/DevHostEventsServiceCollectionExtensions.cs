using Weightless.Core.Hosting;
using Weightless.DevHost.Triggers;

namespace Weightless.DevHost.Events;

internal static class DevHostEventsServiceCollectionExtensions
{
    /// <summary>
    /// The local stand-ins for Event Grid delivery and the Functions host's queue and timer
    /// listeners: the queue-trigger poller, the timer runner and the <c>queues</c> health check.
    /// </summary>
    public static IServiceCollection AddDevHostEvents(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<TriggerOptions>().Bind(configuration.GetSection(DevHostOptions.Section));
        services.AddSingleton(new FunctionAssemblies(FunctionApps.Assemblies));
        services.AddSingleton<QueueTriggerPoller>();
        services.AddHostedService(sp => sp.GetRequiredService<QueueTriggerPoller>());
        services.AddSingleton<TimerTriggerRunner>();
        services.AddHostedService(sp => sp.GetRequiredService<TimerTriggerRunner>());
        services.AddSingleton<IHealthProbe, QueuesHealthProbe>();
        return services;
    }
}
