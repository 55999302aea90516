using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Weightless.Core.Runs;

namespace Weightless.Integration.Tests.Runs;

/// <summary>deleteRun / updateRunState mutations and resume semantics (seed §1.5.6).</summary>
public sealed class RunLifecycleTests(WandbTestHost host) : IClassFixture<WandbTestHost>
{
    private const string DeleteRun = "mutation DeleteRun($id: ID!, $deleteArtifacts: Boolean = false) { deleteRun(input: {id: $id, deleteArtifacts: $deleteArtifacts}) { clientMutationId } }";

    private const string UpdateRunState = "mutation UpdateRunState($id: ID!, $state: String!) { updateRunState(input: {id: $id, state: $state}) { success } }";

    private const string Runs = "query Runs($project: String!, $entity: String!) { project(name: $project, entityName: $entity) { runCount runs { edges { node { name } } } } }";

    [Fact]
    public async Task DeleteRun_hides_the_run_from_every_read_keeps_its_data_and_refuses_its_id()
    {
        var (user, key) = await host.NewUserAsync();
        var created = await host.DataAsync(key, WandbDocuments.UpsertBucket, new { entity = user, name = "gone", project = "del" });
        await host.DataAsync(key, WandbDocuments.UpsertBucket, new { entity = user, name = "kept", project = "del" });
        var (status, _) = await host.FileStreamAsync(key, user, "del", "gone", History(0, 0, 1, 2));
        Assert.Equal(200, status);
        var id = created["upsertBucket"]!["bucket"]!["id"]!.GetValue<string>();

        var deleted = await host.DataAsync(key, DeleteRun, new { id });
        Assert.NotNull(deleted["deleteRun"]);

        var run = await host.DataAsync(key, WandbDocuments.Run, new { project = "del", entity = user, name = "gone" });
        Assert.Null(run["project"]!["run"]);
        var resume = await host.DataAsync(key, WandbDocuments.RunResumeStatus, new { project = "del", entity = user, name = "gone" });
        Assert.Null(resume["model"]!["bucket"]);
        var listing = await host.DataAsync(key, Runs, new { project = "del", entity = user });
        Assert.Equal(1, listing["project"]!["runCount"]!.GetValue<int>());
        Assert.Equal(["kept"], listing["project"]!["runs"]!["edges"]!.AsArray().Select(e => e!["node"]!["name"]!.GetValue<string>()));

        // Writes to the deleted run are refused: file_stream 404, upsertBucket of its id a conflict, deleting again not found.
        var (streamStatus, _) = await host.FileStreamAsync(key, user, "del", "gone", History(3, 3));
        Assert.Equal(404, streamStatus);
        var (_, reuse) = await host.GraphQLAsync(key, WandbDocuments.UpsertBucket, new { entity = user, name = "gone", project = "del" });
        Assert.Equal("CONFLICT", reuse["errors"]![0]!["extensions"]!["code"]!.GetValue<string>());
        var (_, again) = await host.GraphQLAsync(key, DeleteRun, new { id });
        Assert.Equal("NOT_FOUND", again["errors"]![0]!["extensions"]!["code"]!.GetValue<string>());

        // Soft delete: the row and its history counters are still stored.
        var storage = host.Services.GetRequiredService<Weightless.Core.Storage.StorageAccount>();
        var table = await storage.TableAsync(RunService.RunsTable);
        var row = await table.GetAsync<RunRow>(RunService.PartitionOf(user, "del"), "gone", CancellationToken.None);
        Assert.NotNull(row);
        Assert.NotNull(row!.DeletedAt);
        Assert.Equal(3, row.HistoryLineCount);
    }

    [Fact]
    public async Task UpdateRunState_sets_a_known_state_and_refuses_an_unknown_one()
    {
        var (user, key) = await host.NewUserAsync();
        var created = await host.DataAsync(key, WandbDocuments.UpsertBucket, new { entity = user, name = "st", project = "states" });
        var id = created["upsertBucket"]!["bucket"]!["id"]!.GetValue<string>();

        var updated = await host.DataAsync(key, UpdateRunState, new { id, state = "failed" });
        Assert.True(updated["updateRunState"]!["success"]!.GetValue<bool>());
        Assert.Equal("failed", await StateAsync(key, user, "states", "st"));

        var (status, bad) = await host.GraphQLAsync(key, UpdateRunState, new { id, state = "exploded" });
        Assert.Equal(200, status);
        Assert.Equal("BAD_USER_INPUT", bad["errors"]![0]!["extensions"]!["code"]!.GetValue<string>());
        Assert.Equal("failed", await StateAsync(key, user, "states", "st"));

        var (other, otherKey) = await host.NewUserAsync();
        var (_, foreign) = await host.GraphQLAsync(otherKey, UpdateRunState, new { id, state = "running" });
        Assert.NotNull(foreign["errors"]);
        Assert.NotEqual(user, other);
        Assert.Equal("failed", await StateAsync(key, user, "states", "st"));
    }

    [Fact]
    public async Task A_finished_run_resumed_runs_again_and_appends_at_historyLineCount_without_duplicates()
    {
        var (user, key) = await host.NewUserAsync();
        await host.DataAsync(key, WandbDocuments.UpsertBucket, new { entity = user, name = "r1", project = "resume" });
        Assert.Equal(200, (await host.FileStreamAsync(key, user, "resume", "r1", History(0, 0, 1, 2))).Status);
        Assert.Equal(200, (await host.FileStreamAsync(key, user, "resume", "r1", new { complete = true, exitcode = 0 })).Status);
        Assert.Equal("finished", await StateAsync(key, user, "resume", "r1"));

        // The client asks RunResumeStatus, then upserts the run by name (which alone leaves the state:
        // the JS SDK upserts after finishing), then streams: the first data makes it running again.
        var status = await host.DataAsync(key, WandbDocuments.RunResumeStatus, new { project = "resume", entity = user, name = "r1" });
        var offset = status["model"]!["bucket"]!["historyLineCount"]!.GetValue<int>();
        Assert.Equal(3, offset);
        var resumed = await host.DataAsync(key, WandbDocuments.UpsertBucket, new { entity = user, name = "r1", project = "resume" });
        Assert.False(resumed["upsertBucket"]!["inserted"]!.GetValue<bool>());
        Assert.Equal(3, resumed["upsertBucket"]!["bucket"]!["historyLineCount"]!.GetValue<int>());
        Assert.Equal("finished", await StateAsync(key, user, "resume", "r1"));

        // Continues at the offset; a retried post of the same lines (and a re-send of old ones) duplicates nothing.
        Assert.Equal(200, (await host.FileStreamAsync(key, user, "resume", "r1", History(offset, 3, 4))).Status);
        Assert.Equal(200, (await host.FileStreamAsync(key, user, "resume", "r1", History(offset, 3, 4))).Status);
        Assert.Equal(200, (await host.FileStreamAsync(key, user, "resume", "r1", History(1, 1, 2))).Status);
        var run = await host.DataAsync(key, WandbDocuments.Run, new { project = "resume", entity = user, name = "r1" });
        Assert.Equal(5, run["project"]!["run"]!["historyLineCount"]!.GetValue<int>());
        Assert.Equal("running", run["project"]!["run"]!["state"]!.GetValue<string>());

        const string FullHistory = "query H($project: String!, $entity: String!, $name: String!) { project(name: $project, entityName: $entity) { run(name: $name) { history(samples: 100) } } }";
        var history = await host.DataAsync(key, FullHistory, new { project = "resume", entity = user, name = "r1" });
        var steps = history["project"]!["run"]!["history"]!.AsArray().Select(line => JsonNode.Parse(line!.GetValue<string>())!["_step"]!.GetValue<int>()).ToList();
        Assert.Equal([0, 1, 2, 3, 4], steps);

        Assert.Equal(200, (await host.FileStreamAsync(key, user, "resume", "r1", new { complete = true, exitcode = 0 })).Status);
        Assert.Equal("finished", await StateAsync(key, user, "resume", "r1"));
    }

    private async Task<string> StateAsync(string key, string entity, string project, string name)
    {
        var run = await host.DataAsync(key, WandbDocuments.Run, new { project, entity, name });
        return run["project"]!["run"]!["state"]!.GetValue<string>();
    }

    private static object History(int offset, params int[] steps) => new
    {
        files = new Dictionary<string, object>
        {
            ["wandb-history.jsonl"] = new { offset, content = steps.Select(s => $"{{\"_step\":{s},\"loss\":{s * 0.5}}}").ToArray() },
        },
    };
}
