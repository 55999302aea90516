using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using Weightless.Tests.Infrastructure;

namespace Weightless.EndToEnd.Tests.Infrastructure;

/// <summary>What one <c>js/wandb-run.mjs</c> invocation did: the run id and the rows it logged.</summary>
internal sealed record JsSdkRun(string RunId, string Entity, string Project, int SpikeStep, IReadOnlyList<string> LoggedRows);

/// <summary>Runs <c>js/wandb-run.mjs</c> with <c>node</c>; @wandb/sdk comes from the repository root's node_modules.</summary>
internal static class WandbJsSdk
{
    public static string ScriptPath => Path.Combine(AzuriteFixture.RepositoryRoot(), "tests", "Weightless.EndToEnd.Tests", "js", "wandb-run.mjs");

    public static async Task<JsSdkRun> RunAsync(DevHostProcess host, TestUser user, string project, int steps, int spikeStep, TimeSpan timeout)
    {
        var root = AzuriteFixture.RepositoryRoot();
        if (!Directory.Exists(Path.Combine(root, "node_modules", "@wandb", "sdk")))
        {
            throw new InvalidOperationException($"@wandb/sdk is not installed under {root}/node_modules (run npm ci, or symlink a checkout's node_modules).");
        }
        var rowsFile = Path.Combine(Path.GetTempPath(), $"wandb-e2e-rows-{Guid.NewGuid():N}.jsonl");
        var start = new ProcessStartInfo("node")
        {
            ArgumentList = { ScriptPath },
            WorkingDirectory = root,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.Environment["WANDB_BASE_URL"] = host.BaseUrl;
        start.Environment["WANDB_API_KEY"] = user.ApiKey;
        start.Environment["WANDB_MODE"] = "online";
        start.Environment.Remove("WANDB_DEBUG");
        start.Environment["E2E_PROJECT"] = project;
        start.Environment["E2E_ENTITY"] = user.Name;
        start.Environment["E2E_STEPS"] = steps.ToString(System.Globalization.CultureInfo.InvariantCulture);
        start.Environment["E2E_SPIKE_STEP"] = spikeStep.ToString(System.Globalization.CultureInfo.InvariantCulture);
        start.Environment["E2E_ROWS_FILE"] = rowsFile;

        using var process = new Process { StartInfo = start };
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (stdout) { stdout.AppendLine(e.Data); } } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (stderr) { stderr.AppendLine(e.Data); } } };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            // The SDK retries failed posts for minutes; a run that does not end in time has failed.
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            throw new Xunit.Sdk.XunitException(host.Describe($"node {ScriptPath} did not finish within {timeout.TotalSeconds:0} s.\nstdout:\n{stdout}\nstderr:\n{stderr}"));
        }
        process.WaitForExit();
        var lastJson = stdout.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault(l => l.StartsWith('{'));
        if (process.ExitCode != 0 || lastJson is null || !File.Exists(rowsFile))
        {
            throw new Xunit.Sdk.XunitException(host.Describe($"node {ScriptPath} failed (exit {process.ExitCode}).\nstdout:\n{stdout}\nstderr:\n{stderr}"));
        }
        try
        {
            var result = JsonNode.Parse(lastJson)!;
            var rows = (await File.ReadAllLinesAsync(rowsFile)).Where(l => l.Length > 0).ToList();
            return new JsSdkRun(result["runId"]!.GetValue<string>(), result["entity"]!.GetValue<string>(), result["project"]!.GetValue<string>(), spikeStep, rows);
        }
        finally
        {
            File.Delete(rowsFile);
        }
    }
}
