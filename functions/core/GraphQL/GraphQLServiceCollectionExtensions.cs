using Microsoft.Extensions.DependencyInjection;

namespace Weightless.Core.GraphQL;

internal static class GraphQLServiceCollectionExtensions
{
    /// <summary>The W&amp;B-compatible GraphQL endpoint (needs <c>AddWeightlessRuns</c>).</summary>
    public static IServiceCollection AddWeightlessGraphQL(this IServiceCollection services)
    {
        services.AddSingleton<WandbSchema>();
        services.AddSingleton<GraphQLEndpoint>();
        return services;
    }
}
