using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Playwright;
using Weightless.Dashboard.Tests.Infrastructure;

namespace Weightless.Dashboard.Tests;

/// <summary>
/// The workspace layout saved per user per project (REST .../workspace): ETag-guarded saves,
/// validation naming the field, and panels added, edited and removed in the browser persisting
/// across reloads and browsers.
/// </summary>
[Collection(DashboardCollection.Name)]
public sealed class WorkspaceLayoutTests(DashboardHost host)
{
    private static string WorkspacePath(string project) => $"/api/v1/entities/{DashboardHost.Entity}/projects/{project}/workspace";

    private static StringContent Json(object value) => new(JsonSerializer.Serialize(value), Encoding.UTF8, "application/json");

    private async Task<HttpResponseMessage> PutAsync(string project, object layout, string? ifMatch = null, bool createOnly = false)
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, WorkspacePath(project)) { Content = Json(layout) };
        if (ifMatch is not null)
        {
            request.Headers.TryAddWithoutValidation("If-Match", ifMatch);
        }
        if (createOnly)
        {
            request.Headers.TryAddWithoutValidation("If-None-Match", "*");
        }
        return await host.AdminHttp.SendAsync(request);
    }

    private static object Layout(string title) => new
    {
        version = 1,
        sections = new[] { new { name = "train", panels = new object[] { new { id = "p1", type = "line", title, metrics = new[] { "train/loss" } }, new { id = "p2", type = "scatter", title = "acc vs lr", x = "config.lr", y = "summary_metrics.acc" } } } },
        colours = new Dictionary<string, string> { ["r0000"] = "#e35b3a" },
    };

    [Fact]
    public async Task SavesAreGuardedByETagsAndInvalidLayoutsNameTheField()
    {
        const string project = "layout-rest";
        await new SeededProject(host.Services, DashboardHost.Entity, project).CreateRunsAsync(1);

        var empty = await host.AdminHttp.GetFromJsonAsync<JsonElement>(WorkspacePath(project));
        Assert.False(empty.GetProperty("saved").GetBoolean());
        Assert.False(empty.GetProperty("layout").TryGetProperty("sections", out var sections) && sections.ValueKind != JsonValueKind.Null, "a fresh layout is automatic (no sections)");

        var invalid = await PutAsync(project, new { version = 1, sections = new[] { new { name = "s", panels = new[] { new { id = "p1", type = "pie" } } } } });
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        Assert.Equal("sections[0].panels[0].type", (await invalid.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("field").GetString());
        var badColour = await PutAsync(project, new { version = 1, colours = new Dictionary<string, string> { ["r0000"] = "red" } });
        Assert.Equal("colours.r0000", (await badColour.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("field").GetString());
        var noMetrics = await PutAsync(project, new { version = 1, sections = new[] { new { name = "s", panels = new[] { new { id = "p1", type = "line" } } } } });
        Assert.Equal("sections[0].panels[0].metrics", (await noMetrics.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("field").GetString());

        var created = await PutAsync(project, Layout("Loss"), createOnly: true);
        Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        var first = created.Headers.ETag!.ToString();
        Assert.Equal(first, (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("etag").GetString());
        Assert.Equal(HttpStatusCode.PreconditionFailed, (await PutAsync(project, Layout("Again"), createOnly: true)).StatusCode);

        var second = await PutAsync(project, Layout("Loss (edited)"), ifMatch: first);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        // A second browser still holding the first ETag cannot overwrite the edit.
        var stale = await PutAsync(project, Layout("Stale"), ifMatch: first);
        Assert.Equal(HttpStatusCode.PreconditionFailed, stale.StatusCode);
        Assert.Equal("application/problem+json", stale.Content.Headers.ContentType!.MediaType);

        var saved = await host.AdminHttp.GetFromJsonAsync<JsonElement>(WorkspacePath(project));
        Assert.True(saved.GetProperty("saved").GetBoolean());
        Assert.Equal(second.Headers.ETag!.ToString(), saved.GetProperty("etag").GetString());
        var panels = saved.GetProperty("layout").GetProperty("sections")[0].GetProperty("panels");
        Assert.Equal("Loss (edited)", panels[0].GetProperty("title").GetString());
        Assert.Equal("config.lr", panels[1].GetProperty("x").GetString());
        Assert.Equal("#e35b3a", saved.GetProperty("layout").GetProperty("colours").GetProperty("r0000").GetString());

        Assert.Equal(HttpStatusCode.NotFound, (await host.AdminHttp.GetAsync(WorkspacePath("no-such-project"))).StatusCode);
    }

    [Fact]
    public async Task PanelsAddedEditedAndRemovedInTheBrowserFollowTheUserToAnotherBrowser()
    {
        const string project = "layout-ui";
        var seeded = new SeededProject(host.Services, DashboardHost.Entity, project);
        await seeded.CreateRunsAsync(6);
        for (var i = 0; i < 6; i++)
        {
            await seeded.AppendHistoryAsync(SeededProject.RunId(i), ["train/loss", "val/acc"], 300);
        }
        var page = await host.NewPageAsync(signedIn: true);
        await page.GotoAsync($"/{DashboardHost.Entity}/{project}");
        await Assertions.Expect(page.Locator(".toolbar .status").First).ToContainTextAsync("6 of 6 runs", new() { Timeout = 60_000 });
        await page.WaitForFunctionAsync("() => document.body.dataset.chartsReady");

        async Task AddPanelAsync(string type, string title, Func<Task> fill)
        {
            await page.ClickAsync(".add-panel");
            await page.SelectOptionAsync(".panel-type", type);
            await page.FillAsync(".panel-title-input", title);
            await page.FillAsync(".panel-section-input", "Compare");
            await fill();
            await page.ClickAsync(".panel-save");
            await Assertions.Expect(page.Locator(".layout-status")).ToHaveTextAsync("Layout saved");
        }
        await AddPanelAsync("scatter", "acc vs lr", async () =>
        {
            await page.FillAsync(".panel-x-input", "config.lr");
            await page.FillAsync(".panel-y-input", "summary_metrics.acc");
        });
        await AddPanelAsync("bar", "final loss", () => page.FillAsync(".panel-y-input", "summary_metrics.loss"));
        await AddPanelAsync("parallel", "hyperparameters", () => page.FillAsync(".panel-keys-input", "config.lr, config.optimizer, config.layers, summary_metrics.acc"));
        await AddPanelAsync("comparer", "compare runs", () => Task.CompletedTask);
        await AddPanelAsync("line", "both metrics", () => page.FillAsync(".panel-metrics-input", "train/loss, val/acc"));
        // A line panel on its own x axis (relative time) while the workspace stays on _step.
        var m4Axes = new System.Collections.Concurrent.ConcurrentQueue<string>();
        page.Request += (_, request) =>
        {
            if (request.Method == "POST" && request.Url.Contains("/runs/history/m4", StringComparison.Ordinal))
            {
                m4Axes.Enqueue(JsonDocument.Parse(request.PostData!).RootElement.GetProperty("xAxis").GetString()!);
            }
        };
        await AddPanelAsync("line", "loss by time", async () =>
        {
            await page.FillAsync(".panel-metrics-input", "train/loss");
            await page.SelectOptionAsync(".panel-x-axis", "_runtime");
        });

        var section = page.Locator("[data-section='Compare']");
        await Assertions.Expect(section.Locator("figure.panel")).ToHaveCountAsync(6);
        await Assertions.Expect(section.Locator("[data-panel-type='scatter'] .plot")).ToHaveAttributeAsync("data-points", "6");
        await Assertions.Expect(section.Locator("[data-panel-type='bar'] .plot")).ToHaveAttributeAsync("data-bars", "6");
        // The line panel draws once its M4 buckets arrive; the others draw from the loaded runs at once.
        async Task<int> PaintedAsync(string type, string panel = "")
        {
            var painted = 0;
            for (var attempt = 0; attempt < 40 && painted <= 300; attempt++, await Task.Delay(500))
            {
                painted = (await CanvasProbe.ReadAsync(page, $"[data-section='Compare'] [data-panel-type='{type}']{panel} canvas", [], 0, 0)).NonBackground;
            }
            return painted;
        }
        foreach (var type in new[] { "scatter", "bar", "parallel", "line" })
        {
            var painted = await PaintedAsync(type);
            Assert.True(painted > 300, $"{type}: {painted} painted pixels");
        }
        Assert.True(await PaintedAsync("line", "[data-x-axis='_runtime']") > 300);
        Assert.Contains("_runtime", m4Axes);
        await Assertions.Expect(section.Locator("[data-x-axis='_runtime'] .panel-axis")).ToHaveTextAsync("x: Relative time (s)");
        // The comparer: a column per shown run, rows where they differ highlighted.
        var comparer = section.Locator("table.comparer-table");
        await Assertions.Expect(comparer.Locator("thead th")).ToHaveCountAsync(7);
        await Assertions.Expect(comparer.Locator("tr.differs[data-key='lr']")).ToHaveCountAsync(1);
        await Assertions.Expect(comparer.Locator("tr[data-key='layers']").First).ToHaveClassAsync("differs");

        // Edit the scatter's title, remove the bar panel.
        await section.Locator("[data-panel-type='scatter'] button[aria-label^='Edit']").ClickAsync();
        await page.FillAsync(".panel-title-input", "accuracy by learning rate");
        await page.ClickAsync(".panel-save");
        await Assertions.Expect(page.Locator(".layout-status")).ToHaveTextAsync("Layout saved");
        await section.Locator("[data-panel-type='bar'] button[aria-label^='Remove']").ClickAsync();
        await Assertions.Expect(page.Locator(".layout-status")).ToHaveTextAsync("Layout saved");
        Assert.True(await PaintedAsync("line") > 300);
        await page.ScreenshotAsync(new() { Path = Path.Combine(DashboardHost.ArtifactDirectory, "workspace-custom-panels.png"), FullPage = true });
        Assert.Equal(0, await page.Locator(".charts .error").CountAsync());

        // Another browser (fresh storage) signed in as the same user sees the same layout.
        var other = await host.NewPageAsync(signedIn: true);
        await other.GotoAsync($"/{DashboardHost.Entity}/{project}");
        var otherSection = other.Locator("[data-section='Compare']");
        await Assertions.Expect(otherSection.Locator("figure.panel")).ToHaveCountAsync(5, new() { Timeout = 60_000 });
        await Assertions.Expect(otherSection.Locator("[data-x-axis='_runtime'] .panel-title")).ToHaveTextAsync("loss by time");
        await Assertions.Expect(otherSection.Locator("[data-panel-type='scatter'] .panel-title")).ToHaveTextAsync("accuracy by learning rate");
        await Assertions.Expect(otherSection.Locator("[data-panel-type='bar']")).ToHaveCountAsync(0);

        var stored = await host.AdminHttp.GetFromJsonAsync<JsonElement>(WorkspacePath(project));
        var types = stored.GetProperty("layout").GetProperty("sections").EnumerateArray()
            .Single(s => s.GetProperty("name").GetString() == "Compare").GetProperty("panels").EnumerateArray().Select(p => p.GetProperty("type").GetString()).ToList();
        Assert.Equal(["scatter", "parallel", "comparer", "line", "line"], types);
        var timePanel = stored.GetProperty("layout").GetProperty("sections").EnumerateArray()
            .Single(s => s.GetProperty("name").GetString() == "Compare").GetProperty("panels")[4];
        Assert.Equal("_runtime", timePanel.GetProperty("xAxis").GetString());
    }
}
