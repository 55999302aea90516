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

    /// <summary>
    /// The first-render timeline (window.__weightless.timeline(): the dashboard's marks and the requests
    /// with their server timings), one line per entry, ms after navigation start; only the entries that
    /// start after <paramref name="after"/> ms (e.g. a zoom's requests).
    /// </summary>
    public static async Task<string> TimelineAsync(IPage page, double after = double.NegativeInfinity)
    {
        var entries = JsonDocument.Parse(await page.EvaluateAsync<string>("() => JSON.stringify(window.__weightless.timeline())")).RootElement;
        var lines = new System.Text.StringBuilder("    timeline (ms after navigation start):");
        foreach (var entry in entries.EnumerateArray())
        {
            var name = entry.GetProperty("name").GetString();
            var start = entry.GetProperty("start").GetDouble();
            if (start <= after)
            {
                continue;
            }
            if (entry.GetProperty("kind").GetString() == "mark")
            {
                lines.Append(System.Globalization.CultureInfo.InvariantCulture, $"\n    {start,7:F0}  {name}");
                continue;
            }
            var server = entry.TryGetProperty("server", out var s) && s.EnumerateObject().Any()
                ? " server: " + string.Join(", ", s.EnumerateObject().Select(p => $"{p.Name} {p.Value.GetDouble():F0}"))
                : "";
            lines.Append(System.Globalization.CultureInfo.InvariantCulture, $"\n    {start,7:F0}  request {name} first byte {entry.GetProperty("firstByte").GetDouble():F0}, end {entry.GetProperty("end").GetDouble():F0} ({entry.GetProperty("bytes").GetDouble() / 1024:F0} KB){server}");
        }
        return lines.ToString();
    }
}
