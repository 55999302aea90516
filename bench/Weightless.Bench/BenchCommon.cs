using System.Diagnostics;
using System.Globalization;

namespace Weightless.Bench;

/// <summary>A named benchmark; <see cref="RunAsync"/> prints its figures and returns the process exit code.</summary>
internal interface IBenchScenario
{
    string Name { get; }

    string Description { get; }

    Task<int> RunAsync(BenchOptions options, CancellationToken cancellationToken);
}

/// <summary><c>--name value</c> options, with typed defaults.</summary>
internal sealed class BenchOptions
{
    private readonly Dictionary<string, string> _values;

    private BenchOptions(Dictionary<string, string> values) => _values = values;

    public static BenchOptions Parse(string[] args)
    {
        var values = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal))
            {
                throw new ArgumentException($"Unexpected argument '{args[i]}'; options are --name value.");
            }
            var name = args[i][2..];
            values[name] = i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal) ? args[++i] : "true";
        }
        return new BenchOptions(values);
    }

    public long Long(string name, long fallback) =>
        _values.TryGetValue(name, out var text) ? long.Parse(text.Replace("_", "", StringComparison.Ordinal), CultureInfo.InvariantCulture) : fallback;

    public string? String(string name) => _values.GetValueOrDefault(name);

    /// <summary>
    /// The storage to benchmark against: <c>--storage</c>, else <c>WEIGHTLESS_BENCH_STORAGE</c>, else
    /// <c>WEIGHTLESS_TEST_STORAGE</c>, else the default local Azurite.
    /// </summary>
    public string Storage =>
        String("storage")
        ?? Environment.GetEnvironmentVariable("WEIGHTLESS_BENCH_STORAGE")
        ?? Environment.GetEnvironmentVariable("WEIGHTLESS_TEST_STORAGE")
        ?? "UseDevelopmentStorage=true";
}

/// <summary>Wall and process CPU time of the measured sections only.</summary>
internal sealed class Meter
{
    private readonly Stopwatch _wall = new();
    private TimeSpan _cpu;

    public TimeSpan Wall => _wall.Elapsed;

    public TimeSpan Cpu => _cpu;

    public async Task<T> MeasureAsync<T>(Func<Task<T>> section)
    {
        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        _wall.Start();
        try
        {
            return await section().ConfigureAwait(false);
        }
        finally
        {
            _wall.Stop();
            _cpu += Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
        }
    }
}
