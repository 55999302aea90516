namespace Weightless.Infra.Tests;

/// <summary>One Bicep CLI command run over a private copy of infra/.</summary>
internal sealed record BicepRun(string Directory, BicepResult Result)
{
    public string PathOf(string relativePath) => Path.GetFullPath(Path.Combine(Directory, relativePath));

    /// <summary>Errors and warnings reported for one file (path relative to infra/).</summary>
    public IReadOnlyList<BicepDiagnostic> ProblemsIn(string relativePath)
    {
        var fullPath = PathOf(relativePath);
        return Result.Diagnostics
            .Where(d => d.IsErrorOrWarning && string.Equals(Path.GetFullPath(d.FilePath), fullPath, StringComparison.Ordinal))
            .ToList();
    }
}

/// <summary>
/// Runs the Bicep CLI once per command for the whole infra/ folder (starting the CLI costs about
/// 3 s, so one process per command and file would take minutes on a small machine), two at a
/// time. Each command works on its own temporary copy of infra/, because build, build-params and
/// snapshot write their output next to the sources. (A bicepconfig.json must therefore live in infra/.)
/// </summary>
public sealed class BicepRunFixture : IAsyncLifetime
{
    /// <summary>The parameters file the content tests expand with "bicep snapshot".</summary>
    internal const string ExampleParamsFile = "customers/example.bicepparam";

    internal const string SnapshotSubscriptionId = "00000000-0000-0000-0000-00000000a001";
    internal const string SnapshotResourceGroup = "rg-weightless-example";

    private static readonly TimeSpan CommandTimeout = TimeSpan.FromMinutes(3);

    private readonly string _root = Path.Combine(Path.GetTempPath(), "weightless-infra-tests-" + Guid.NewGuid().ToString("N"));

    private BicepRun? _lint;
    private BicepRun? _build;
    private BicepRun? _buildParams;
    private BicepRun? _snapshot;

    /// <summary>bicep lint over every .bicep and .bicepparam file.</summary>
    internal BicepRun Lint => _lint ?? throw NotInitialized();

    /// <summary>bicep build over every .bicep file (ARM JSON next to each source).</summary>
    internal BicepRun Build => _build ?? throw NotInitialized();

    /// <summary>bicep build-params over every .bicepparam file.</summary>
    internal BicepRun BuildParams => _buildParams ?? throw NotInitialized();

    /// <summary>bicep snapshot of the example customer: every resource the deployment would create, expanded.</summary>
    internal BicepRun Snapshot => _snapshot ?? throw NotInitialized();

    internal IEnumerable<BicepRun> AllRuns => [Lint, Build, BuildParams, Snapshot];

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_root);
        using var gate = new SemaphoreSlim(Math.Max(2, Environment.ProcessorCount));

        var lint = RunAsync(gate, "lint", ["lint", "--no-restore", "--pattern", "**/*.bicep*"]);
        var build = RunAsync(gate, "build", ["build", "--no-restore", "--pattern", "**/*.bicep"]);
        var buildParams = RunAsync(gate, "build-params", ["build-params", "--no-restore", "--pattern", "**/*.bicepparam"]);
        // snapshot has no --no-restore; with no registry modules it restores nothing (it may still
        // attempt one best-effort DNS lookup for the public module index, which it does not need).
        var snapshot = RunAsync(gate, "snapshot",
        [
            "snapshot", ExampleParamsFile,
            "--mode", "overwrite",
            "--tenant-id", "00000000-0000-0000-0000-00000000e001",
            "--subscription-id", SnapshotSubscriptionId,
            "--resource-group", SnapshotResourceGroup,
            "--location", "westeurope",
            "--deployment-name", "weightless-example",
        ]);

        _lint = await lint.ConfigureAwait(false);
        _build = await build.ConfigureAwait(false);
        _buildParams = await buildParams.ConfigureAwait(false);
        _snapshot = await snapshot.ConfigureAwait(false);
    }

    public Task DisposeAsync()
    {
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a leftover temp folder is harmless.
        }
        return Task.CompletedTask;
    }

    private async Task<BicepRun> RunAsync(SemaphoreSlim gate, string name, IReadOnlyList<string> arguments)
    {
        var directory = Path.Combine(_root, name);
        CopyDirectory(RepositoryPaths.InfraDirectory, directory);
        await gate.WaitAsync().ConfigureAwait(false);
        try
        {
            var result = await BicepCli.RunAsync(directory, arguments, CommandTimeout).ConfigureAwait(false);
            return new BicepRun(directory, result);
        }
        finally
        {
            gate.Release();
        }
    }

    private static void CopyDirectory(string source, string destination)
    {
        Directory.CreateDirectory(destination);
        foreach (var dir in Directory.EnumerateDirectories(source, "*", SearchOption.AllDirectories))
        {
            Directory.CreateDirectory(Path.Combine(destination, Path.GetRelativePath(source, dir)));
        }
        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            File.Copy(file, Path.Combine(destination, Path.GetRelativePath(source, file)));
        }
    }

    private static InvalidOperationException NotInitialized() => new("The Bicep runs have not completed.");
}

[CollectionDefinition(Name)]
public sealed class BicepCollection : ICollectionFixture<BicepRunFixture>
{
    public const string Name = "bicep";
}
