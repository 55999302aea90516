using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Weightless.Core.Tenancy;
using Weightless.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Weightless.Integration.Tests.Durable;

/// <summary>The durable self-check end to end through the dev host, on one durable backend.</summary>
public abstract class DurableSelfCheckTests : IAsyncLifetime
{
    private readonly ITestOutputHelper _output;
    private readonly WeightlessFactory _factory;

    protected DurableSelfCheckTests(string backend, ITestOutputHelper output)
    {
        _output = output;
        Backend = backend;
        _factory = new WeightlessFactory(new Dictionary<string, string?>
        {
            ["DevHost:DurableBackend"] = backend,
            ["DevHost:DurableSidecarPort"] = AzuriteFixture.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
    }

    protected string Backend { get; }

    public Task InitializeAsync()
    {
        var started = Stopwatch.StartNew();
        _ = _factory.Services;
        _output.WriteLine($"{Backend}: dev host started in {started.ElapsedMilliseconds} ms");
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _factory.DisposeAsync();

    [Fact]
    public async Task Self_check_completes_with_one_row_per_step()
    {
        using var admin = _factory.CreateClient(_factory.AdminKey);
        var clock = Stopwatch.StartNew();
        var instanceId = await SelfCheckDriver.StartAsync(admin, steps: 3, delaySeconds: 1);

        var status = await SelfCheckDriver.WaitForCompletionAsync(admin, instanceId, TimeSpan.FromSeconds(60));
        _output.WriteLine($"{Backend}: 3 steps with 1 s timers completed in {clock.ElapsedMilliseconds} ms");

        Assert.Equal(instanceId, status.GetProperty("instanceId").GetString());
        Assert.Equal(3, status.GetProperty("output").GetProperty("steps").GetInt32());
        var completedAt = status.GetProperty("output").GetProperty("completedAt").GetDateTime();
        var createdAt = status.GetProperty("createdAt").GetDateTimeOffset();
        // Three durable timers of 1 s each lie between start and completion (whole-second timers may fire up to ~1 s early on Azure Storage).
        Assert.True(completedAt - createdAt.UtcDateTime >= TimeSpan.FromSeconds(1), $"created {createdAt:O}, completed {completedAt:O}");
        Assert.True(status.GetProperty("lastUpdatedAt").GetDateTimeOffset() >= createdAt);
        Assert.Equal([1, 2, 3], await SelfCheckDriver.ReadStepsAsync(AzuriteFixture.ConnectionString, _factory.Prefix, instanceId));
    }

    [Fact]
    public async Task Health_reports_the_durable_backend()
    {
        using var client = _factory.CreateClient();
        using var response = await client.GetAsync("/api/v1/health");
        var body = await response.Content.ReadAsStringAsync();
        using var json = JsonDocument.Parse(body);
        Assert.Equal("ok", json.RootElement.GetProperty("checks").GetProperty("durable").GetString());
    }

    [Theory]
    [InlineData("{\"steps\":0}", "steps")]
    [InlineData("{\"steps\":21}", "steps")]
    [InlineData("{\"delaySeconds\":-1}", "delaySeconds")]
    [InlineData("{\"delaySeconds\":31}", "delaySeconds")]
    [InlineData("{\"steps\":\"many\"}", "steps")]
    public async Task Bad_input_is_400_naming_the_field(string body, string field)
    {
        using var admin = _factory.CreateClient(_factory.AdminKey);
        using var content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");
        using var response = await admin.PostAsync(SelfCheckDriver.Route, content);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(field, problem.GetProperty("field").GetString());
    }

    [Fact]
    public async Task An_empty_body_runs_the_defaults()
    {
        using var admin = _factory.CreateClient(_factory.AdminKey);
        using var response = await admin.PostAsync(SelfCheckDriver.Route, content: null);
        var accepted = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal(3, accepted.GetProperty("steps").GetInt32());
        Assert.Equal(1, accepted.GetProperty("delaySeconds").GetInt32());
    }

    [Fact]
    public async Task Only_instance_admins_may_run_or_read_it()
    {
        var tenancy = _factory.Services.GetRequiredService<TenancyService>();
        await tenancy.CreateUserAsync("ordinary", null, isInstanceAdmin: false);
        var (_, key) = await tenancy.CreateApiKeyAsync("ordinary", "durable test", AzuriteFixture.NewApiKey());
        using var user = _factory.CreateClient(key);
        using var anonymous = _factory.CreateClient();
        using var admin = _factory.CreateClient(_factory.AdminKey);
        var instanceId = await SelfCheckDriver.StartAsync(admin, steps: 1, delaySeconds: 0);

        using (var response = await user.PostAsJsonAsync(SelfCheckDriver.Route, new { steps = 1 }))
        {
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        }
        using (var response = await user.GetAsync($"{SelfCheckDriver.Route}/{instanceId}"))
        {
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        }
        using (var response = await anonymous.PostAsJsonAsync(SelfCheckDriver.Route, new { steps = 1 }))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }
        using (var response = await anonymous.GetAsync($"{SelfCheckDriver.Route}/{instanceId}"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }
    }

    [Fact]
    public async Task An_unknown_instance_is_404()
    {
        using var admin = _factory.CreateClient(_factory.AdminKey);
        using var response = await admin.GetAsync($"{SelfCheckDriver.Route}/does-not-exist");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }
}

public sealed class DurableSelfCheckInMemoryTests(ITestOutputHelper output) : DurableSelfCheckTests("InMemory", output);

public sealed class DurableSelfCheckAzureStorageTests(ITestOutputHelper output) : DurableSelfCheckTests("AzureStorage", output);
