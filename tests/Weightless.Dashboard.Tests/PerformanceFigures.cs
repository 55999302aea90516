using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Weightless.Dashboard.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Weightless.Dashboard.Tests;

/// <summary>
/// Performance figures measured in Chromium against the dev host (printed, not asserted against
/// the goals: the shared CI machine's load varies). Scale: WEIGHTLESS_DASHBOARD_PERF_RUNS (default
/// 20) runs × 20 metrics × WEIGHTLESS_DASHBOARD_PERF_STEPS (default 1,000) steps, seeded through
/// HistoryStore in 20,000-line posts; raise the steps for the issue's 100,000-step figure.
/// </summary>
[Collection(DashboardCollection.Name)]
public sealed class PerformanceFigures(DashboardHost host, ITestOutputHelper output)
{
    private const int Metrics = 20;

    private static int Setting(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value > 0 ? value : fallback;

    [Fact]
    public async Task WorkspaceWithTwentyPanelsRendersAndZoomsAndTheBundleIsSmall()
    {
        var runs = Setting("WEIGHTLESS_DASHBOARD_PERF_RUNS", 20);
        var steps = Setting("WEIGHTLESS_DASHBOARD_PERF_STEPS", 1_000);
        const string project = "perf";
        var seeded = new SeededProject(host.Services, DashboardHost.Entity, project);
        var seed = Stopwatch.StartNew();
        await seeded.CreateRunsAsync(runs);
        var metrics = Enumerable.Range(0, Metrics).Select(m => m % 2 == 0 ? $"train/m{m:D2}_loss" : $"val/m{m:D2}_acc").ToList();
        await Parallel.ForEachAsync(Enumerable.Range(0, runs), new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (i, _) =>
            await seeded.AppendHistoryAsync(SeededProject.RunId(i), metrics, steps));
        output.WriteLine($"scale: {runs} runs × {Metrics} metrics × {steps:N0} steps ({(long)runs * Metrics * steps:N0} values) seeded in {seed.Elapsed.TotalSeconds:F1} s");

        var page = await host.NewPageAsync(signedIn: true);
        var first = Stopwatch.StartNew();
        await page.GotoAsync($"/{DashboardHost.Entity}/{project}?first={runs}");
        await page.WaitForFunctionAsync("() => document.body.dataset.chartsReady", null, new() { Timeout = 120_000 });
        var firstWall = first.ElapsedMilliseconds;
        Assert.Equal(Metrics, await page.Locator("figure.panel").CountAsync());
        var t1 = await DashboardPage.TimingsAsync(page);
        output.WriteLine($"workspace first render, {Metrics} panels × {runs} runs: {firstWall} ms from navigation to drawn (goal < 2000 ms); runs load {t1.GetProperty("runsLoadMs").GetDouble():F0} ms, charts incl. M4 fetch {t1.GetProperty("chartsMs").GetDouble():F0} ms, drawing {t1.GetProperty("drawMs").GetDouble():F0} ms");
        Assert.True((await CanvasProbe.ReadAsync(page, "figure.panel canvas", [], 0, 0)).NonBackground > 1000);

        var canvas = page.Locator("figure.panel canvas").First;
        var box = (await canvas.BoundingBoxAsync())!;
        var drawn = await page.EvaluateAsync<string>("() => document.body.dataset.chartsReady");
        await page.Mouse.MoveAsync((float)(box.X + box.Width * 0.3), (float)(box.Y + 100));
        await page.Mouse.DownAsync();
        await page.Mouse.MoveAsync((float)(box.X + box.Width * 0.6), (float)(box.Y + 100), new() { Steps = 4 });
        var zoom = Stopwatch.StartNew();
        await page.Mouse.UpAsync();
        await page.WaitForURLAsync(new Regex("zoom="));
        await page.WaitForFunctionAsync("before => document.body.dataset.chartsReady !== before", drawn, new() { Timeout = 60_000 });
        var zoomWall = zoom.ElapsedMilliseconds;
        var t2 = await DashboardPage.TimingsAsync(page);
        output.WriteLine($"zoom re-render (re-bucketed M4 request + redraw of {Metrics} panels): {zoomWall} ms wall (goal < 200 ms); charts incl. fetch {t2.GetProperty("chartsMs").GetDouble():F0} ms, drawing {t2.GetProperty("drawMs").GetDouble():F0} ms");

        var assets = Path.Combine(AppContext.BaseDirectory, "wwwroot", "assets");
        var initial = await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "wwwroot", "index.html"));
        long Gzipped(string file)
        {
            using var buffer = new MemoryStream();
            using (var gzip = new GZipStream(buffer, CompressionLevel.SmallestSize, leaveOpen: true))
            {
                gzip.Write(File.ReadAllBytes(file));
            }
            return buffer.Length;
        }
        var scripts = Directory.GetFiles(assets, "*.js").Select(f => (Name: Path.GetFileName(f), Gzip: Gzipped(f), Initial: initial.Contains(Path.GetFileName(f), StringComparison.Ordinal))).ToList();
        var initialKb = scripts.Where(s => s.Initial).Sum(s => s.Gzip) / 1024.0;
        var totalKb = scripts.Sum(s => s.Gzip) / 1024.0;
        output.WriteLine($"JS bundle gzipped: {initialKb:F1} KB loaded at start, {totalKb:F1} KB including the lazily loaded MSAL chunk (goal < 300 KB): {string.Join(", ", scripts.Select(s => $"{s.Name} {s.Gzip / 1024.0:F1} KB"))}");
        Assert.True(totalKb < 300, $"{totalKb:F1} KB gzipped");
    }

}
