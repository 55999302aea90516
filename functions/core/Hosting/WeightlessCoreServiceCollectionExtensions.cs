using Azure.Monitor.OpenTelemetry.Exporter;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Identity.Web;
using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Weightless.Core.Auth;
using Weightless.Core.Events;
using Weightless.Core.Storage;
using Weightless.Core.Tenancy;

namespace Weightless.Core.Hosting;

/// <summary>
/// The one registration every host calls — each Function app's <c>Program</c> and the dev host —
/// so a function sees the same services in Azure and locally.
/// </summary>
internal static class WeightlessCoreServiceCollectionExtensions
{
    public const string ActivitySourceName = "Weightless";

    public static IServiceCollection AddWeightlessCore(this IServiceCollection services, IConfiguration configuration, string serviceName)
    {
        services.AddOptions<StorageOptions>().Bind(configuration.GetSection(StorageOptions.Section));
        services.AddOptions<History.HistoryOptions>().Bind(configuration.GetSection(History.HistoryOptions.Section));
        services.AddOptions<AuthOptions>().Bind(configuration.GetSection(AuthOptions.Section));
        services.AddOptions<AdminOptions>().Bind(configuration.GetSection(AdminOptions.Section));
        services.AddOptions<EntraSettings>().Bind(configuration.GetSection(EntraSettings.Section));

        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<StorageMetrics>();
        services.AddSingleton<StorageAccount>();
        services.AddSingleton<TenancyService>();
        services.AddSingleton<Authenticator>();
        services.AddSingleton<AccountApi>();
        services.AddSingleton<HealthService>();
        services.AddSingleton<DevTokenIssuer>();
        services.AddWeightlessEvents(configuration);
        services.AddHostedService<AdminBootstrapper>();
        services.AddWeightlessHistory();

        services.AddWeightlessAuthentication(configuration);
        services.AddWeightlessTelemetry(configuration, serviceName);
        return services;
    }

    /// <summary>
    /// Microsoft.Identity.Web validates Entra access tokens. In local mode only the metadata source
    /// changes: the dev RSA key signs, and issuer validation is pinned to the configured tenant.
    /// </summary>
    private static void AddWeightlessAuthentication(this IServiceCollection services, IConfiguration configuration)
    {
        var entra = configuration.GetSection(EntraSettings.Section).Get<EntraSettings>() ?? new EntraSettings();
        var azureAd = new Dictionary<string, string?>
        {
            ["Instance"] = entra.Instance,
            ["TenantId"] = entra.TenantId,
            ["ClientId"] = entra.ClientId,
            ["Audience"] = entra.Audience,
        };
        var section = new ConfigurationBuilder().AddInMemoryCollection(azureAd.Select(kv => new KeyValuePair<string, string?>($"{EntraSettings.Section}:{kv.Key}", kv.Value))).Build().GetSection(EntraSettings.Section);
        services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme)
            .AddMicrosoftIdentityWebApi(section, JwtBearerDefaults.AuthenticationScheme);
        services.AddAuthorization();
        services.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme)
            .PostConfigure<IOptions<AuthOptions>, DevTokenIssuer>((jwt, auth, issuer) =>
            {
                jwt.MapInboundClaims = false;
                jwt.TokenValidationParameters.ValidAudiences = [entra.Audience, entra.ClientId];
                if (!auth.Value.IsLocal)
                {
                    return;
                }
                var metadata = new OpenIdConnectConfiguration { Issuer = issuer.Issuer };
                metadata.SigningKeys.Add(issuer.SigningKey);
                jwt.Configuration = metadata;
                jwt.ConfigurationManager = new StaticConfigurationManager<OpenIdConnectConfiguration>(metadata);
                jwt.TokenValidationParameters.IssuerValidator = null;
                jwt.TokenValidationParameters.ValidIssuers = [issuer.Issuer];
                jwt.TokenValidationParameters.IssuerSigningKeys = [issuer.SigningKey];
            });
    }

    private static void AddWeightlessTelemetry(this IServiceCollection services, IConfiguration configuration, string serviceName)
    {
        var connectionString = configuration["APPLICATIONINSIGHTS_CONNECTION_STRING"];
        var console = configuration.GetValue("Telemetry:Console", false);
        services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(serviceName))
            .WithTracing(t =>
            {
                t.AddSource(ActivitySourceName).AddAspNetCoreInstrumentation().AddHttpClientInstrumentation();
                if (!string.IsNullOrEmpty(connectionString))
                {
                    t.AddAzureMonitorTraceExporter(o => o.ConnectionString = connectionString);
                }
                else if (console)
                {
                    t.AddConsoleExporter();
                }
            })
            .WithMetrics(m =>
            {
                m.AddMeter(StorageMetrics.MeterName, ActivitySourceName).AddAspNetCoreInstrumentation();
                if (!string.IsNullOrEmpty(connectionString))
                {
                    m.AddAzureMonitorMetricExporter(o => o.ConnectionString = connectionString);
                }
                else if (console)
                {
                    m.AddConsoleExporter();
                }
            });
        if (!string.IsNullOrEmpty(connectionString))
        {
            services.AddLogging(l => l.AddOpenTelemetry(o => o.AddAzureMonitorLogExporter(e => e.ConnectionString = connectionString)));
        }
    }
}
