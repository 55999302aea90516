using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Weightless.Core.Hosting;

namespace Weightless.Functions;

/// <summary>Starts a Function app: core services, the app's own services, and the error middleware.</summary>
internal static class FunctionAppHost
{
    public static void Run(string[] args, string serviceName, Action<IServiceCollection, IConfiguration> addAppServices)
    {
        ThreadPoolFloor.Apply();
        var builder = FunctionsApplication.CreateBuilder(args);
        builder.ConfigureFunctionsWebApplication();
        builder.UseMiddleware<ProblemDetailsMiddleware>();
        builder.Services.AddWeightlessCore(builder.Configuration, serviceName);
        addAppServices(builder.Services, builder.Configuration);
        builder.Build().Run();
    }
}
