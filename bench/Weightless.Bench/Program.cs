using System.Globalization;
using Weightless.Bench;

// Benchmarks print figures; each scenario is a named class. Add a scenario by implementing
// IBenchScenario and listing it here. Usage: dotnet run -c Release --project bench/Weightless.Bench -- <scenario> [--option value ...]
IBenchScenario[] scenarios =
[
    new IngestScenario(),
    new QueryBench(),
];

if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
{
    Console.WriteLine("Usage: Weightless.Bench <scenario> [--option value ...]");
    foreach (var s in scenarios)
    {
        Console.WriteLine($"  {s.Name,-12} {s.Description}");
    }
    return args.Length == 0 ? 1 : 0;
}

var scenario = scenarios.FirstOrDefault(s => string.Equals(s.Name, args[0], StringComparison.OrdinalIgnoreCase));
if (scenario is null)
{
    Console.Error.WriteLine($"Unknown scenario '{args[0]}'. Known: {string.Join(", ", scenarios.Select(s => s.Name))}");
    return 1;
}
var options = BenchOptions.Parse(args.Skip(1).ToArray());
using var cancellation = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancellation.Cancel();
};
Console.WriteLine($"# {scenario.Name} ({DateTime.UtcNow.ToString("u", CultureInfo.InvariantCulture)}, {Environment.ProcessorCount} cores)");
return await scenario.RunAsync(options, cancellation.Token);
