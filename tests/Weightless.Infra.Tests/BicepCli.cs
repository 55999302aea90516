using System.Diagnostics;
using System.Reflection;
using System.Text.RegularExpressions;

namespace Weightless.Infra.Tests;

/// <summary>Result of one Bicep CLI invocation.</summary>
internal sealed record BicepResult(string Command, int ExitCode, string StandardOutput, string StandardError)
{
    /// <summary>Diagnostics parsed from stderr ("path(line,col) : Level CODE: message").</summary>
    public IReadOnlyList<BicepDiagnostic> Diagnostics { get; } = BicepDiagnostic.Parse(StandardError);

    /// <summary>Non-empty stderr lines that are not diagnostics (crashes, unexpected messages).</summary>
    public IReadOnlyList<string> OtherErrorOutput { get; } = StandardError
        .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
        .Where(l => !BicepDiagnostic.IsDiagnostic(l))
        .ToList();

    public override string ToString() =>
        $"bicep {Command} (exit {ExitCode})\n--- stderr ---\n{StandardError}";
}

/// <summary>One compiler or linter diagnostic.</summary>
internal sealed partial record BicepDiagnostic(string FilePath, int Line, int Column, string Level, string Code, string Message)
{
    public bool IsErrorOrWarning => Level is "Error" or "Warning";

    public static bool IsDiagnostic(string line) => DiagnosticLine().IsMatch(line);

    public static IReadOnlyList<BicepDiagnostic> Parse(string stderr) =>
        stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(l => DiagnosticLine().Match(l))
            .Where(m => m.Success)
            .Select(m => new BicepDiagnostic(
                m.Groups["path"].Value,
                int.Parse(m.Groups["line"].Value, System.Globalization.CultureInfo.InvariantCulture),
                int.Parse(m.Groups["col"].Value, System.Globalization.CultureInfo.InvariantCulture),
                m.Groups["level"].Value,
                m.Groups["code"].Value,
                m.Groups["message"].Value))
            .ToList();

    public override string ToString() => $"{FilePath}({Line},{Column}) : {Level} {Code}: {Message}";

    [GeneratedRegex(@"^(?<path>.+?)\((?<line>\d+),(?<col>\d+)\) : (?<level>Error|Warning|Info) (?<code>[^:]+): (?<message>.*)$")]
    private static partial Regex DiagnosticLine();
}

/// <summary>
/// Runs the Bicep CLI from the Azure.Bicep.CommandLine.linux-x64 NuGet package. Commands that
/// accept it get --no-restore, so nothing is fetched from module registries; none of our files
/// reference a registry module.
/// </summary>
internal static class BicepCli
{
    private const string PackageId = "azure.bicep.commandline.linux-x64";

    private static readonly Lazy<string> Executable = new(LocateExecutable);

    public static string ExecutablePath => Executable.Value;

    public static async Task<BicepResult> RunAsync(string workingDirectory, IReadOnlyList<string> arguments, TimeSpan timeout)
    {
        var startInfo = new ProcessStartInfo(ExecutablePath)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }
        // No tracing output mixed into stderr, no telemetry, no first-run messages.
        startInfo.Environment["BICEP_TRACING_ENABLED"] = "false";
        startInfo.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        startInfo.Environment["DOTNET_NOLOGO"] = "1";

        using var process = Process.Start(startInfo)
            ?? throw new InvalidOperationException($"Could not start {ExecutablePath}.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"bicep {string.Join(' ', arguments)} did not finish within {timeout}.");
        }
        return new BicepResult(string.Join(' ', arguments), process.ExitCode, await stdout.ConfigureAwait(false), await stderr.ConfigureAwait(false));
    }

    private static string LocateExecutable()
    {
        var packageRoot = typeof(BicepCli).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "BicepPackageRoot")?.Value;
        var candidates = new List<string>();
        if (!string.IsNullOrEmpty(packageRoot))
        {
            candidates.Add(Path.Combine(packageRoot, "tools", "bicep"));
        }
        // Fallback: the NuGet global packages folder, newest restored version first.
        var nugetRoot = Environment.GetEnvironmentVariable("NUGET_PACKAGES");
        if (string.IsNullOrEmpty(nugetRoot))
        {
            nugetRoot = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        }
        var packageDir = Path.Combine(nugetRoot, PackageId);
        if (Directory.Exists(packageDir))
        {
            candidates.AddRange(Directory.EnumerateDirectories(packageDir)
                .Select(d => (Dir: d, Version: Version.TryParse(Path.GetFileName(d), out var v) ? v : new Version(0, 0)))
                .OrderByDescending(x => x.Version)
                .Select(x => Path.Combine(x.Dir, "tools", "bicep")));
        }

        var path = candidates.FirstOrDefault(File.Exists)
            ?? throw new FileNotFoundException(
                $"Bicep CLI not found (looked in: {string.Join(", ", candidates)}). Run 'dotnet restore tests/Weightless.Infra.Tests'.");

        // NuGet extraction does not always keep the executable bit.
        if (!OperatingSystem.IsWindows())
        {
            var mode = File.GetUnixFileMode(path);
            if ((mode & UnixFileMode.UserExecute) == 0)
            {
                File.SetUnixFileMode(path, mode | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
            }
        }
        return path;
    }
}
