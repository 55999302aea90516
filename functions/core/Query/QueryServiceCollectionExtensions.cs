using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Weightless.Core.Query;

internal static class QueryServiceCollectionExtensions
{
    /// <summary>The run index and the REST API's query services (needs <c>AddWeightlessCore</c> and <c>AddWeightlessRuns</c>).</summary>
    public static IServiceCollection AddWeightlessQuery(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<RunIndexOptions>().Bind(configuration.GetSection(RunIndexOptions.Section));
        services.AddSingleton<RunStoreIndexSource>();
        services.AddSingleton<IRunIndexSource>(sp => sp.GetRequiredService<RunStoreIndexSource>());
        services.AddSingleton<RunIndexService>();
        services.AddSingleton<RunQueryService>();
        services.AddSingleton<HistoryQueryService>();
        services.AddSingleton<ExportService>();
        return services;
    }
}
