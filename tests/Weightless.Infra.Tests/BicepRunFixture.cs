using System.Globalization;
using System.Text.Json.Nodes;

namespace Weightless.Infra.Tests;

/// <summary>One compiler or linter diagnostic.</summary>
internal sealed record BicepDiagnostic(string Source, int Line, int Column, string Level, string Code, string Message)
{
    public bool IsErrorOrWarning => Level is "Error" or "Warning";

    public static BicepDiagnostic FromJson(JsonNode node) => new(
        node["source"]?.GetValue<string>() ?? "",
        (node["range"]?["start"]?["line"]?.GetValue<int>() ?? -1) + 1,
        (node["range"]?["start"]?["char"]?.GetValue<int>() ?? -1) + 1,
        node["level"]?.ToString() ?? "",
        node["code"]?.GetValue<string>() ?? "",
        node["message"]?.GetValue<string>() ?? "");

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Source}({Line},{Column}) : {Level} {Code}: {Message}");
}

/// <summary>The result of compiling one file (the equivalent of "bicep build" or "bicep build-params").</summary>
internal sealed record BicepCompilation(string File, bool Success, IReadOnlyList<BicepDiagnostic> Diagnostics, string? Output, string? Template)
{
    public IReadOnlyList<BicepDiagnostic> Problems => Diagnostics.Where(d => d.IsErrorOrWarning).ToList();

    public override string ToString() =>
        $"{File}: success={Success}\n{string.Join('\n', Diagnostics)}";
}

/// <summary>
/// Compiles every file under infra/ once, through one "bicep jsonrpc" process: each .bicep file
/// (bicep/compile: diagnostics and ARM JSON, as "bicep build" + "bicep lint"), each .bicepparam
/// file (bicep/compileParams, as "bicep build-params") and a snapshot of the example customer
/// (bicep/getSnapshot, as "bicep snapshot": every resource a deployment would create, with loops,
/// modules and parameters expanded). Nothing is written to disk and no registry is contacted
/// (our files reference no registry modules).
/// </summary>
public sealed class BicepRunFixture : IAsyncLifetime
{
    /// <summary>The parameters file the content tests expand.</summary>
    internal const string ExampleParamsFile = "customers/example.bicepparam";

    internal const string ExpectedBicepVersion = "0.49.2";

    private static readonly TimeSpan CallTimeout = TimeSpan.FromMinutes(2);

    private readonly Dictionary<string, BicepCompilation> _templates = new(StringComparer.Ordinal);
    private readonly Dictionary<string, BicepCompilation> _parameters = new(StringComparer.Ordinal);
    private JsonNode? _snapshot;
    private string _snapshotError = "no snapshot was produced";

    internal string Version { get; private set; } = "";

    /// <summary>stderr of the Bicep process (expected empty).</summary>
    internal string CliErrorOutput { get; private set; } = "";

    /// <summary>Compiled .bicep files by path relative to infra/.</summary>
    internal IReadOnlyDictionary<string, BicepCompilation> Templates => _templates;

    /// <summary>Compiled .bicepparam files by path relative to infra/.</summary>
    internal IReadOnlyDictionary<string, BicepCompilation> Parameters => _parameters;

    /// <summary>Snapshot of <see cref="ExampleParamsFile"/>: predictedResources, outputs, diagnostics.</summary>
    internal JsonNode Snapshot => _snapshot ?? throw new Xunit.Sdk.XunitException(
        $"Snapshot of {ExampleParamsFile} failed (see the compile tests for diagnostics): {_snapshotError}");

    public async Task InitializeAsync()
    {
        var infra = RepositoryPaths.InfraDirectory;
        var client = BicepJsonRpcClient.Start(infra);
        try
        {
            var version = await client.CallAsync("bicep/version", [], CallTimeout).ConfigureAwait(false);
            Version = version["version"]?.GetValue<string>() ?? "";

            foreach (var file in RepositoryPaths.InfraFiles(".bicep"))
            {
                _templates[file] = await CompileAsync(
                    client, file, "bicep/compile", new JsonObject { ["path"] = Path.Combine(infra, file) }, "contents", null).ConfigureAwait(false);
            }

            foreach (var file in RepositoryPaths.InfraFiles(".bicepparam"))
            {
                _parameters[file] = await CompileAsync(
                    client,
                    file,
                    "bicep/compileParams",
                    new JsonObject { ["path"] = Path.Combine(infra, file), ["parameterOverrides"] = new JsonObject() },
                    "parameters",
                    "template").ConfigureAwait(false);
            }

            // A failed snapshot (the example does not compile) must not hide the compile diagnostics above.
            try
            {
                var snapshot = await client.CallAsync(
                    "bicep/getSnapshot",
                    new JsonObject
                    {
                        ["path"] = Path.Combine(infra, ExampleParamsFile),
                        ["metadata"] = new JsonObject
                        {
                            ["tenantId"] = "00000000-0000-0000-0000-00000000e001",
                            ["subscriptionId"] = "00000000-0000-0000-0000-00000000a001",
                            ["resourceGroup"] = "rg-weightless-example",
                            ["location"] = "westeurope",
                            ["deploymentName"] = "weightless-example",
                        },
                        ["externalInputs"] = new JsonArray(),
                    },
                    CallTimeout).ConfigureAwait(false);
                _snapshot = JsonNode.Parse(snapshot["snapshot"]?.GetValue<string>() ?? "null");
            }
            catch (InvalidOperationException ex)
            {
                _snapshotError = ex.Message;
            }
        }
        finally
        {
            await client.DisposeAsync().ConfigureAwait(false);
            CliErrorOutput = client.StandardError;
        }
    }

    public Task DisposeAsync() => Task.CompletedTask;

    private static async Task<BicepCompilation> CompileAsync(
        BicepJsonRpcClient client, string file, string method, JsonObject parameters, string outputProperty, string? templateProperty)
    {
        JsonNode result;
        try
        {
            result = await client.CallAsync(method, parameters, CallTimeout).ConfigureAwait(false);
        }
        catch (InvalidOperationException ex)
        {
            return new BicepCompilation(file, false, [new BicepDiagnostic(file, 0, 0, "Error", method, ex.Message)], null, null);
        }
        return new BicepCompilation(
            file,
            result["success"]?.GetValue<bool>() ?? false,
            (result["diagnostics"] as JsonArray ?? []).Select(d => BicepDiagnostic.FromJson(d!)).ToList(),
            result[outputProperty]?.GetValue<string>(),
            templateProperty is null ? null : result[templateProperty]?.GetValue<string>());
    }
}

[CollectionDefinition(Name)]
public sealed class BicepCollection : ICollectionFixture<BicepRunFixture>
{
    public const string Name = "bicep";
}
