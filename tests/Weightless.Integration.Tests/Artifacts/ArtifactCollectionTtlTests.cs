using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Weightless.Core.Artifacts;

namespace Weightless.Integration.Tests.Artifacts;

/// <summary>
/// A collection's default TTL: versions logged without one inherit it (<c>ttlIsInherited</c>), an
/// explicit version TTL (or -2, never) overrides it, -1 returns a version to inheriting (the Python
/// client's sentinels), changing the collection's TTL moves every inheriting version, and the timer
/// expires inherited TTLs exactly as explicit ones. Its own fixture (own tables), so the expiry
/// counts are this test's alone.
/// </summary>
public sealed class ArtifactCollectionTtlTests(ArtifactTestHost host) : IClassFixture<ArtifactTestHost>
{
    // wandb/sdk/artifacts/_generated/operations.py UPDATE_ARTIFACT_SEQUENCE_GQL (wandb 0.22, ArtifactCollection.save()).
    private const string UpdateArtifactSequence = """
        mutation UpdateArtifactSequence($input: UpdateArtifactSequenceInput!) {
          result: updateArtifactSequence(input: $input) {
            artifactCollection {
              __typename
              ...ArtifactCollectionFragment
            }
          }
        }

        fragment ArtifactCollectionFragment on ArtifactCollection {
          __typename
          id
          name
          description
          createdAt
          project {
            ...ProjectInfoFragment
          }
          type: defaultArtifactType {
            name
          }
          tags {
            edges {
              node {
                ...TagFragment
              }
            }
          }
        }

        fragment ProjectInfoFragment on Project {
          name
          entity {
            name
          }
        }

        fragment TagFragment on Tag {
          __typename
          id
          name
        }
        """;

    // wandb/sdk/artifacts/_generated/operations.py UPDATE_ARTIFACT_GQL (wandb 0.22, Artifact.save() after `artifact.ttl = ...`), trimmed to the TTL fields.
    private const string UpdateArtifact = """
        mutation UpdateArtifact($input: UpdateArtifactInput!) {
          result: updateArtifact(input: $input) {
            artifact {
              id
              ttlDurationSeconds
              ttlIsInherited
            }
          }
        }
        """;

    private const string Sequence = """
        query Sequence($entityName: String!, $projectName: String!, $name: String!) {
          project(name: $projectName, entityName: $entityName) {
            artifact(name: $name) {
              artifactSequence { id name ttlDurationSeconds }
            }
          }
        }
        """;

    private static Dictionary<string, byte[]> File(string text) => new(StringComparer.Ordinal) { ["data.txt"] = Encoding.UTF8.GetBytes(text) };

    private static async Task<string> LogWithTtlAsync(WandbArtifactClient client, string text, long ttl)
    {
        var files = File(text);
        var (id, _, edges) = await client.CreateAsync("r1", "ds", "dataset", files, [], ttlDurationSeconds: ttl);
        await client.UploadAsync("r1", id, files, edges);
        await client.CommitAsync(id);
        return id;
    }

    private static async Task<(long Ttl, bool Inherited)> TtlAsync(WandbArtifactClient client, string name)
    {
        var artifact = (await client.ByNameAsync(name))!.Value;
        return (artifact.GetProperty("ttlDurationSeconds").GetInt64(), artifact.GetProperty("ttlIsInherited").GetBoolean());
    }

    [Fact]
    public async Task Versions_inherit_the_collection_ttl_until_they_set_their_own_and_expire_by_it()
    {
        var client = await WandbArtifactClient.NewUserAsync(host);
        await client.CreateRunAsync("r1");
        var expiry = host.App.Services.GetRequiredService<ArtifactService>();

        // v0 inherits (nothing set anywhere: -2, the clients' "no TTL"); v1 never expires (-2); v2 has its own day.
        await client.LogAsync("r1", "ds", File("v0 inherits\n"));
        await LogWithTtlAsync(client, "v1 never expires\n", -2);
        var ownDay = await LogWithTtlAsync(client, "v2 has its own TTL\n", 86_400);
        Assert.Equal((-2L, true), await TtlAsync(client, "ds:v0"));
        Assert.Equal((-2L, false), await TtlAsync(client, "ds:v1"));
        Assert.Equal((86_400L, false), await TtlAsync(client, "ds:v2"));

        // ArtifactCollection.save() with this server's ttlDurationSeconds: v0 now answers the collection's hour.
        var sequence = (await client.DataAsync(Sequence, new { entityName = client.Entity, projectName = client.Project, name = "ds:v0" })).GetProperty("project").GetProperty("artifact").GetProperty("artifactSequence");
        Assert.Equal(-2, sequence.GetProperty("ttlDurationSeconds").GetInt64());
        var saved = await client.DataAsync(UpdateArtifactSequence, new { input = new { artifactSequenceID = sequence.GetProperty("id").GetString(), name = "ds", description = "hourly", ttlDurationSeconds = 3600 } });
        Assert.Equal("hourly", saved.GetProperty("result").GetProperty("artifactCollection").GetProperty("description").GetString());
        Assert.Equal((3600L, true), await TtlAsync(client, "ds:v0"));
        Assert.Equal((-2L, false), await TtlAsync(client, "ds:v1"));
        Assert.Equal((86_400L, false), await TtlAsync(client, "ds:v2"));
        Assert.Equal(new ExpiryResult(0, 0, 0), await expiry.ExpireDueVersionsAsync(CancellationToken.None));

        // REST: the collection's TTL drops to 0 and lists with it; a version logged afterwards inherits it too.
        var rest = await client.RestAsync();
        var collectionPath = $"/api/v1/entities/{client.Entity}/projects/{client.Project}/artifacts/ds";
        var patched = await rest.PatchAsJsonAsync(collectionPath, new { ttlDurationSeconds = 0 });
        Assert.Equal(HttpStatusCode.OK, patched.StatusCode);
        Assert.Equal(0, (await patched.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("ttlDurationSeconds").GetInt64());
        var listed = await rest.GetFromJsonAsync<JsonElement>($"/api/v1/entities/{client.Entity}/projects/{client.Project}/artifacts");
        Assert.Equal(0, listed.EnumerateArray().Single(c => c.GetProperty("name").GetString() == "ds").GetProperty("ttlDurationSeconds").GetInt64());
        await client.LogAsync("r1", "ds", File("v3 logged after the change\n"));
        Assert.Equal((0L, true), await TtlAsync(client, "ds:v3"));
        // The REST versions show the TTL that applies: the collection's for inheriting ones, their own otherwise.
        var versions = (await rest.GetFromJsonAsync<JsonElement>(collectionPath + "/versions")).EnumerateArray()
            .ToDictionary(v => v.GetProperty("version").GetString()!, v => (v.GetProperty("ttlDurationSeconds").ValueKind == JsonValueKind.Null ? (long?)null : v.GetProperty("ttlDurationSeconds").GetInt64(), v.GetProperty("ttlIsInherited").GetBoolean()));
        Assert.Equal((0L, true), versions["v3"]);
        Assert.Equal((null, false), versions["v1"]);
        Assert.Equal((86_400L, false), versions["v2"]);

        // artifact.ttl = ArtifactTTL.INHERIT; artifact.save(): the client sends -1 and v2 follows the collection again.
        var reverted = await client.DataAsync(UpdateArtifact, new { input = new { artifactID = ownDay, ttlDurationSeconds = -1 } });
        Assert.Equal(0, reverted.GetProperty("result").GetProperty("artifact").GetProperty("ttlDurationSeconds").GetInt64());
        Assert.True(reverted.GetProperty("result").GetProperty("artifact").GetProperty("ttlIsInherited").GetBoolean());

        // The timer expires the three inheriting versions (their blobs are theirs alone); v1, which never expires, stays.
        Assert.Equal(new ExpiryResult(3, 3, 0), await expiry.ExpireDueVersionsAsync(CancellationToken.None));
        Assert.Null(await client.ByNameAsync("ds:v0"));
        Assert.Null(await client.ByNameAsync("ds:v2"));
        Assert.Null(await client.ByNameAsync("ds:v3"));
        Assert.Equal((-2L, false), await TtlAsync(client, "ds:v1"));

        // Bad input is a 4xx naming the field; a missing collection is a 404.
        var bad = await rest.PatchAsJsonAsync(collectionPath, new { ttlDurationSeconds = -5 });
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("ttlDurationSeconds", await bad.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await rest.PatchAsJsonAsync(collectionPath + "-missing", new { ttlDurationSeconds = 60 })).StatusCode);
        Assert.Contains("rename", await client.ErrorAsync(UpdateArtifactSequence, new { input = new { artifactSequenceID = sequence.GetProperty("id").GetString(), name = "renamed" } }), StringComparison.OrdinalIgnoreCase);
    }
}
