using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Configuration;

namespace Weightless.Tests.Infrastructure;

/// <summary>
/// The dev host in-process (TestServer) over the shared Azurite, with its own storage prefix,
/// task hub and admin key, so test classes can run in parallel without seeing each other's data.
/// </summary>
public sealed class WeightlessFactory : WebApplicationFactory<Program>
{
    private readonly Dictionary<string, string?> _settings;

    public WeightlessFactory(IDictionary<string, string?>? overrides = null)
    {
        Prefix = AzuriteFixture.NewPrefix();
        AdminKey = AzuriteFixture.NewApiKey();
        _settings = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase)
        {
            ["Storage:ConnectionString"] = AzuriteFixture.ConnectionString,
            ["Storage:TablePrefix"] = Prefix,
            ["Admin:ApiKey"] = AdminKey,
            ["Admin:KeyFile"] = null,
            ["Auth:Mode"] = "Local",
            ["DevHost:DurableBackend"] = "InMemory",
            ["DevHost:RunTimers"] = "false",
            ["DurableTaskHub"] = Prefix + "hub",
            ["Logging:LogLevel:Default"] = "Warning",
        };
        foreach (var (key, value) in overrides ?? new Dictionary<string, string?>())
        {
            _settings[key] = value;
        }
    }

    public string Prefix { get; }

    public string AdminKey { get; }

    /// <summary>An HttpClient that sends the admin key as W&amp;B clients send keys (Basic <c>api:key</c>).</summary>
    public HttpClient CreateClient(string apiKey)
    {
        var client = CreateClient();
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue(
            "Basic", Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes("api:" + apiKey)));
        return client;
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        builder.ConfigureAppConfiguration((_, config) => config.AddInMemoryCollection(_settings));
    }
}
