using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Weightless.Sweeps;

/// <summary>The services the sweeps app's functions need beyond core; the dev host calls this too.</summary>
internal static class SweepsServices
{
    public static void Add(IServiceCollection services, IConfiguration configuration)
    {
    }
}
