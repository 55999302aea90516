using System.Reflection;

namespace Weightless.DevHost;

/// <summary>The four Function apps this host serves, and their service registrations.</summary>
internal static class FunctionApps
{
    public static readonly Assembly[] Assemblies =
    [
        typeof(Ingest.IngestServices).Assembly,
        typeof(Query.QueryServices).Assembly,
        typeof(Sweeps.SweepsServices).Assembly,
        typeof(Automations.AutomationsServices).Assembly,
    ];

    public static void AddServices(IServiceCollection services, IConfiguration configuration)
    {
        Ingest.IngestServices.Add(services, configuration);
        Query.QueryServices.Add(services, configuration);
        Sweeps.SweepsServices.Add(services, configuration);
        Automations.AutomationsServices.Add(services, configuration);
    }
}
