using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Weightless.Dashboard.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Weightless.Dashboard.Tests;

/// <summary>
/// The dashboard in headless Chromium against the dev host's real REST API over Azurite, with the
/// project seeded through the core ingest services (<see cref="DashboardHost.SpikesAsync"/>).
/// </summary>
[Collection(DashboardCollection.Name)]
public sealed partial class RealHostBrowserTests(DashboardHost host, ITestOutputHelper output)
{
    private const string Entity = DashboardHost.Entity;
    private const string Project = "spikes";

    /// <summary>Bodies of the M4 requests the page sent, in order.</summary>
    private static ConcurrentQueue<JsonObject> ObserveM4(IPage page)
    {
        var requests = new ConcurrentQueue<JsonObject>();
        page.Request += (_, request) =>
        {
            if (request.Method == "POST" && request.Url.Contains("/runs/history/m4", StringComparison.Ordinal))
            {
                requests.Enqueue(JsonNode.Parse(request.PostData!)!.AsObject());
            }
        };
        return requests;
    }

    private async Task<IPage> OpenWorkspaceAsync(IPage page, string query, int expectedRuns)
    {
        await host.SpikesAsync();
        await page.GotoAsync($"/{Entity}/{Project}{query}");
        await Assertions.Expect(page.Locator(".toolbar .status").First).ToContainTextAsync($"{expectedRuns} of {DashboardHost.SpikeRunCount} runs", new() { Timeout = 60_000 });
        await page.WaitForFunctionAsync("() => document.body.dataset.chartsReady", null, new() { Timeout = 60_000 });
        return page;
    }

    [Fact]
    public async Task SignInFilterGroupOpenARunAndEditItsTags()
    {
        await host.SpikesAsync();
        output.WriteLine(host.SeedTimings);
        var page = await host.NewPageAsync(signedIn: false);
        await page.GotoAsync($"/{Entity}/{Project}?group=jobType");
        // Only the URL is checked here (committed, not fully loaded): the Expect calls after it wait for content.
        var urlCommitted = new PageWaitForURLOptions { WaitUntil = WaitUntilState.Commit, Timeout = 60_000 };
        await page.WaitForURLAsync(new Regex("/signin\\?next="), urlCommitted);
        await page.FillAsync("#api-key", "wl_not_a_real_key_000000000000000000000000000");
        await page.ClickAsync("button[type=submit]");
        await Assertions.Expect(page.Locator(".signin .error")).ToHaveTextAsync("That API key was not accepted.");
        await page.FillAsync("#api-key", host.AdminKey);
        await page.ClickAsync("button[type=submit]");
        await page.WaitForURLAsync(new Regex($"/{Entity}/{Project}\\?group=jobType$"), urlCommitted);
        var status = page.Locator(".toolbar .status").First;
        await Assertions.Expect(status).ToContainTextAsync($"40 of 40 runs", new() { Timeout = 60_000 });
        await Assertions.Expect(page.Locator(".rt-group")).ToHaveCountAsync(2);
        await page.SelectOptionAsync(".group-by", "");

        // Filter builder: config.optimizer = adam -> runs 0, 3, ..., 39.
        await DashboardPage.FilterAsync(page, "config.optimizer", "=", "adam");
        await Assertions.Expect(status).ToContainTextAsync("14 of 40 runs");
        Assert.Contains("filter=", page.Url, StringComparison.Ordinal);

        // Group by job type: 7 train (even i) + 7 eval.
        await page.SelectOptionAsync(".group-by", "jobType");
        var badges = page.Locator(".rt-group .badge");
        await Assertions.Expect(badges).ToHaveCountAsync(2);
        Assert.Equal(["7", "7"], await badges.AllTextContentsAsync());
        await page.GoBackAsync();
        await Assertions.Expect(page.Locator(".rt-group")).ToHaveCountAsync(0);
        await page.ScreenshotAsync(new() { Path = Path.Combine(DashboardHost.ArtifactDirectory, "workspace-filtered.png"), FullPage = true });

        // Open run-3 and edit its tags and notes; read them back through the REST API.
        await page.FillAsync(".search", "^run-3$");
        await Assertions.Expect(status).ToContainTextAsync("1 of 40 runs");
        await page.Locator(".rt-row[data-run] a.run-link").First.ClickAsync();
        await page.WaitForURLAsync(new Regex($"/{Entity}/{Project}/runs/r0003$"));
        await Assertions.Expect(page.Locator("table.kv[aria-label='Config']")).ToContainTextAsync("optimizer");
        await Assertions.Expect(page.Locator("table.meta")).ToContainTextAsync("gpu-node-1");
        await page.FillAsync(".tags-input", "best, reviewed");
        await page.FillAsync(".notes-input", "looks good");
        await page.ClickAsync(".save-run");
        await Assertions.Expect(page.Locator(".edit .status")).ToHaveTextAsync("Saved");
        var run = await host.AdminHttp.GetFromJsonAsync<JsonElement>($"/api/v1/entities/{Entity}/projects/{Project}/runs/r0003");
        Assert.Equal(["best", "reviewed"], run.GetProperty("tags").EnumerateArray().Select(t => t.GetString()!));
        Assert.Equal("looks good", run.GetProperty("notes").GetString());
        await page.ReloadAsync();
        await Assertions.Expect(page.Locator(".tags-input")).ToHaveValueAsync("best, reviewed");
        await page.ScreenshotAsync(new() { Path = Path.Combine(DashboardHost.ArtifactDirectory, "run-overview.png"), FullPage = true });
    }

    [Fact]
    public async Task ChartsDrawAndAOneStepSpikeInAMillionIsVisibleAtFullZoomOut()
    {
        var page = await host.NewPageAsync(signedIn: true);
        var m4 = ObserveM4(page);
        await OpenWorkspaceAsync(page, "?search=%5Erun-%5B0-2%5D%24", 3);
        Assert.All(m4, request => Assert.Null(request["min"]));
        Assert.Contains(m4, request => request["metrics"]!.AsArray().Any(m => m!.GetValue<string>() == "spike"));

        foreach (var panel in new[] { "auto:train/loss", "auto:val/acc", "auto:spike" })
        {
            var summary = await CanvasProbe.ReadAsync(page, $"[data-panel='{panel}'] canvas", [], 0, 0);
            Assert.True(summary.NonBackground > 1500, $"{panel}: only {summary.NonBackground} non-background pixels");
        }
        var spikeCanvas = "[data-panel='auto:spike'] canvas";
        var probe = await CanvasProbe.ReadAsync(page, spikeCanvas, [], 0, 0);
        var spikeX = CanvasProbe.XToPixel(DashboardHost.SpikeStep, 0, DashboardHost.SpikeSteps - 1, probe.Width);
        var controlX = CanvasProbe.XToPixel(310_000, 0, DashboardHost.SpikeSteps - 1, probe.Width);
        var columns = await CanvasProbe.ReadAsync(page, spikeCanvas, [spikeX, controlX], 20, 190);
        output.WriteLine($"spike column: {columns.ColumnHits[0]} of 171 rows painted; control column: {columns.ColumnHits[1]}");
        Assert.True(columns.ColumnHits[0] >= 160, $"the spike column has only {columns.ColumnHits[0]} painted rows");
        Assert.True(columns.ColumnHits[1] <= 20, $"the control column has {columns.ColumnHits[1]} painted rows (grid lines only expected)");
        await page.ScreenshotAsync(new() { Path = Path.Combine(DashboardHost.ArtifactDirectory, "workspace.png"), FullPage = true });
        await page.Locator("[data-panel='auto:spike']").ScreenshotAsync(new() { Path = Path.Combine(DashboardHost.ArtifactDirectory, "spike-panel.png") });
    }

    [Fact]
    public async Task DragZoomRebucketsAtTheNewRangeAndBackForwardRestoreIt()
    {
        var page = await host.NewPageAsync(signedIn: true);
        var m4 = ObserveM4(page);
        await OpenWorkspaceAsync(page, "?search=%5Erun-0%24", 1);
        var before = m4.Count;
        var canvas = page.Locator("[data-panel='auto:spike'] canvas");
        var box = (await canvas.BoundingBoxAsync())!;
        var x0 = box.X + CanvasProbe.XToPixel(200_000, 0, DashboardHost.SpikeSteps - 1, (int)box.Width);
        var x1 = box.X + CanvasProbe.XToPixel(400_000, 0, DashboardHost.SpikeSteps - 1, (int)box.Width);
        var y = box.Y + 100;
        var drawnBefore = await page.EvaluateAsync<string>("() => document.body.dataset.chartsReady");
        await page.Mouse.MoveAsync((float)x0, (float)y);
        await page.Mouse.DownAsync();
        await page.Mouse.MoveAsync((float)x1, (float)y, new() { Steps = 8 });
        await page.Mouse.UpAsync();
        await page.WaitForURLAsync(new Regex("zoom="));
        await page.WaitForFunctionAsync("before => document.body.dataset.chartsReady !== before", drawnBefore);
        var zoomed = m4.Skip(before).First(r => r["min"] is not null);
        Assert.InRange(zoomed["min"]!.GetValue<double>(), 190_000, 210_000);
        Assert.InRange(zoomed["max"]!.GetValue<double>(), 390_000, 410_000);
        output.WriteLine($"zoomed request: {zoomed.ToJsonString()}; in-page timings: {await DashboardPage.TimingsAsync(page)}");
        // The zoomed spike panel is still drawn (the range holds no spike: a flat line at 1).
        Assert.True((await CanvasProbe.ReadAsync(page, "[data-panel='auto:spike'] canvas", [], 0, 0)).NonBackground > 500);

        // Back to the full range: its buckets are still loaded, so the panels are drawn exactly
        // again without a request (the spike is back), and forward re-uses the zoomed answer too.
        var afterZoom = m4.Count;
        var drawnZoomed = await page.EvaluateAsync<string>("() => document.body.dataset.chartsReady");
        await page.GoBackAsync();
        await page.WaitForURLAsync(url => !url.Contains("zoom=", StringComparison.Ordinal));
        await page.WaitForFunctionAsync("() => !document.querySelector('.reset-zoom')");
        await page.WaitForFunctionAsync("before => document.body.dataset.chartsReady !== before", drawnZoomed);
        var full = await CanvasProbe.ReadAsync(page, "[data-panel='auto:spike'] canvas", [CanvasProbe.XToPixel(DashboardHost.SpikeStep, 0, DashboardHost.SpikeSteps - 1, (int)box.Width)], 20, 190);
        Assert.True(full.ColumnHits[0] >= 160, $"the spike column has only {full.ColumnHits[0]} painted rows after zooming out");
        await page.GoForwardAsync();
        await page.WaitForURLAsync(new Regex("zoom="));
        await Assertions.Expect(page.Locator(".reset-zoom")).ToBeVisibleAsync();
        Assert.Equal(afterZoom, m4.Count);
    }

    [Fact]
    public async Task RunPageShowsLogsSystemMetricsFilesAndArtifacts()
    {
        await host.SpikesAsync();
        var page = await host.NewPageAsync(signedIn: true);
        // The workspace's System section: system metrics of the runs the charts show.
        await OpenWorkspaceAsync(page, "?search=%5Erun-0%24", 1);
        await page.ClickAsync(".system-toggle");
        await page.WaitForFunctionAsync("() => document.querySelector('.system-section canvas')");
        await page.WaitForTimeoutAsync(300);
        Assert.True((await CanvasProbe.ReadAsync(page, ".system-section canvas", [], 0, 0)).NonBackground > 500);

        var runPage = $"/{Entity}/{Project}/runs/r0000";
        await page.GotoAsync(runPage + "/logs");
        await Assertions.Expect(page.Locator(".console .line")).ToHaveCountAsync(4, new() { Timeout = 30_000 });
        await Assertions.Expect(page.Locator(".console .line.stderr .ansi-fg-1")).ToHaveTextAsync("WARNING");
        await Assertions.Expect(page.Locator(".console .line.stdout .ansi-fg-2")).ToHaveTextAsync("loss improved");
        await page.ScreenshotAsync(new() { Path = Path.Combine(DashboardHost.ArtifactDirectory, "run-logs.png"), FullPage = true });

        await page.ClickAsync("nav.tabs >> text=System");
        await page.WaitForFunctionAsync("() => document.querySelectorAll('.run-content canvas').length >= 1");
        await page.WaitForTimeoutAsync(200);
        var system = await CanvasProbe.ReadAsync(page, ".run-content canvas", [], 0, 0);
        Assert.True(system.NonBackground > 500, $"system metrics canvas: {system.NonBackground} painted pixels");

        await page.ClickAsync("nav.tabs >> text=Files");
        await Assertions.Expect(page.Locator("table.files a")).ToHaveTextAsync("config.yaml");
        var href = await page.Locator("table.files a").GetAttributeAsync("href");
        Assert.Equal("lr: 0.001\n", await new HttpClient().GetStringAsync(new Uri(new Uri(host.BaseUrl), href)));

        await page.ClickAsync("nav.tabs >> text=Artifacts");
        await Assertions.Expect(page.Locator(".artifact-inputs h2")).ToHaveTextAsync("Input artifacts (0)");
        await Assertions.Expect(page.Locator(".artifact-outputs h2")).ToHaveTextAsync("Output artifacts (0)");

        await page.ClickAsync("nav.tabs >> text=Charts");
        await page.WaitForFunctionAsync("() => document.querySelector(\"[data-panel='auto:spike'] canvas\")");
        await page.WaitForTimeoutAsync(500);
        var spike = await CanvasProbe.ReadAsync(page, "[data-panel='auto:spike'] canvas", [], 0, 0);
        Assert.True(spike.NonBackground > 500);
        await page.ScreenshotAsync(new() { Path = Path.Combine(DashboardHost.ArtifactDirectory, "run-charts.png"), FullPage = true });
    }

    [Fact]
    public async Task DarkThemeSmoothingAndCsvExportOfTheCurrentView()
    {
        var page = await host.NewPageAsync(signedIn: true);
        var m4 = ObserveM4(page);
        await OpenWorkspaceAsync(page, "?search=%5Erun-1%5Cd%24", 10);
        var requests = m4.Count;
        await page.SelectOptionAsync(".smoothing", "ema");
        await page.WaitForURLAsync(new Regex("smooth=ema"));
        await page.ClickAsync(".theme-toggle");
        await Assertions.Expect(page.Locator("html")).ToHaveAttributeAsync("data-theme", "dark");
        await page.WaitForTimeoutAsync(300);
        Assert.True((await CanvasProbe.ReadAsync(page, "[data-panel='auto:train/loss'] canvas", [], 0, 0)).NonBackground > 1500);
        Assert.Equal(requests, m4.Count);
        await page.ScreenshotAsync(new() { Path = Path.Combine(DashboardHost.ArtifactDirectory, "workspace-dark-smoothed.png"), FullPage = true });

        var download = await page.RunAndWaitForDownloadAsync(() => page.ClickAsync("text=Export CSV"));
        var path = Path.Combine(DashboardHost.ArtifactDirectory, "runs.csv");
        await download.SaveAsAsync(path);
        var lines = await File.ReadAllLinesAsync(path);
        Assert.StartsWith("id,Name,State,Created,Runtime,User,Tags,Group,Job type", lines[0], StringComparison.Ordinal);
        Assert.Equal(11, lines.Length);
        Assert.All(lines.Skip(1), l => Assert.Matches("^r001\\d,run-1\\d,", l));
    }
}
