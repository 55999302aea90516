using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Weightless.Core.Runs;

namespace Weightless.Integration.Tests.Runs;

/// <summary>Fork and rewind (seed §1.5.3, §1.5.7): REST endpoints and the client's <c>rewindRun</c> mutation.</summary>
public sealed class RunBranchTests(WandbTestHost host) : IClassFixture<WandbTestHost>
{
    private const string RewindRun = """
        mutation RewindRun($runName: String!, $entity: String, $project: String, $metricName: String!, $metricValue: Float!) {
          rewindRun(input: {runName: $runName, entityName: $entity, projectName: $project, metricName: $metricName, metricValue: $metricValue}) {
            rewoundRun { id name displayName summaryMetrics config historyLineCount sweepName project { name entity { name } } }
          }
        }
        """;

    private const string FullHistory = "query H($project: String!, $entity: String!, $name: String!) { project(name: $project, entityName: $entity) { run(name: $name) { history(samples: 1000) summaryMetrics config historyLineCount } } }";

    [Fact]
    public async Task Fork_copies_config_and_history_up_to_and_including_the_step_and_records_the_link()
    {
        var (user, key) = await host.NewUserAsync();
        await ParentAsync(key, user, "forks", "parent");
        using var client = host.Client(key);

        var response = await client.PostAsJsonAsync($"/api/v1/entities/{user}/projects/forks/runs/parent/fork", new { newRunId = "child", step = 4 });
        Assert.Equal(201, (int)response.StatusCode);
        var body = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal("child", body["runId"]!.GetValue<string>());
        Assert.Equal($"{user}/forks/parent", body["forkedFrom"]!.GetValue<string>());
        Assert.Equal(4, body["forkedFromStep"]!.GetValue<long>());
        Assert.Equal(5, body["historyLineCount"]!.GetValue<long>());

        var child = await RunAsync(key, user, "forks", "child");
        Assert.Equal([0, 1, 2, 3, 4], Steps(child));
        Assert.Equal(4, JsonNode.Parse(child["summaryMetrics"]!.GetValue<string>())!["loss"]!.GetValue<double>());
        Assert.Equal(0.1, JsonNode.Parse(child["config"]!.GetValue<string>())!["lr"]!["value"]!.GetValue<double>());
        Assert.Equal(10, (await RunAsync(key, user, "forks", "parent"))["historyLineCount"]!.GetValue<int>());

        // The fork continues at the step after the fork point.
        Assert.Equal(200, (await host.FileStreamAsync(key, user, "forks", "child", History(5, 5))).Status);
        Assert.Equal([0, 1, 2, 3, 4, 5], Steps(await RunAsync(key, user, "forks", "child")));

        // A generated id when none is given; clear errors for a taken id, an unknown parent, a bad step.
        using var generated = await client.PostAsJsonAsync($"/api/v1/entities/{user}/projects/forks/runs/parent/fork", new { step = 0 });
        Assert.Equal(201, (int)generated.StatusCode);
        using var taken = await client.PostAsJsonAsync($"/api/v1/entities/{user}/projects/forks/runs/parent/fork", new { newRunId = "child", step = 1 });
        Assert.Equal(409, (int)taken.StatusCode);
        using var unknown = await client.PostAsJsonAsync($"/api/v1/entities/{user}/projects/forks/runs/nope/fork", new { step = 1 });
        Assert.Equal(404, (int)unknown.StatusCode);
        using var noStep = await client.PostAsJsonAsync($"/api/v1/entities/{user}/projects/forks/runs/parent/fork", new { newRunId = "c2" });
        Assert.Equal(400, (int)noStep.StatusCode);
    }

    [Fact]
    public async Task Rewind_sets_later_history_aside_recomputes_the_summary_and_appends_continue_at_the_new_count()
    {
        var (user, key) = await host.NewUserAsync();
        await ParentAsync(key, user, "rewinds", "r");
        using var client = host.Client(key);

        var response = await client.PostAsJsonAsync($"/api/v1/entities/{user}/projects/rewinds/runs/r/rewind", new { step = 6 });
        Assert.Equal(200, (int)response.StatusCode);
        var body = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal(7, body["historyLineCount"]!.GetValue<long>());
        Assert.Equal(3, body["archivedLines"]!.GetValue<long>());

        var run = await RunAsync(key, user, "rewinds", "r");
        Assert.Equal([0, 1, 2, 3, 4, 5, 6], Steps(run));
        Assert.Equal(6, JsonNode.Parse(run["summaryMetrics"]!.GetValue<string>())!["loss"]!.GetValue<double>());
        Assert.Equal(0.1, JsonNode.Parse(run["config"]!.GetValue<string>())!["lr"]!["value"]!.GetValue<double>());

        Assert.Equal(200, (await host.FileStreamAsync(key, user, "rewinds", "r", History(7, 7))).Status);
        Assert.Equal([0, 1, 2, 3, 4, 5, 6, 7], Steps(await RunAsync(key, user, "rewinds", "r")));

        // The client's resume_from: rewindRun by _step, answering the new historyLineCount.
        var rewound = await host.DataAsync(key, RewindRun, new { runName = "r", entity = user, project = "rewinds", metricName = "_step", metricValue = 2.0 });
        Assert.Equal(3, rewound["rewindRun"]!["rewoundRun"]!["historyLineCount"]!.GetValue<int>());
        Assert.Equal([0, 1, 2], Steps(await RunAsync(key, user, "rewinds", "r")));
        var (_, byLoss) = await host.GraphQLAsync(key, RewindRun, new { runName = "r", entity = user, project = "rewinds", metricName = "loss", metricValue = 1.0 });
        Assert.Equal("BAD_USER_INPUT", byLoss["errors"]![0]!["extensions"]!["code"]!.GetValue<string>());

        using var negative = await client.PostAsJsonAsync($"/api/v1/entities/{user}/projects/rewinds/runs/r/rewind", new { step = -1 });
        Assert.Equal(400, (int)negative.StatusCode);
    }

    [Fact]
    public async Task While_a_rewind_holds_the_run_file_stream_and_another_rewind_get_409()
    {
        var (user, key) = await host.NewUserAsync();
        await ParentAsync(key, user, "busy", "b");
        var runs = host.Services.GetRequiredService<RunService>();
        var runKey = new RunKey(user, "busy", "b");
        await runs.UpdateAsync(runKey, (row, _) =>
        {
            row.RewindingSince = DateTimeOffset.UtcNow;
            return Task.FromResult(true);
        }, CancellationToken.None);

        Assert.Equal(409, (await host.FileStreamAsync(key, user, "busy", "b", History(10, 10))).Status);
        using var client = host.Client(key);
        using var second = await client.PostAsJsonAsync($"/api/v1/entities/{user}/projects/busy/runs/b/rewind", new { step = 3 });
        Assert.Equal(409, (int)second.StatusCode);
        Assert.Equal(10, (await RunAsync(key, user, "busy", "b"))["historyLineCount"]!.GetValue<int>());
    }

    private async Task ParentAsync(string key, string user, string project, string name)
    {
        await host.DataAsync(key, WandbDocuments.UpsertBucket, new { entity = user, project, name, config = "{\"lr\": 0.1}" });
        var (status, _) = await host.FileStreamAsync(key, user, project, name, History(0, Enumerable.Range(0, 10).ToArray()));
        Assert.Equal(200, status);
    }

    private async Task<JsonObject> RunAsync(string key, string user, string project, string name) =>
        (await host.DataAsync(key, FullHistory, new { project, entity = user, name }))["project"]!["run"]!.AsObject();

    private static List<int> Steps(JsonObject run) =>
        run["history"]!.AsArray().Select(line => JsonNode.Parse(line!.GetValue<string>())!["_step"]!.GetValue<int>()).ToList();

    private static object History(int offset, params int[] steps) => new
    {
        files = new Dictionary<string, object>
        {
            ["wandb-history.jsonl"] = new { offset, content = steps.Select(s => $"{{\"_step\":{s},\"loss\":{s}}}").ToArray() },
        },
    };
}
