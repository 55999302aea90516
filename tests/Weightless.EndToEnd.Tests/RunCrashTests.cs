using System.Net;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Weightless.Core.Hosting;
using Weightless.Core.Runs;
using Weightless.EndToEnd.Tests.Infrastructure;
using Weightless.Tests.Infrastructure;

namespace Weightless.EndToEnd.Tests;

/// <summary>
/// A run whose client vanishes (no <c>complete</c>, no more heartbeats) must end up <c>crashed</c>
/// once <c>Runs:CrashAfter</c> has passed, while runs that still send, or that finished, keep
/// their state. The dev host runs with a 3 s CrashAfter; the crash sweep is the
/// <c>DetectCrashedRuns</c> timer's work (<see cref="RunService.MarkCrashedAsync"/>), run here on
/// the same storage the way the timer would, so the test does not wait for the minute schedule.
/// </summary>
public sealed class RunCrashTests
{
    private const string Project = "e2e-crash";
    private static readonly TimeSpan CrashAfter = TimeSpan.FromSeconds(3);

    [Fact]
    public async Task ARunWhoseClientVanishedIsMarkedCrashedAndOthersAreNot()
    {
        var crashAfter = CrashAfter.ToString("c", System.Globalization.CultureInfo.InvariantCulture);
        // The host's own once-a-minute DetectCrashedRuns timer would race the sweep below, so it is off here.
        await using var host = await DevHostProcess.StartAsync(new Dictionary<string, string> { ["Runs__CrashAfter"] = crashAfter, ["DevHost__RunTimers"] = "false" });
        var user = await host.CreateUniqueUserAsync("crash");
        using var client = new WandbWireClient(host, user);
        const string historyPost = """{"files": {"wandb-history.jsonl": {"offset": 0, "content": ["{\"loss\": 1, \"_step\": 0}"]}}}""";

        foreach (var run in new[] { "vanished", "alive", "done" })
        {
            await client.UpsertRunAsync(Project, run);
            var posted = await client.PostFileStreamAsync(user.Name, Project, run, historyPost);
            Assert.True(posted.Status == HttpStatusCode.OK, host.Describe($"file_stream for {run}: {posted}"));
        }
        var completed = await client.PostFileStreamAsync(user.Name, Project, "done", """{"complete": true, "exitcode": 0}""");
        Assert.True(completed.Status == HttpStatusCode.OK, host.Describe($"complete: {completed}"));
        Assert.Equal("running", (await client.RequireRunAsync(user.Name, Project, "vanished")).State);

        await using var detector = CrashDetector(host, crashAfter);
        var runs = detector.GetRequiredService<RunService>();
        await Task.Delay(CrashAfter + TimeSpan.FromSeconds(1));
        // A Go-core style heartbeat ({}), sent just before the sweep: this client is still there.
        var heartbeat = await client.PostFileStreamAsync(user.Name, Project, "alive", "{}");
        Assert.True(heartbeat.Status == HttpStatusCode.OK, host.Describe($"heartbeat: {heartbeat}"));

        var marked = await runs.MarkCrashedAsync(DateTimeOffset.UtcNow, CancellationToken.None);

        Assert.Equal("crashed", (await client.RequireRunAsync(user.Name, Project, "vanished")).State);
        Assert.Equal("running", (await client.RequireRunAsync(user.Name, Project, "alive")).State);
        Assert.Equal("finished", (await client.RequireRunAsync(user.Name, Project, "done")).State);
        Assert.Equal(1, marked);

        // The client comes back (a network partition, not a death): new data revives the run.
        var revived = await client.PostFileStreamAsync(user.Name, Project, "vanished",
            """{"files": {"wandb-history.jsonl": {"offset": 1, "content": ["{\"loss\": 0.5, \"_step\": 1}"]}}}""");
        Assert.True(revived.Status == HttpStatusCode.OK, host.Describe($"late post: {revived}"));
        var back = await client.RequireRunAsync(user.Name, Project, "vanished");
        Assert.Equal("running", back.State);
        Assert.Equal(2, back.HistoryLineCount);
    }

    /// <summary>The services the <c>DetectCrashedRuns</c> timer uses, on the host's storage and with its CrashAfter.</summary>
    private static ServiceProvider CrashDetector(DevHostProcess host, string crashAfter)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Storage:ConnectionString"] = AzuriteFixture.ConnectionString,
            ["Storage:TablePrefix"] = host.Prefix,
            ["Runs:CrashAfter"] = crashAfter,
        }).Build();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddWeightlessCore(configuration, "weightless-e2e-crash-sweep");
        services.AddWeightlessRuns(configuration);
        return services.BuildServiceProvider();
    }
}
