using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Weightless.Dashboard.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Weightless.Dashboard.Tests;

/// <summary>
/// The dashboard in headless Chromium against the dev host: real sign-in and static assets; the
/// project's REST routes answered by <see cref="FakeProjectApi"/> (10,000 runs, 1,000,000 steps).
/// </summary>
[Collection(DashboardCollection.Name)]
public sealed partial class WorkspaceBrowserTests(DashboardHost host, ITestOutputHelper output)
{
    private const string Entity = "admin";
    private const string Project = "spikes";
    private const int RunCount = 10_000;

    private async Task<(IPage Page, FakeProjectApi Api)> OpenWorkspaceAsync(string query = "", int runCount = RunCount, int extraMetrics = 0)
    {
        var page = await host.NewPageAsync(signedIn: true);
        var api = new FakeProjectApi(Entity, Project, runCount, extraMetrics);
        await api.AttachAsync(page);
        var watch = Stopwatch.StartNew();
        await page.GotoAsync($"/{Entity}/{Project}{query}");
        await Assertions.Expect(page.Locator(".status").First).ToContainTextAsync($"of {runCount} runs", new() { Timeout = 60_000 });
        await page.WaitForFunctionAsync("() => document.body.dataset.chartsReady", null, new() { Timeout = 60_000 });
        output.WriteLine($"workspace first render (10,000 runs loaded, charts drawn): {watch.ElapsedMilliseconds} ms wall; in-page: {await TimingsAsync(page)}");
        return (page, api);
    }

    [Fact]
    public async Task RunsTableFiltersSortsGroupsAndVirtualises10000Runs()
    {
        var (page, _) = await OpenWorkspaceAsync();
        var status = page.Locator(".toolbar .status").First;
        await Assertions.Expect(status).ToContainTextAsync("10000 of 10000 runs");
        // Virtualised: only the rows in view (plus overscan) exist.
        Assert.InRange(await page.Locator(".rt-row[data-run]").CountAsync(), 10, 80);

        // Filter builder: config.optimizer = adam.
        await page.ClickAsync(".filter-button");
        await page.ClickAsync(".fb-add-cond");
        await page.FillAsync(".fb-key", "config.optimizer");
        await page.SelectOptionAsync(".fb-op", "=");
        await page.FillAsync(".fb-value", "adam");
        await page.ClickAsync(".fb-apply");
        await Assertions.Expect(status).ToContainTextAsync("3334 of 10000 runs");
        var filter = JsonDocument.Parse(QueryParameter(page.Url, "filter")!).RootElement.GetRawText();
        Assert.Equal("""{"$and":[{"config.optimizer":{"$eq":"adam"}}]}""", filter);
        var filterMs = await TableMillisecondsAsync(page);

        // Sort on a config column, both directions.
        var lrHeader = page.Locator(".rt-head[data-key='config.lr']");
        await lrHeader.ClickAsync();
        await Assertions.Expect(lrHeader).ToHaveAttributeAsync("aria-sort", "ascending");
        var sortMs = await TableMillisecondsAsync(page);
        await lrHeader.ClickAsync();
        await Assertions.Expect(page.Locator(".rt-head[data-key='config.lr']")).ToHaveAttributeAsync("aria-sort", "descending");
        Assert.Contains("sort=-config.lr", page.Url, StringComparison.Ordinal);

        // Group by job type: adam runs are i % 3 == 0, half train, half eval.
        await page.SelectOptionAsync(".group-by", "jobType");
        var firstGroup = page.Locator(".rt-group").First;
        await Assertions.Expect(firstGroup.Locator(".badge")).ToHaveTextAsync("1667");
        await firstGroup.Locator("button").ClickAsync();
        await Assertions.Expect(page.Locator(".rt-group")).ToHaveCountAsync(2);
        var badges = await page.Locator(".rt-group .badge").AllTextContentsAsync();
        Assert.Equal(3334, badges.Sum(int.Parse));

        // Back undoes the grouping (URL state).
        await page.GoBackAsync();
        await Assertions.Expect(page.Locator(".rt-group")).ToHaveCountAsync(0);
        Assert.Contains("filter=", page.Url, StringComparison.Ordinal);

        // Scroll to the end: the last rows render.
        await page.Locator(".rt-viewport").EvaluateAsync("el => el.scrollTop = el.scrollHeight");
        await Assertions.Expect(page.Locator(".rt-row[data-run]").Last).ToBeVisibleAsync();
        output.WriteLine($"10,000-run table: filter {filterMs:F1} ms, sort {sortMs:F1} ms (in the browser, incl. re-render); last: {await TimingsAsync(page)}");
        Assert.True(filterMs < 1000 && sortMs < 1000, $"filter {filterMs} ms, sort {sortMs} ms");
    }

    [Fact]
    public async Task ChartsDrawAndAOneStepSpikeInAMillionIsVisibleAtFullZoomOut()
    {
        var (page, api) = await OpenWorkspaceAsync();
        var request = api.M4Requests.Last();
        Assert.Null(request["min"]);
        Assert.InRange(request["buckets"]!.GetValue<int>(), 50, 1000);

        var canvases = page.Locator("canvas.plot-canvas");
        Assert.True(await canvases.CountAsync() >= 3);
        foreach (var panel in new[] { "auto:train/loss", "auto:val/acc", "auto:spike" })
        {
            var summary = await CanvasProbe.ReadAsync(page, $"[data-panel='{panel}'] canvas", [], 0, 0);
            Assert.True(summary.NonBackground > 2000, $"{panel}: only {summary.NonBackground} non-background pixels");
        }

        var spikeCanvas = "[data-panel='auto:spike'] canvas";
        var probe = await CanvasProbe.ReadAsync(page, spikeCanvas, [], 0, 0);
        var spikeX = CanvasProbe.XToPixel(FakeProjectApi.SpikeStep, 0, FakeProjectApi.Steps - 1, probe.Width);
        var controlX = CanvasProbe.XToPixel(310_000, 0, FakeProjectApi.Steps - 1, probe.Width);
        // Plot area rows 20..190 lie between the spike's top (value 100) and the baseline (value 1).
        var columns = await CanvasProbe.ReadAsync(page, spikeCanvas, [spikeX, controlX], 20, 190);
        output.WriteLine($"spike column: {columns.ColumnHits[0]} of 171 rows painted; control column: {columns.ColumnHits[1]}");
        Assert.True(columns.ColumnHits[0] >= 160, $"the spike column has only {columns.ColumnHits[0]} painted rows");
        Assert.True(columns.ColumnHits[1] <= 20, $"the control column has {columns.ColumnHits[1]} painted rows (grid lines only expected)");

        await page.ScreenshotAsync(new() { Path = Path.Combine(DashboardHost.ArtifactDirectory, "workspace.png"), FullPage = true });
        await page.Locator("[data-panel='auto:spike']").ScreenshotAsync(new() { Path = Path.Combine(DashboardHost.ArtifactDirectory, "spike-panel.png") });
    }

    [Fact]
    public async Task DragZoomRebucketsAtTheNewRangeAndBackRestoresTheFullRange()
    {
        var (page, api) = await OpenWorkspaceAsync();
        var before = api.M4Requests.Count;
        var canvas = page.Locator("[data-panel='auto:train/loss'] canvas");
        await canvas.ScrollIntoViewIfNeededAsync();
        var box = (await canvas.BoundingBoxAsync())!;
        var x0 = box.X + CanvasProbe.XToPixel(200_000, 0, FakeProjectApi.Steps - 1, (int)box.Width);
        var x1 = box.X + CanvasProbe.XToPixel(400_000, 0, FakeProjectApi.Steps - 1, (int)box.Width);
        var y = box.Y + 100;
        var watch = Stopwatch.StartNew();
        await page.Mouse.MoveAsync((float)x0, (float)y);
        await page.Mouse.DownAsync();
        await page.Mouse.MoveAsync((float)((x0 + x1) / 2), (float)y, new() { Steps = 5 });
        await page.Mouse.MoveAsync((float)x1, (float)y, new() { Steps = 5 });
        var drawnBefore = await page.EvaluateAsync<string>("() => document.body.dataset.chartsReady");
        await page.Mouse.UpAsync();
        await page.WaitForURLAsync(new Regex("zoom="));
        await page.WaitForFunctionAsync("before => document.body.dataset.chartsReady !== before && document.querySelector('.reset-zoom')", drawnBefore);
        var zoomed = await WaitForAsync(() => api.M4Requests.Skip(before).FirstOrDefault(r => r["min"] is not null));
        output.WriteLine($"zoom to re-bucketed charts: {watch.ElapsedMilliseconds} ms wall (incl. the fake API's round trip through Playwright); in-page: {await TimingsAsync(page)}");
        var min = zoomed["min"]!.GetValue<double>();
        var max = zoomed["max"]!.GetValue<double>();
        Assert.InRange(min, 190_000, 210_000);
        Assert.InRange(max, 390_000, 410_000);

        // Back: the full range again, requested anew.
        var afterZoom = api.M4Requests.Count;
        await page.GoBackAsync();
        await page.WaitForURLAsync(url => !url.Contains("zoom=", StringComparison.Ordinal));
        var full = await WaitForAsync(() => api.M4Requests.Skip(afterZoom).FirstOrDefault());
        Assert.Null(full["min"]);
        // Forward: zoomed again.
        await page.GoForwardAsync();
        await page.WaitForURLAsync(new Regex("zoom="));
        Assert.Equal(
            (Math.Round(min), Math.Round(max)),
            ZoomFromUrl(page.Url));
    }

    [Fact]
    public async Task TwentyThreePanelsDrawAndRestyleWithinBudget()
    {
        // Four runs per panel keep the fake API's payload (relayed through the Playwright driver) small enough for CI.
        var (page, api) = await OpenWorkspaceAsync("?first=4", runCount: 100, extraMetrics: 20);
        Assert.Equal(23, await page.Locator("figure.panel").CountAsync());
        var timings = JsonDocument.Parse(await TimingsAsync(page)).RootElement;
        var firstDraw = timings.GetProperty("drawMs").GetDouble();
        var firstCharts = timings.GetProperty("chartsMs").GetDouble();
        var series = api.M4Requests.Last()["runs"]!.AsArray().Count * api.M4Requests.Last()["metrics"]!.AsArray().Count;

        // Smoothing re-styles every panel from the buckets already in memory.
        await page.SelectOptionAsync(".smoothing", "gaussian");
        await page.FillAsync(".smoothing-param", "20000");
        await page.Locator(".smoothing-param").DispatchEventAsync("change");
        await page.WaitForURLAsync(new Regex("smooth=gaussian"));
        await page.WaitForTimeoutAsync(300);
        var restyle = JsonDocument.Parse(await TimingsAsync(page)).RootElement.GetProperty("drawMs").GetDouble();
        output.WriteLine($"23 panels ({series} series in the M4 call): charts incl. fetch {firstCharts:F0} ms, draw {firstDraw:F0} ms; gaussian re-style of all panels {restyle:F0} ms");
        Assert.True(firstDraw < 2000, $"drawing 23 panels took {firstDraw} ms");
    }

    [Fact]
    public async Task CsvExportHasTheVisibleColumnsAndRunsOfTheCurrentView()
    {
        var (page, _) = await OpenWorkspaceAsync("?search=%5Erun-99%5Cd%5Cd%24");
        await Assertions.Expect(page.Locator(".toolbar .status").First).ToContainTextAsync("100 of 10000 runs");
        var download = await page.RunAndWaitForDownloadAsync(() => page.ClickAsync("text=Export CSV"));
        var path = Path.Combine(DashboardHost.ArtifactDirectory, "runs.csv");
        await download.SaveAsAsync(path);
        var lines = await File.ReadAllLinesAsync(path);
        Assert.StartsWith("id,Name,State,Created,Runtime,User,Tags,Group,Job type", lines[0], StringComparison.Ordinal);
        Assert.Equal(101, lines.Length);
        Assert.All(lines.Skip(1), l => Assert.Matches("^r099\\d\\d,run-99\\d\\d,", l));
    }

    [Fact]
    public async Task RunPageShowsOverviewPersistsTagEditsAndColoursLogs()
    {
        var (page, api) = await OpenWorkspaceAsync();
        await page.Locator(".rt-row[data-run] a.run-link").First.ClickAsync();
        await page.WaitForURLAsync(new Regex($"/{Entity}/{Project}/runs/r\\d{{5}}$"));
        await Assertions.Expect(page.Locator("table.kv[aria-label='Config']")).ToContainTextAsync("optimizer");
        await Assertions.Expect(page.Locator("table.meta")).ToContainTextAsync("gpu-node-1");

        await page.FillAsync(".tags-input", "best, reviewed");
        await page.FillAsync(".notes-input", "looks good");
        await page.ClickAsync(".save-run");
        await Assertions.Expect(page.Locator(".edit .status")).ToHaveTextAsync("Saved");
        var patch = api.Requests.Single(r => r.Method == "PATCH");
        Assert.Equal("""{"tags":["best","reviewed"],"notes":"looks good"}""", patch.Body);

        await page.ReloadAsync();
        await Assertions.Expect(page.Locator(".tags-input")).ToHaveValueAsync("best, reviewed");
        await page.ScreenshotAsync(new() { Path = Path.Combine(DashboardHost.ArtifactDirectory, "run-overview.png"), FullPage = true });

        await page.ClickAsync("nav.tabs >> text=Logs");
        await Assertions.Expect(page.Locator(".console .line")).ToHaveCountAsync(4);
        await Assertions.Expect(page.Locator(".console .line.stderr .ansi-fg-1")).ToHaveTextAsync("WARNING");
        await Assertions.Expect(page.Locator(".console .line.stdout .ansi-fg-2")).ToHaveTextAsync("loss improved");
        await page.ScreenshotAsync(new() { Path = Path.Combine(DashboardHost.ArtifactDirectory, "run-logs.png"), FullPage = true });

        await page.ClickAsync("nav.tabs >> text=Charts");
        await page.WaitForFunctionAsync("() => document.querySelectorAll('canvas.plot-canvas').length >= 3");
        await page.WaitForTimeoutAsync(500);
        var summary = await CanvasProbe.ReadAsync(page, "[data-panel='auto:spike'] canvas", [], 0, 0);
        Assert.True(summary.NonBackground > 2000);
        await page.ScreenshotAsync(new() { Path = Path.Combine(DashboardHost.ArtifactDirectory, "run-charts.png"), FullPage = true });

        await page.ClickAsync("nav.tabs >> text=System");
        await page.WaitForFunctionAsync("() => document.querySelectorAll(\"[data-panel='system/cpu'] canvas\").length === 1");
        await page.ClickAsync("nav.tabs >> text=Files");
        await Assertions.Expect(page.Locator("table.files a")).ToHaveTextAsync("config.yaml");
    }

    [Fact]
    public async Task SignInWithAnApiKeyRejectsABadKeyAndReturnsToTheRequestedPage()
    {
        var page = await host.NewPageAsync(signedIn: false);
        var api = new FakeProjectApi(Entity, Project, 50);
        await api.AttachAsync(page);
        await page.GotoAsync($"/{Entity}/{Project}?group=jobType");
        await page.WaitForURLAsync(new Regex("/signin\\?next="));

        var viewer401 = page.WaitForResponseAsync(r => r.Url.EndsWith("/api/v1/viewer", StringComparison.Ordinal) && r.Status == 401);
        await page.FillAsync("#api-key", "wl_not_a_real_key_000000000000000000000000000");
        await page.ClickAsync("button[type=submit]");
        await viewer401;
        await Assertions.Expect(page.Locator(".signin .error")).ToHaveTextAsync("That API key was not accepted.");
        await page.ScreenshotAsync(new() { Path = Path.Combine(DashboardHost.ArtifactDirectory, "signin-rejected.png") });

        await page.FillAsync("#api-key", host.AdminKey);
        await page.ClickAsync("button[type=submit]");
        await page.WaitForURLAsync(new Regex($"/{Entity}/{Project}\\?group=jobType$"));
        await Assertions.Expect(page.Locator(".toolbar .status").First).ToContainTextAsync("50 of 50 runs");
        var authorization = await page.EvaluateAsync<string>("() => sessionStorage.getItem('weightless.apiKey')");
        Assert.Equal(host.AdminKey, authorization);

        // The projects page of the entity, then sign out.
        await page.ClickAsync($"h1 a[href='/{Entity}']");
        await Assertions.Expect(page.Locator("table.projects")).ToContainTextAsync(Project);
        await page.ClickAsync(".sign-out");
        await page.WaitForURLAsync(new Regex("/signin$"));
        Assert.Null(await page.EvaluateAsync<string?>("() => sessionStorage.getItem('weightless.apiKey')"));
    }

    [Fact]
    public async Task DarkThemeAndSmoothingRenderWithoutNewRequests()
    {
        var (page, api) = await OpenWorkspaceAsync();
        var requests = api.M4Requests.Count;
        await page.SelectOptionAsync(".smoothing", "ema");
        await page.WaitForURLAsync(new Regex("smooth=ema"));
        await page.ClickAsync(".theme-toggle");
        await Assertions.Expect(page.Locator("html")).ToHaveAttributeAsync("data-theme", "dark");
        await page.WaitForFunctionAsync("() => document.querySelectorAll('canvas.plot-canvas').length >= 3");
        await page.WaitForTimeoutAsync(300);
        var summary = await CanvasProbe.ReadAsync(page, "[data-panel='auto:train/loss'] canvas", [], 0, 0);
        Assert.True(summary.NonBackground > 2000);
        Assert.Equal(requests, api.M4Requests.Count);
        await page.ScreenshotAsync(new() { Path = Path.Combine(DashboardHost.ArtifactDirectory, "workspace-dark-smoothed.png"), FullPage = true });
    }

    private static async Task<string> TimingsAsync(IPage page) =>
        await page.EvaluateAsync<string>("() => JSON.stringify(window.__weightless.timings())");

    private static async Task<double> TableMillisecondsAsync(IPage page) =>
        await page.EvaluateAsync<double>("() => window.__weightless.timings().tableMs");

    private static string? QueryParameter(string url, string name) =>
        Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(new Uri(url).Query).TryGetValue(name, out var v) ? v.ToString() : null;

    private static (double, double) ZoomFromUrl(string url)
    {
        var parts = QueryParameter(url, "zoom")!.Split(',').Select(p => Math.Round(double.Parse(p, System.Globalization.CultureInfo.InvariantCulture))).ToArray();
        return (parts[0], parts[1]);
    }

    private static async Task<T> WaitForAsync<T>(Func<T?> probe) where T : class
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            if (probe() is { } value)
            {
                return value;
            }
            await Task.Delay(50);
        }
        throw new TimeoutException("The expected request was not observed.");
    }
}
