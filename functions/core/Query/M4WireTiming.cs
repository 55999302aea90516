using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Weightless.Core.Query;

/// <summary>
/// Where one M4 (or project history keys) call spent its time, phase by phase (wall time), sent back as a
/// <c>Server-Timing</c> header so the browser's resource timing shows the server's share of each chart
/// request next to the network and decoding (the dashboard's first-render timeline reads it).
/// </summary>
internal sealed class M4WireTiming
{
    public const string HeaderName = "Server-Timing";

    private readonly List<(string Name, double Ms)> _phases = [];
    private readonly Stopwatch _watch = Stopwatch.StartNew();

    /// <summary>Ends the current phase under <paramref name="name"/> and starts the next.</summary>
    public void Phase(string name)
    {
        lock (_phases)
        {
            _phases.Add((name, _watch.Elapsed.TotalMilliseconds));
        }
        _watch.Restart();
    }

    /// <summary>The header value: <c>name;dur=ms</c> per phase, in order.</summary>
    public string HeaderValue()
    {
        var text = new StringBuilder();
        lock (_phases)
        {
            foreach (var (name, ms) in _phases)
            {
                if (text.Length > 0)
                {
                    text.Append(", ");
                }
                text.Append(name).Append(";dur=").Append(ms.ToString("F1", CultureInfo.InvariantCulture));
            }
        }
        return text.ToString();
    }
}
