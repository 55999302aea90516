using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Weightless.Tests.Infrastructure;

namespace Weightless.Dashboard.Tests.Infrastructure;

/// <summary>
/// The dev host on a real loopback port (Kestrel, so a browser can reach it) over the shared
/// Azurite, plus one headless Debian Chromium driven by Playwright. Never downloads a browser.
/// </summary>
public sealed class DashboardHost : IAsyncLifetime
{
    public const string ChromiumPath = "/usr/bin/chromium";

    private static readonly string[] ChromiumArgs =
    [
        "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-features=PreloadTopChromeWebUI,WebUIOmniboxPopup,WebUIOmniboxFullPopup,WebUIOmniboxAimPopup",
    ];

    private WeightlessFactory? _factory;
    private IPlaywright? _playwright;

    public string BaseUrl { get; private set; } = "";

    public string AdminKey => _factory!.AdminKey;

    /// <summary>The admin's entity (the dev host's built-in admin user).</summary>
    public const string Entity = "admin";

    /// <summary>
    /// Project "spikes", seeded once for the whole collection (on first use): run r0000 with 1,000,000 steps of
    /// spike (1, and 100 at <see cref="SpikeStep"/>) plus system metrics,
    /// console output and a file; runs r0001..r0039 with 500 steps of train/loss and val/acc.
    /// </summary>
    internal Task<SeededProject> SpikesAsync() => _spikes.Value;

    private readonly Lazy<Task<SeededProject>> _spikes;

    public DashboardHost()
    {
        _spikes = new(SeedSpikesAsync);
    }

    public const int SpikeRunCount = 40;
    public const long SpikeSteps = 1_000_000;
    public const long SpikeStep = 654_321;
    public const int ShortSteps = 500;

    /// <summary>
    /// WEIGHTLESS_DASHBOARD_PERF_PREFIX: a fixed storage prefix instead of a fresh one, so a large seed
    /// (PerformanceFigures at 100 runs × 100,000 steps) is written once into a long-lived Azurite and
    /// later runs measure it again (cold host) without re-seeding.
    /// </summary>
    public static string? PersistentPrefix =>
        Environment.GetEnvironmentVariable("WEIGHTLESS_DASHBOARD_PERF_PREFIX") is { Length: > 0 } prefix ? prefix.ToLowerInvariant() : null;

    /// <summary>How long seeding took, for the test output.</summary>
    public string SeedTimings { get; private set; } = "";

    public IServiceProvider Services => _factory!.Services;

    public IBrowser Browser { get; private set; } = null!;

    /// <summary>No credentials.</summary>
    public HttpClient Http { get; private set; } = null!;

    /// <summary>The admin's API key as a Bearer token.</summary>
    public HttpClient AdminHttp { get; private set; } = null!;

    /// <summary>Where screenshots go: TestResults/dashboard under the repository root (test.sh collects TestResults/).</summary>
    public static string ArtifactDirectory
    {
        get
        {
            var dir = Path.Combine(AzuriteFixture.RepositoryRoot(), "TestResults", "dashboard");
            Directory.CreateDirectory(dir);
            return dir;
        }
    }

    public async Task InitializeAsync()
    {
        if (!File.Exists(Path.Combine(AppContext.BaseDirectory, "wwwroot", "index.html")))
        {
            throw new InvalidOperationException("The dashboard build is missing from the test output: run `(cd dashboard && npm ci && npm run build)` before `dotnet build` (scripts/dashboard.sh build_dashboard).");
        }
        if (!File.Exists(ChromiumPath))
        {
            throw new InvalidOperationException($"{ChromiumPath} is missing: install Debian's chromium (scripts/dashboard.sh install_chromium).");
        }
        _factory = new WeightlessFactory(PersistentPrefix is { } prefix ? new Dictionary<string, string?> { ["Storage:TablePrefix"] = prefix, ["DurableTaskHub"] = prefix + "hub" } : null);
        _factory.UseKestrel(AzuriteFixture.FreePort());
        _factory.StartServer();
        var addresses = _factory.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
        BaseUrl = addresses.First().Replace("localhost", "127.0.0.1", StringComparison.Ordinal).TrimEnd('/');
        Http = new HttpClient { BaseAddress = new Uri(BaseUrl) };
        AdminHttp = new HttpClient { BaseAddress = new Uri(BaseUrl) };
        AdminHttp.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", AdminKey);
        // The machine is shared (2 cores, several test runs): give assertions room beyond Playwright's 5 s.
        Assertions.SetDefaultExpectTimeout(20_000);
        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ChromiumArgs,
        });
    }

    /// <summary>Seeds "spikes" on first use, so test runs filtered to other classes don't wait for it.</summary>
    private async Task<SeededProject> SeedSpikesAsync()
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var spikes = new SeededProject(_factory!.Services, Entity, "spikes");
        var runs = await spikes.CreateRunsAsync(SpikeRunCount);
        var history = System.Diagnostics.Stopwatch.StartNew();
        var longRun = Task.Run(async () =>
        {
            // Only _step and the metric: the million lines are what takes time to store.
            await spikes.AppendHistoryAsync(SeededProject.RunId(0), ["spike"], SpikeSteps, SpikeStep, batch: 50_000, timeKeys: false);
            return history.Elapsed;
        });
        await Parallel.ForEachAsync(Enumerable.Range(1, SpikeRunCount - 1), new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (i, _) =>
            await spikes.AppendHistoryAsync(SeededProject.RunId(i), ["train/loss", "val/acc"], ShortSteps));
        await spikes.AddRunExtrasAsync(SeededProject.RunId(0));
        SeedTimings = $"seeded {SpikeRunCount} runs in {runs.TotalSeconds:F1} s, 1,000,000 history lines in {(await longRun).TotalSeconds:F1} s, total {watch.Elapsed.TotalSeconds:F1} s";
        return spikes;
    }

    /// <summary>A fresh browser context (own storage) at 1400×1000, device scale 1 so canvas pixels map 1:1.</summary>
    public async Task<IPage> NewPageAsync(bool signedIn, ColorScheme colorScheme = ColorScheme.Light)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = BaseUrl,
            ViewportSize = new ViewportSize { Width = 1400, Height = 1000 },
            DeviceScaleFactor = 1,
            ColorScheme = colorScheme,
        });
        if (signedIn)
        {
            await context.AddInitScriptAsync($"sessionStorage.setItem('weightless.apiKey', '{AdminKey}');");
        }
        return await context.NewPageAsync();
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.CloseAsync();
        }
        _playwright?.Dispose();
        Http?.Dispose();
        AdminHttp?.Dispose();
        if (_factory is not null)
        {
            await _factory.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class DashboardCollection : ICollectionFixture<DashboardHost>
{
    public const string Name = "dashboard";
}
