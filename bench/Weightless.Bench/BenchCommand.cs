using System.Globalization;

namespace Weightless.Bench;

/// <summary>
/// Dispatches benchmark scenarios by name: <c>dotnet run -c Release --project bench/Weightless.Bench -- &lt;scenario&gt; [--option value ...]</c>.
/// Add a scenario by implementing <see cref="IBenchScenario"/> and listing it in <see cref="Scenarios"/>.
/// </summary>
internal static class BenchCommand
{
    private static readonly IBenchScenario[] Scenarios =
    [
        new IngestScenario(),
        new IngestHttpScenario(),
        new IngestProfileScenario(),
        new QueryBench(),
        new HistoryQueryBench(),
        new ArtifactBench(),
    ];

    public static async Task<int> RunAsync(string[] args)
    {
        var scenario = args.Length == 0 ? null : Scenarios.FirstOrDefault(s => string.Equals(s.Name, args[0], StringComparison.OrdinalIgnoreCase));
        if (scenario is null)
        {
            Console.Error.WriteLine("usage: Weightless.Bench <scenario> [--option value ...]");
            foreach (var s in Scenarios.OrderBy(s => s.Name, StringComparer.Ordinal))
            {
                Console.Error.WriteLine($"  {s.Name,-12} {s.Description}");
            }
            return args.Length == 0 ? 0 : 2;
        }
        var options = BenchOptions.Parse(args[1..]);
        using var cancellation = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cancellation.Cancel();
        };
        Console.WriteLine($"# {scenario.Name} ({DateTime.UtcNow.ToString("u", CultureInfo.InvariantCulture)}, {Environment.ProcessorCount} cores)");
        return await scenario.RunAsync(options, cancellation.Token);
    }
}
