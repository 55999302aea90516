using System.Text.Json;
using Microsoft.Playwright;

namespace Weightless.Dashboard.Tests.Infrastructure;

/// <summary>Steps on the dashboard's pages that several tests take.</summary>
public static class DashboardPage
{
    /// <summary>Adds one condition with the filter builder and applies it.</summary>
    public static async Task FilterAsync(IPage page, string key, string op, string value)
    {
        await page.ClickAsync(".filter-button");
        await page.ClickAsync(".fb-add-cond");
        await page.FillAsync(".fb-key", key);
        await page.SelectOptionAsync(".fb-op", op);
        await page.FillAsync(".fb-value", value);
        await page.ClickAsync(".fb-apply");
    }

    /// <summary>The workspace's last timings (runs load, table, charts incl. fetch, drawing), from window.__weightless.</summary>
    public static async Task<JsonElement> TimingsAsync(IPage page) =>
        JsonDocument.Parse(await page.EvaluateAsync<string>("() => JSON.stringify(window.__weightless.timings())")).RootElement;
}
