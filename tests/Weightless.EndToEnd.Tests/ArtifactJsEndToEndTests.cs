using System.Diagnostics;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Weightless.EndToEnd.Tests.Infrastructure;
using Weightless.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Weightless.EndToEnd.Tests;

/// <summary>
/// <c>js/wandb-artifact.mjs</c> (node, fetch only) logs a 10-file artifact twice through GraphQL
/// and SAS PUTs as a client does, the second time with two files changed, then downloads both
/// versions. Only the changed files may be uploaded the second time; every byte must come back.
/// </summary>
public sealed class ArtifactJsEndToEndTests(DevHostFixture fixture, ITestOutputHelper output) : IClassFixture<DevHostFixture>
{
    private const string Project = "e2e-artifacts";

    [Fact]
    public async Task AMultiFileArtifactLoggedTwiceUploadsOnlyTheChangedFilesAndDownloadsByteForByte()
    {
        var host = fixture.Host;
        var user = await host.CreateUniqueUserAsync("jsart");
        var report = await RunScriptAsync(host, user, TimeSpan.FromSeconds(90));
        output.WriteLine(report.GetRawText());

        var versions = report.GetProperty("versions").EnumerateArray().ToList();
        Assert.Equal(("PENDING", 10), (versions[0].GetProperty("state").GetString(), versions[0].GetProperty("puts").GetInt32()));
        Assert.Equal(("PENDING", 2), (versions[1].GetProperty("state").GetString(), versions[1].GetProperty("puts").GetInt32()));
        // The same content a third time: the committed version is answered and nothing is uploaded.
        Assert.Equal(("COMMITTED", 0), (versions[2].GetProperty("state").GetString(), versions[2].GetProperty("puts").GetInt32()));
        Assert.Equal(versions[1].GetProperty("id").GetString(), versions[2].GetProperty("id").GetString());
        Assert.Equal(10, report.GetProperty("downloaded").GetProperty("v0").GetInt32());
        Assert.Equal(10, report.GetProperty("downloaded").GetProperty("latest").GetInt32());
        Assert.Empty(report.GetProperty("mismatches").EnumerateArray());

        // What the server stored: latest is v1 with ten files, and v0 is still whole.
        using var client = host.ClientFor(user.ApiKey);
        var latest = await client.GetFromJsonAsync<JsonElement>($"api/v1/entities/{user.Name}/projects/{Project}/artifacts/e2e-dataset/versions/latest");
        Assert.Equal("v1", latest.GetProperty("version").GetProperty("version").GetString());
        Assert.Equal(10, latest.GetProperty("files").GetArrayLength());
        var listed = await client.GetFromJsonAsync<JsonElement>($"api/v1/entities/{user.Name}/projects/{Project}/artifacts/e2e-dataset/versions");
        Assert.Equal(2, listed.GetArrayLength());
    }

    private static async Task<JsonElement> RunScriptAsync(DevHostProcess host, TestUser user, TimeSpan timeout)
    {
        var root = AzuriteFixture.RepositoryRoot();
        var start = new ProcessStartInfo("node")
        {
            ArgumentList = { Path.Combine(root, "tests", "Weightless.EndToEnd.Tests", "js", "wandb-artifact.mjs") },
            WorkingDirectory = root,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.Environment["WANDB_BASE_URL"] = host.BaseUrl;
        start.Environment["WANDB_API_KEY"] = user.ApiKey;
        start.Environment["E2E_PROJECT"] = Project;
        start.Environment["E2E_ENTITY"] = user.Name;
        start.Environment["E2E_FILES"] = "10";
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new Xunit.Sdk.XunitException(host.Describe($"wandb-artifact.mjs did not finish within {timeout.TotalSeconds:0} s."));
        }
        var text = await stdout;
        var last = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault(l => l.StartsWith('{'));
        if (process.ExitCode != 0 || last is null)
        {
            throw new Xunit.Sdk.XunitException(host.Describe($"wandb-artifact.mjs failed (exit {process.ExitCode}).\nstdout:\n{text}\nstderr:\n{await stderr}"));
        }
        return JsonDocument.Parse(Encoding.UTF8.GetBytes(last)).RootElement.Clone();
    }
}
