using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Client.Grpc;
using Microsoft.DurableTask.Worker;
using Microsoft.DurableTask.Worker.Grpc;
using Microsoft.Extensions.Options;
using Weightless.Core.Hosting;

namespace Weightless.DevHost.Durable;

/// <summary>Durable orchestrations in the dev host: the sidecar, the worker running the apps' durable functions, and the client.</summary>
internal static class DurableServiceCollectionExtensions
{
    // Discovered now so that a function the dev host cannot run stops start-up with a clear message.
    public static IServiceCollection AddDevHostDurable(this IServiceCollection services) =>
        services.AddDurableFunctions(DurableFunctionRegistration.Discover(FunctionApps.Assemblies));

    /// <summary>The sidecar, worker and client for the given durable functions (tests pass their own).</summary>
    internal static IServiceCollection AddDurableFunctions(this IServiceCollection services, IReadOnlyList<DurableFunction> functions)
    {
        services.AddSingleton<DurableSidecarEndpoint>();
        services.AddSingleton<DurableBackendSettings>();
        // Registered before the worker so the sidecar is listening when the worker connects.
        services.AddSingleton<DurableSidecar>();
        services.AddHostedService(sp => sp.GetRequiredService<DurableSidecar>());

        services.AddDurableTaskWorker(builder => builder.UseGrpc());
        services.AddOptions<GrpcDurableTaskWorkerOptions>(Options.DefaultName)
            .Configure<DurableSidecarEndpoint>((options, endpoint) => options.Address = endpoint.Address);
        services.AddOptions<DurableTaskRegistry>(Options.DefaultName)
            .Configure<IOptionsMonitor<DurableTaskWorkerOptions>, ILoggerFactory>((registry, worker, loggers) =>
                DurableFunctionRegistration.Register(registry, functions, worker.Get(Options.DefaultName).DataConverter, loggers));

        services.AddDurableTaskClient(builder =>
        {
            builder.UseGrpc();
            builder.RegisterDirectly();
        });
        services.AddOptions<GrpcDurableTaskClientOptions>(Options.DefaultName)
            .Configure<DurableSidecarEndpoint>((options, endpoint) => options.Address = endpoint.Address);

        services.AddSingleton<IHealthProbe, DurableHealthProbe>();
        return services;
    }
}
