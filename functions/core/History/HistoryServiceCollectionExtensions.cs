using Microsoft.Extensions.DependencyInjection;
using Weightless.Core.History;

// In the hosting namespace so the core registration calls it with one line and no extra using.
namespace Weightless.Core.Hosting;

/// <summary>Registers the history/metrics storage engine behind file_stream (<see cref="FileStreamIngestor"/> and its stores).</summary>
internal static class HistoryServiceCollectionExtensions
{
    public static IServiceCollection AddWeightlessHistory(this IServiceCollection services)
    {
        services.AddSingleton<HistoryStore>();
        services.AddSingleton<EventsStore>();
        services.AddSingleton<ConsoleLogStore>();
        services.AddSingleton<FileStreamIngestor>();
        return services;
    }
}
