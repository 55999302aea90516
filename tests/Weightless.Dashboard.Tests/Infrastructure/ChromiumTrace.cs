using Microsoft.Playwright;

namespace Weightless.Dashboard.Tests.Infrastructure;

/// <summary>
/// A Chromium performance trace of everything the browser does meanwhile (every process and thread: script,
/// style, layout, paint, raster, network), saved as a trace-event JSON file that chrome://tracing or Perfetto opens.
/// </summary>
internal sealed class ChromiumTrace
{
    private const string Categories = "devtools.timeline,disabled-by-default-devtools.timeline,disabled-by-default-devtools.timeline.frame,blink.user_timing,toplevel,v8.execute,blink,cc,gpu";

    private readonly ICDPSession _session;
    private readonly List<string> _events = [];
    private readonly TaskCompletionSource _complete = new();

    private ChromiumTrace(ICDPSession session)
    {
        _session = session;
        session.Event("Tracing.dataCollected").OnEvent += (_, e) =>
        {
            foreach (var item in e!.Value.GetProperty("value").EnumerateArray())
            {
                _events.Add(item.GetRawText());
            }
        };
        session.Event("Tracing.tracingComplete").OnEvent += (_, _) => _complete.TrySetResult();
    }

    public static async Task<ChromiumTrace> StartAsync(IBrowser browser)
    {
        var trace = new ChromiumTrace(await browser.NewBrowserCDPSessionAsync());
        await trace._session.SendAsync("Tracing.start", new Dictionary<string, object> { ["categories"] = Categories, ["transferMode"] = "ReportEvents" });
        return trace;
    }

    /// <summary>Ends the trace and writes it to <paramref name="path"/>.</summary>
    public async Task SaveAsync(string path)
    {
        await _session.SendAsync("Tracing.end");
        await _complete.Task.WaitAsync(TimeSpan.FromMinutes(1));
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await File.WriteAllTextAsync(path, "{\"traceEvents\":[" + string.Join(",", _events) + "]}");
        await _session.DetachAsync();
    }
}
