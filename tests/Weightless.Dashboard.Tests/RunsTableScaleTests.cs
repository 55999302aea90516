using System.Diagnostics;
using System.Text.Json;
using Microsoft.Playwright;
using Weightless.Dashboard.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Weightless.Dashboard.Tests;

/// <summary>
/// The runs table at 10,000 runs against the real dev host: the runs are seeded as RunService's
/// rows in 100-row transactions (<see cref="SeededProject.CreateRunsInBulkAsync"/>) and read
/// through the REST API (run index, 1,000-run pages) like any project's.
/// </summary>
[Collection(DashboardCollection.Name)]
public sealed class RunsTableScaleTests(DashboardHost host, ITestOutputHelper output)
{
    private const string Entity = DashboardHost.Entity;
    private const string Project = "tablescale";
    private const int RunCount = 10_000;

    [Fact]
    public async Task RunsTableFiltersSortsGroupsAndVirtualises10000Runs()
    {
        var seeding = await new SeededProject(host.Services, Entity, Project).CreateRunsInBulkAsync(RunCount);
        output.WriteLine($"10,000 runs seeded in {seeding.TotalSeconds:F1} s ({RunCount / seeding.TotalSeconds:F0} runs/s)");
        var page = await host.NewPageAsync(signedIn: true);
        var watch = Stopwatch.StartNew();
        await page.GotoAsync($"/{Entity}/{Project}");
        var status = page.Locator(".toolbar .status").First;
        await Assertions.Expect(status).ToContainTextAsync("10000 of 10000 runs", new() { Timeout = 60_000 });
        output.WriteLine($"10,000 runs loaded and shown: {watch.ElapsedMilliseconds} ms wall");
        // Virtualised: only the rows in view (plus overscan) exist.
        Assert.InRange(await page.Locator(".rt-row[data-run]").CountAsync(), 10, 80);

        await DashboardPage.FilterAsync(page, "config.optimizer", "=", "adam");
        await Assertions.Expect(status).ToContainTextAsync("3334 of 10000 runs");
        var filter = JsonDocument.Parse(Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(new Uri(page.Url).Query)["filter"].ToString()).RootElement.GetRawText();
        Assert.Equal("""{"$and":[{"config.optimizer":{"$eq":"adam"}}]}""", filter);
        var filterMs = await TableMillisecondsAsync(page);

        var lrHeader = page.Locator(".rt-head[data-key='config.lr']");
        await lrHeader.ClickAsync();
        await Assertions.Expect(lrHeader).ToHaveAttributeAsync("aria-sort", "ascending");
        var sortMs = await TableMillisecondsAsync(page);
        await lrHeader.ClickAsync();
        await Assertions.Expect(page.Locator(".rt-head[data-key='config.lr']")).ToHaveAttributeAsync("aria-sort", "descending");
        Assert.Contains("sort=-config.lr", page.Url, StringComparison.Ordinal);

        // Group by job type: adam runs are i % 3 == 0, half train, half eval; collapsing the first
        // group brings the second header into the virtualised view.
        await page.SelectOptionAsync(".group-by", "jobType");
        var firstGroup = page.Locator(".rt-group").First;
        await Assertions.Expect(firstGroup.Locator(".badge")).ToHaveTextAsync("1667");
        await firstGroup.Locator("button").ClickAsync();
        await Assertions.Expect(page.Locator(".rt-group")).ToHaveCountAsync(2);
        Assert.Equal(3334, (await page.Locator(".rt-group .badge").AllTextContentsAsync()).Sum(int.Parse));
        await page.GoBackAsync();
        await Assertions.Expect(page.Locator(".rt-group")).ToHaveCountAsync(0);

        await page.Locator(".rt-viewport").EvaluateAsync("el => el.scrollTop = el.scrollHeight");
        await Assertions.Expect(page.Locator(".rt-row[data-run]").Last).ToBeVisibleAsync();
        output.WriteLine($"10,000-run table in the browser: filter {filterMs:F1} ms, sort {sortMs:F1} ms (incl. re-render of the visible rows)");
        Assert.True(filterMs < 1000 && sortMs < 1000, $"filter {filterMs} ms, sort {sortMs} ms");
    }

    private static async Task<double> TableMillisecondsAsync(IPage page) =>
        await page.EvaluateAsync<double>("() => window.__weightless.timings().tableMs");
}
