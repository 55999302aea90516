using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Weightless.Core.Runs;

internal static class RunsServiceCollectionExtensions
{
    /// <summary>Projects, runs, run files and crash detection (needs <c>AddWeightlessCore</c>).</summary>
    public static IServiceCollection AddWeightlessRuns(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<RunsOptions>().Bind(configuration.GetSection(RunsOptions.Section));
        services.AddOptions<RateLimitOptions>().Bind(configuration.GetSection(RateLimitOptions.Section));
        services.AddSingleton<ProjectRateLimiter>();
        services.AddSingleton<RunService>();
        services.AddSingleton<RunFileService>();
        services.AddSingleton<FileStreamHandler>();
        services.AddSingleton<RunBranchService>();
        return services;
    }
}
