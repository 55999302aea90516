namespace Weightless.Bench;

/// <summary>Dispatches benchmark scenarios by name: <c>dotnet run -c Release --project bench/Weightless.Bench -- &lt;scenario&gt;</c>.</summary>
internal static class BenchCommand
{
    private static readonly Dictionary<string, (string Description, Func<string[], Task<int>> Run)> Scenarios = new(StringComparer.OrdinalIgnoreCase);

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length == 0 || !Scenarios.TryGetValue(args[0], out var scenario))
        {
            Console.Error.WriteLine("usage: Weightless.Bench <scenario> [options]");
            foreach (var (name, (description, _)) in Scenarios.OrderBy(s => s.Key, StringComparer.Ordinal))
            {
                Console.Error.WriteLine($"  {name,-12} {description}");
            }
            return args.Length == 0 ? 0 : 2;
        }
        return await scenario.Run(args[1..]);
    }
}
