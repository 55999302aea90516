using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Weightless.Core.Runs;

namespace Weightless.Integration.Tests.Runs;

/// <summary>Fork and rewind (seed §1.5.3, §1.5.7): REST endpoints and the client's <c>rewindRun</c> mutation.</summary>
public sealed class RunBranchTests(WandbTestHost host) : IClassFixture<WandbTestHost>
{
    /// <summary>The exact document of wandb's <c>core/api/graphql/mutation_rewind_run.graphql</c> (and <c>Api.rewind_run</c> in the Python SDK).</summary>
    private const string RewindRun = """
         mutation RewindRun($runName: String!, $entity: String, $project: String, $metricName: String!, $metricValue: Float!) {
                    rewindRun(input: {runName: $runName, entityName: $entity, projectName: $project, metricName: $metricName, metricValue: $metricValue}) {
                        rewoundRun {
                            id
                            name
                            displayName
                            description
                            config
                            sweepName
                            project {
                                id
                                name
                                entity {
                                    id
                                    name
                                }
                            }
                            historyLineCount
                        }
                    }
                }
        """;

    /// <summary>The exact document of wandb's <c>core/api/graphql/mutation_run.graphql</c> (Go core ≥ 0.18).</summary>
    private const string GoUpsertBucket = """
        mutation UpsertBucket(
                    $id: String,
                    $name: String,
                    $project: String,
                    $entity: String,
                    $groupName: String,
                    $description: String,
                    $displayName: String,
                    $notes: String,
                    $commit: String,
                    $config: JSONString,
                    $host: String,
                    $debug: Boolean,
                    $program: String,
                    $repo: String,
                    $jobType: String,
                    $state: String,
                    $sweep: String,
                    $tags: [String!],
                    $summaryMetrics: JSONString,
                ) {
                    upsertBucket(input: {
                        id: $id,
                        name: $name,
                        groupName: $groupName,
                        modelName: $project,
                        entityName: $entity,
                        description: $description,
                        displayName: $displayName,
                        notes: $notes,
                        config: $config,
                        commit: $commit,
                        host: $host,
                        debug: $debug,
                        jobProgram: $program,
                        jobRepo: $repo,
                        jobType: $jobType,
                        state: $state,
                        sweep: $sweep,
                        tags: $tags,
                        summaryMetrics: $summaryMetrics,
                    }) {
                        bucket {
                            id
                            name
                            displayName
                            description
                            sweepName
                            project {
                                id
                                name
                                entity {
                                    id
                                    name
                                }
                            }
                            historyLineCount
                        }
                        inserted
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

        // The REST run resource shows the link; a run that is not a fork has none.
        var childResource = (await client.GetFromJsonAsync<JsonObject>($"/api/v1/entities/{user}/projects/forks/runs/child"))!;
        Assert.Equal($"{user}/forks/parent", childResource["forkedFrom"]!["path"]!.GetValue<string>());
        Assert.Equal("parent", childResource["forkedFrom"]!["runId"]!.GetValue<string>());
        Assert.Equal(4, childResource["forkedFrom"]!["step"]!.GetValue<long>());
        var parentResource = (await client.GetFromJsonAsync<JsonObject>($"/api/v1/entities/{user}/projects/forks/runs/parent"))!;
        Assert.False(parentResource.ContainsKey("forkedFrom"));

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
    public async Task Python_fork_from_sends_the_branch_point_in_the_wrapped_config_and_the_new_run_starts_with_the_parents_history()
    {
        var (user, key) = await host.NewUserAsync();
        await ParentAsync(key, user, "pyfork", "parent");

        // wandb.init(fork_from="parent?_step=4"): Python puts _wandb.branch_point into the config of
        // the first upsertBucket (W&B-wrapped) and streams history from the answer's historyLineCount.
        var config = """{"lr": {"desc": null, "value": 0.2}, "_wandb": {"desc": null, "value": {"branch_point": {"run_id": "parent", "step": 4}, "cli_version": "0.16.6"}}}""";
        var created = await host.DataAsync(key, WandbDocuments.UpsertBucket, new { entity = user, project = "pyfork", name = "kid", config });
        Assert.True(created["upsertBucket"]!["inserted"]!.GetValue<bool>());
        Assert.Equal(5, created["upsertBucket"]!["bucket"]!["historyLineCount"]!.GetValue<int>());

        var stored = await host.Services.GetRequiredService<RunService>().FindRunAsync(new RunKey(user, "pyfork", "kid"), CancellationToken.None);
        Assert.Equal($"{user}/pyfork/parent", stored!.ForkedFrom);
        Assert.Equal(4, stored.ForkedFromStep);
        using (var rest = host.Client(key))
        {
            var resource = (await rest.GetFromJsonAsync<JsonObject>($"/api/v1/entities/{user}/projects/pyfork/runs/kid"))!;
            Assert.Equal(new JsonObject { ["path"] = $"{user}/pyfork/parent", ["runId"] = "parent", ["step"] = 4 }.ToJsonString(), resource["forkedFrom"]!.ToJsonString());
        }

        Assert.Equal(200, (await host.FileStreamAsync(key, user, "pyfork", "kid", History(5, 5, 6))).Status);
        var kid = await RunAsync(key, user, "pyfork", "kid");
        Assert.Equal([0, 1, 2, 3, 4, 5, 6], Steps(kid));
        Assert.Equal(0.2, JsonNode.Parse(kid["config"]!.GetValue<string>())!["lr"]!["value"]!.GetValue<double>());

        // Later upserts carry the same config (config updates, the final summary): nothing is copied again.
        var again = await host.DataAsync(key, WandbDocuments.UpsertBucket, new { entity = user, project = "pyfork", name = "kid", config, summaryMetrics = "{\"loss\": 6}" });
        Assert.Equal(7, again["upsertBucket"]!["bucket"]!["historyLineCount"]!.GetValue<int>());
        Assert.Equal([0, 1, 2, 3, 4, 5, 6], Steps(await RunAsync(key, user, "pyfork", "kid")));

        // A fork of a run that is not there is a GraphQL error naming it.
        var missing = """{"_wandb": {"desc": null, "value": {"branch_point": {"run_id": "nope", "step": 1}}}}""";
        var (status, body) = await host.GraphQLAsync(key, WandbDocuments.UpsertBucket, new { entity = user, project = "pyfork", name = "orphan", config = missing });
        Assert.Equal(200, status);
        Assert.Contains("nope", body["errors"]![0]!["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task Go_core_fork_from_and_resume_from_use_their_exact_documents()
    {
        var (user, key) = await host.NewUserAsync();
        await ParentAsync(key, user, "gofork", "base");

        // Go core serialises the config with {"value": …} wrappers and sends operationName.
        var config = """{"_wandb": {"value": {"branch_point": {"run_id": "base", "step": 2}, "t": {"1": [1]}}}, "lr": {"value": 0.3}}""";
        var (status, created) = await host.GraphQLAsync(key, GoUpsertBucket, new { entity = user, project = "gofork", name = "branch", config }, "UpsertBucket");
        Assert.True(status == 200 && created["errors"] is null, created.ToJsonString());
        var bucket = created["data"]!["upsertBucket"]!["bucket"]!;
        Assert.Equal(3, bucket["historyLineCount"]!.GetValue<int>());
        Assert.Equal("gofork", bucket["project"]!["name"]!.GetValue<string>());
        Assert.Equal(user, bucket["project"]!["entity"]!["name"]!.GetValue<string>());
        Assert.Equal([0, 1, 2], Steps(await RunAsync(key, user, "gofork", "branch")));

        // resume_from="base?_step=6": RewindRun first, then the same upsert carrying the run's own id
        // as branch point, which must not fork the run onto itself.
        var (rewindStatus, rewound) = await host.GraphQLAsync(key, RewindRun, new { runName = "base", entity = user, project = "gofork", metricName = "_step", metricValue = 6.0 }, "RewindRun");
        Assert.True(rewindStatus == 200 && rewound["errors"] is null, rewound.ToJsonString());
        var run = rewound["data"]!["rewindRun"]!["rewoundRun"]!;
        Assert.Equal(7, run["historyLineCount"]!.GetValue<int>());
        Assert.Equal("base", run["name"]!.GetValue<string>());
        Assert.False(string.IsNullOrEmpty(run["id"]!.GetValue<string>()));
        Assert.Equal(0.1, JsonNode.Parse(run["config"]!.GetValue<string>())!["lr"]!["value"]!.GetValue<double>());
        Assert.Equal("gofork", run["project"]!["name"]!.GetValue<string>());
        Assert.Equal(user, run["project"]!["entity"]!["name"]!.GetValue<string>());

        var selfPoint = """{"_wandb": {"value": {"branch_point": {"run_id": "base", "step": 6}}}}""";
        var (upsertStatus, upserted) = await host.GraphQLAsync(key, GoUpsertBucket, new { id = run["id"]!.GetValue<string>(), name = "base", entity = user, project = "gofork", config = selfPoint }, "UpsertBucket");
        Assert.True(upsertStatus == 200 && upserted["errors"] is null, upserted.ToJsonString());
        Assert.Equal(7, upserted["data"]!["upsertBucket"]!["bucket"]!["historyLineCount"]!.GetValue<int>());
        Assert.Null((await host.Services.GetRequiredService<RunService>().FindRunAsync(new RunKey(user, "gofork", "base"), CancellationToken.None))!.ForkedFrom);
        Assert.Equal(200, (await host.FileStreamAsync(key, user, "gofork", "base", History(7, 7))).Status);
        Assert.Equal([0, 1, 2, 3, 4, 5, 6, 7], Steps(await RunAsync(key, user, "gofork", "base")));
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
