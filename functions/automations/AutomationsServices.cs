using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Weightless.Core.Automations;

namespace Weightless.Automations;

/// <summary>The services the automations app's functions need beyond core; the dev host calls this too.</summary>
internal static class AutomationsServices
{
    public static void Add(IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton<EventLog>();
    }
}
