using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Weightless.Core.Runs;

internal static class RunsServiceCollectionExtensions
{
    /// <summary>Projects, runs, run files and crash detection (needs <c>AddWeightlessCore</c>). Both the ingest and query apps call it, hence TryAdd.</summary>
    public static IServiceCollection AddWeightlessRuns(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<RunsOptions>().Bind(configuration.GetSection(RunsOptions.Section));
        services.AddOptions<RateLimitOptions>().Bind(configuration.GetSection(RateLimitOptions.Section));
        services.TryAddSingleton<ProjectRateLimiter>();
        services.TryAddSingleton<RunService>();
        services.TryAddSingleton<RunFileService>();
        services.TryAddSingleton<FileStreamHandler>();
        services.TryAddSingleton<RunBranchService>();
        return services;
    }
}
