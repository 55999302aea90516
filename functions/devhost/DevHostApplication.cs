using Weightless.Core.Hosting;
using Weightless.DevHost.Durable;
using Weightless.DevHost.Events;
using Weightless.DevHost.Http;

namespace Weightless.DevHost;

/// <summary>
/// One ASP.NET Core process that serves all four Function apps' functions unchanged, with the
/// local stand-ins for what the Functions host and Azure provide.
/// </summary>
internal static class DevHostApplication
{
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        ThreadPoolFloor.Apply();
        var builder = WebApplication.CreateBuilder(args);
        ConfigureServices(builder);
        configure?.Invoke(builder);
        var app = builder.Build();
        app.MapFunctions(FunctionApps.Assemblies);
        app.MapLocalEventGrid();
        return app;
    }

    public static void ConfigureServices(WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<DevHostOptions>().Bind(builder.Configuration.GetSection(DevHostOptions.Section));
        builder.Services.AddWeightlessCore(builder.Configuration, "weightless-devhost");
        FunctionApps.AddServices(builder.Services, builder.Configuration);
        builder.Services.AddDevHostEvents(builder.Configuration);
        builder.Services.AddDevHostDurable();
        builder.Services.AddProblemDetails();
    }
}
