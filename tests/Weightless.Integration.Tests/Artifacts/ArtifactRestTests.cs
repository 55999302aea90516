using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Weightless.Integration.Tests.Artifacts;

/// <summary>The REST API over artifacts: listings, edits, aliases, soft delete/restore and the lineage graph.</summary>
public sealed class ArtifactRestTests(ArtifactTestHost host) : IClassFixture<ArtifactTestHost>
{
    private static Dictionary<string, byte[]> File(string text) => new() { ["data.txt"] = Encoding.UTF8.GetBytes(text) };

    private async Task UseAsync(WandbArtifactClient client, string run, string id) =>
        await client.DataAsync(PythonDocuments.UseArtifact, new { entityName = client.Entity, projectName = client.Project, runName = run, artifactID = id, usedAs = (string?)null });

    [Fact]
    public async Task Lineage_of_a_chain_of_five_runs_is_walked_both_ways_to_any_depth_and_survives_a_cycle()
    {
        var client = await WandbArtifactClient.NewUserAsync(host);
        var ids = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            await client.CreateRunAsync($"step{i}");
            if (i > 0)
            {
                await UseAsync(client, $"step{i}", ids[i - 1]);
            }
            ids.Add((await client.LogAsync($"step{i}", $"chain{i}", File($"stage {i}\n"))).Id);
        }
        var http = await client.RestAsync();
        var basePath = $"/api/v1/entities/{client.Entity}/projects/{client.Project}";

        var downstream = await http.GetFromJsonAsync<JsonElement>($"{basePath}/artifacts/chain0/versions/v0/lineage?direction=downstream&depth=100");
        Assert.Equal(9, downstream.GetProperty("nodes").GetArrayLength());
        Assert.Equal(8, downstream.GetProperty("edges").GetArrayLength());
        var upstreamOne = await http.GetFromJsonAsync<JsonElement>($"{basePath}/artifacts/chain4/versions/latest/lineage?direction=upstream&depth=2");
        Assert.Equal(["artifact", "artifact", "run"], upstreamOne.GetProperty("nodes").EnumerateArray().Select(n => n.GetProperty("kind").GetString()).Order());
        var fromRun = await http.GetFromJsonAsync<JsonElement>($"{basePath}/runs/step2/artifact-lineage?direction=both&depth=100");
        Assert.Equal(10, fromRun.GetProperty("nodes").GetArrayLength());

        // Close the loop: the first run also uses the last artifact. The walk still ends.
        await UseAsync(client, "step0", ids[4]);
        var cyclic = await http.GetFromJsonAsync<JsonElement>($"{basePath}/artifacts/chain0/versions/v0/lineage?direction=downstream&depth=100");
        Assert.Equal(10, cyclic.GetProperty("nodes").GetArrayLength());
        Assert.Equal(10, cyclic.GetProperty("edges").GetArrayLength());

        var bad = await http.GetAsync($"{basePath}/artifacts/chain0/versions/v0/lineage?direction=sideways");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
    }

    [Fact]
    public async Task Versions_are_listed_edited_aliased_soft_deleted_and_restored()
    {
        var client = await WandbArtifactClient.NewUserAsync(host);
        await client.CreateRunAsync("r1");
        await client.LogAsync("r1", "ds", File("one\n"));
        await client.LogAsync("r1", "ds", File("two\n"));
        var http = await client.RestAsync();
        var basePath = $"/api/v1/entities/{client.Entity}/projects/{client.Project}/artifacts";

        var collections = await http.GetFromJsonAsync<JsonElement>(basePath);
        var ds = Assert.Single(collections.EnumerateArray());
        Assert.Equal(("ds", "dataset", "v1", 2), (ds.GetProperty("name").GetString(), ds.GetProperty("type").GetString(), ds.GetProperty("latestVersion").GetString(), ds.GetProperty("versionCount").GetInt32()));

        var detail = await http.GetFromJsonAsync<JsonElement>($"{basePath}/ds/versions/v0");
        Assert.Equal("v0", detail.GetProperty("version").GetProperty("version").GetString());
        var file = Assert.Single(detail.GetProperty("files").EnumerateArray());
        Assert.Equal("one\n", await host.Storage.GetStringAsync(file.GetProperty("downloadUrl").GetString()!));

        var edited = await http.PatchAsJsonAsync($"{basePath}/ds/versions/v0", new { description = "first cut", metadata = new { rows = 2 }, tags = new[] { "golden" } });
        Assert.Equal(HttpStatusCode.OK, edited.StatusCode);
        var version = await edited.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("first cut", version.GetProperty("description").GetString());
        Assert.Equal(2, version.GetProperty("metadata").GetProperty("rows").GetInt32());
        Assert.Equal(["golden"], version.GetProperty("tags").EnumerateArray().Select(t => t.GetString()));

        var aliased = await http.PutAsJsonAsync($"{basePath}/ds/aliases/production", new { version = "v0" });
        Assert.Equal(HttpStatusCode.OK, aliased.StatusCode);
        Assert.Equal(["production"], (await aliased.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("aliases").EnumerateArray().Select(a => a.GetString()));
        Assert.Equal(HttpStatusCode.BadRequest, (await http.PutAsJsonAsync($"{basePath}/ds/aliases/latest", new { version = "v0" })).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await http.DeleteAsync($"{basePath}/ds/aliases/production")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.DeleteAsync($"{basePath}/ds/aliases/production")).StatusCode);

        // Soft delete of the newest version: latest falls back to v0; restore brings it back.
        Assert.Equal("DELETED", (await (await http.DeleteAsync($"{basePath}/ds/versions/v1")).Content.ReadFromJsonAsync<JsonElement>()).GetProperty("state").GetString());
        Assert.Equal(0, (await client.ByNameAsync("ds:latest"))!.Value.GetProperty("versionIndex").GetInt32());
        Assert.Null(await client.ByNameAsync("ds:v1"));
        Assert.Single((await http.GetFromJsonAsync<JsonElement>($"{basePath}/ds/versions")).EnumerateArray());
        Assert.Equal(2, (await http.GetFromJsonAsync<JsonElement>($"{basePath}/ds/versions?includeDeleted=true")).GetArrayLength());
        var restored = await http.PostAsync($"{basePath}/ds/versions/v1/restore", null);
        Assert.Equal("COMMITTED", (await restored.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("state").GetString());
        Assert.Equal(1, (await client.ByNameAsync("ds:latest"))!.Value.GetProperty("versionIndex").GetInt32());

        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync($"{basePath}/nope/versions/v0")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await http.PatchAsJsonAsync($"{basePath}/ds/versions/v0", new { metadata = new[] { 1 } })).StatusCode);
        var stranger = await WandbArtifactClient.NewUserAsync(host);
        Assert.Equal(HttpStatusCode.NotFound, (await (await stranger.RestAsync()).GetAsync($"{basePath}/ds/versions/v0")).StatusCode);
    }
}
