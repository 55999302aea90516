using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Weightless.Core.Query;

internal static class QueryServiceCollectionExtensions
{
    /// <summary>The run index and the REST API's query services (needs <c>AddWeightlessCore</c> and <c>AddWeightlessRuns</c>). The query app and the ingest app (GraphQL <c>project.runs</c>) both call it, hence TryAdd.</summary>
    public static IServiceCollection AddWeightlessQuery(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<RunIndexOptions>().Bind(configuration.GetSection(RunIndexOptions.Section));
        services.TryAddSingleton<RunStoreIndexSource>();
        services.TryAddSingleton<IRunIndexSource>(sp => sp.GetRequiredService<RunStoreIndexSource>());
        services.TryAddSingleton<RunIndexService>();
        services.TryAddSingleton<RunQueryService>();
        services.TryAddSingleton<HistoryQueryService>();
        services.TryAddSingleton<ExportService>();
        return services;
    }
}
