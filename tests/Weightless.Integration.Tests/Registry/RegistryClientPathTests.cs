using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Weightless.Core.Artifacts;
using Weightless.Integration.Tests.Artifacts;

namespace Weightless.Integration.Tests.Registry;

/// <summary>What the W&amp;B clients send for registry paths, and search and filters over REST.</summary>
public sealed class RegistryClientPathTests(ArtifactTestHost host) : IClassFixture<ArtifactTestHost>
{
    private const string FetchOrgEntityFromEntity = """
        query FetchOrgEntityFromEntity($entityName: String!) {
          entity(name: $entityName) {
            organization { name orgEntity { name } }
            user { organizations { name orgEntity { name } } }
          }
        }
        """;

    [Fact]
    public async Task A_version_linked_with_a_personal_entity_is_found_by_its_registry_path_with_its_own_numbering()
    {
        var world = await RegistryWorld.CreateAsync(host, "models");
        var owner = world.Users["owner"];
        var first = await world.LogAsync("trained", "weights 1");
        var second = await world.LogAsync("trained", "weights 2");

        // Clients before 0.18 send the run's (personal) entity; it means the user's only organization.
        var linked = await RegistryWorld.LinkAsync(owner.Http, second, owner.Name, "wandb-registry-models", "classifier", "candidate");
        Assert.False(linked.TryGetProperty("errors", out var errors), errors.ToString());
        Assert.Equal(0, linked.GetProperty("data").GetProperty("linkArtifact").GetProperty("versionIndex").GetInt32());
        linked = await RegistryWorld.LinkAsync(owner.Http, first, world.Org, "wandb-registry-models", "classifier");
        Assert.Equal(1, linked.GetProperty("data").GetProperty("linkArtifact").GetProperty("versionIndex").GetInt32());

        // use_artifact("wandb-registry-models/classifier:candidate"): project(entityName: <personal>, name: wandb-registry-models).
        var client = new WandbArtifactClient(host, owner.Http, owner.Name, "wandb-registry-models");
        var found = (await client.ByNameAsync("classifier:candidate"))!.Value;
        Assert.Equal(second, found.GetProperty("id").GetString());
        var registryAliases = found.GetProperty("aliases").EnumerateArray()
            .Where(a => a.GetProperty("artifactCollection").GetProperty("project").GetProperty("name").GetString() == "wandb-registry-models")
            .Select(a => (a.GetProperty("artifactCollection").GetProperty("project").GetProperty("entityName").GetString(), a.GetProperty("alias").GetString()))
            .ToList();
        Assert.Equal([(world.Org, "v0"), (world.Org, "candidate")], registryAliases);
        var latest = (await new WandbArtifactClient(host, owner.Http, world.Org, "wandb-registry-models").ByNameAsync("classifier:latest"))!.Value;
        Assert.Equal(first, latest.GetProperty("id").GetString());
        // The source stays where it is, with its own numbering.
        Assert.Equal(1, (await world.OwnerArtifacts.ByNameAsync("trained:latest"))!.Value.GetProperty("versionIndex").GetInt32());

        // Newer clients resolve the organization first.
        var orgs = await client.DataAsync(FetchOrgEntityFromEntity, new { entityName = owner.Name });
        Assert.Equal(world.Org, orgs.GetProperty("entity").GetProperty("user").GetProperty("organizations")[0].GetProperty("orgEntity").GetProperty("name").GetString());
        var team = await client.DataAsync(FetchOrgEntityFromEntity, new { entityName = world.Org });
        Assert.Equal(world.Org, team.GetProperty("entity").GetProperty("organization").GetProperty("orgEntity").GetProperty("name").GetString());

        // Uninvited members of the organization cannot read a restricted registry's path.
        var outsider = world.Users["outsider"];
        var hidden = await new WandbArtifactClient(host, outsider.Http, world.Org, "wandb-registry-models").ErrorAsync(PythonDocuments.ArtifactByName, new { entityName = world.Org, projectName = "wandb-registry-models", name = "classifier:latest" });
        Assert.Contains("not found", hidden, StringComparison.OrdinalIgnoreCase);
        var collectionId = (await client.DataAsync("query C($entityName: String!, $name: String!) { project(name: \"wandb-registry-models\", entityName: $entityName) { artifactCollection(name: $name) { id } } }", new { entityName = world.Org, name = "classifier" }))
            .GetProperty("project").GetProperty("artifactCollection").GetProperty("id").GetString();
        var byId = await new WandbArtifactClient(host, outsider.Http, world.Org, "proj").ErrorAsync("query C($id: ID!) { artifactCollection(id: $id) { name } }", new { id = collectionId });
        Assert.Contains("not found", byId, StringComparison.OrdinalIgnoreCase);

        // Linking publishes LINK_ARTIFACT and ADD_ARTIFACT_ALIAS for the registry collection.
        Assert.Contains(host.Sink.Events, e => e.Type == ArtifactEventTypes.LinkArtifact && e.Entity == world.Org && e.Project == "wandb-registry-models" && e.Collection == "classifier" && e.Version == "v0");
        Assert.Contains(host.Sink.Events, e => e.Type == ArtifactEventTypes.AddArtifactAlias && e.Entity == world.Org && e.Collection == "classifier" && e.Alias == "candidate");
    }

    [Fact]
    public async Task Linking_refuses_types_the_registry_does_not_accept_and_personal_artifacts()
    {
        var world = await RegistryWorld.CreateAsync(host, "typed");
        await world.ExpectAsync(HttpStatusCode.OK, world.Owner.PatchAsJsonAsync($"/api/v1/orgs/{world.Org}/registries/typed", new { artifactTypes = new[] { "model" } }));
        var dataset = await world.LogAsync("data", "rows");
        var refused = await RegistryWorld.LinkAsync(world.Owner, dataset, world.Org, "wandb-registry-typed", "c");
        Assert.Contains("accepts artifact types", refused.GetProperty("errors")[0].GetProperty("message").GetString());

        var personal = WandbArtifactClient.NewUserAsync(host);
        var user = await personal;
        await user.CreateRunAsync("r1");
        var mine = await user.LogAsync("r1", "mine", new Dictionary<string, byte[]> { ["a.txt"] = [1, 2, 3] });
        var linked = await RegistryWorld.LinkAsync(world.Owner, mine.Id, world.Org, "wandb-registry-model", "c");
        Assert.True(linked.TryGetProperty("errors", out _));
    }

    [Fact]
    public async Task The_legacy_model_registry_path_resolves_and_honours_the_model_registry_protected_aliases()
    {
        var world = await RegistryWorld.CreateAsync(host, "unused");
        var id = await world.LogAsync("trained", "legacy weights");
        await world.ExpectAsync(HttpStatusCode.OK, world.Owner.PutAsJsonAsync($"/api/v1/orgs/{world.Org}/registries/model/protected-aliases", new { aliases = new[] { "production" } }));
        var linked = await RegistryWorld.LinkAsync(world.Owner, id, world.Org, "model-registry", "mnist", "production");
        Assert.False(linked.TryGetProperty("errors", out var errors), errors.ToString());
        var found = (await new WandbArtifactClient(host, world.Owner, world.Org, "model-registry").ByNameAsync("mnist:production"))!.Value;
        Assert.Equal(id, found.GetProperty("id").GetString());

        // A plain organization member views the model registry but may not move its protected alias.
        var member = world.Users["member"].Http;
        Assert.NotNull(await new WandbArtifactClient(host, member, world.Org, "model-registry").ByNameAsync("mnist:v0"));
        var refused = await RegistryWorld.LinkAsync(member, id, world.Org, "model-registry", "mnist", "production");
        Assert.True(refused.TryGetProperty("errors", out _));
        // As in the legacy registry, team members add models and ordinary aliases.
        var added = await RegistryWorld.LinkAsync(member, id, world.Org, "model-registry", "mnist-copy", "candidate");
        Assert.False(added.TryGetProperty("errors", out errors), errors.ToString());
        // In a wandb-registry-* project the same member is only a viewer until invited.
        var viewerOnly = await RegistryWorld.LinkAsync(member, id, world.Org, "wandb-registry-model", "mnist");
        Assert.Equal("FORBIDDEN", viewerOnly.GetProperty("errors")[0].GetProperty("extensions").GetProperty("code").GetString());
    }

    [Fact]
    public async Task Collections_and_versions_are_searched_and_filtered_by_name_tag_alias_type_and_metadata()
    {
        var world = await RegistryWorld.CreateAsync(host, "search", visibility: "organization");
        var registry = $"/api/v1/orgs/{world.Org}/registries/search";
        await world.ExpectAsync(HttpStatusCode.Created, world.Owner.PostAsJsonAsync(registry + "/collections", new { name = "churn-features", type = "dataset", description = "Features", tags = new[] { "tabular" } }));
        await world.ExpectAsync(HttpStatusCode.Created, world.Owner.PostAsJsonAsync(registry + "/collections", new { name = "images", type = "model", tags = new[] { "vision" } }));
        await world.ExpectAsync(HttpStatusCode.BadRequest, world.Owner.PostAsJsonAsync(registry + "/collections", new { name = "code", type = "code" }));
        var a = await world.LogAsync("features", "a");
        await world.LogAsync("features", "b");
        await world.ExpectAsync(HttpStatusCode.Created, world.Owner.PostAsJsonAsync(registry + "/collections/churn-features/versions", new { artifactId = a }));
        await world.ExpectAsync(HttpStatusCode.Created, world.Owner.PostAsJsonAsync(registry + "/collections/churn-features/versions", new { entity = world.Org, project = "proj", artifact = "features:v1", aliases = new[] { "golden" } }));
        await world.ExpectAsync(HttpStatusCode.OK, world.Owner.PatchAsJsonAsync($"/api/v1/entities/{world.Org}/projects/proj/artifacts/features/versions/v1", new { tags = new[] { "reviewed" }, metadata = new { split = "train" } }));

        var byTag = await world.ExpectAsync(HttpStatusCode.OK, world.Owner.GetAsync(registry + "/collections?tag=vision"));
        Assert.Equal(["images"], byTag.EnumerateArray().Select(c => c.GetProperty("name").GetString()));
        var byType = await world.ExpectAsync(HttpStatusCode.OK, world.Owner.GetAsync(registry + "/collections?type=dataset"));
        Assert.Equal(["churn-features"], byType.EnumerateArray().Select(c => c.GetProperty("name").GetString()));
        var byName = await world.ExpectAsync(HttpStatusCode.OK, world.Owner.GetAsync(registry + "/collections?q=CHURN"));
        Assert.Single(byName.EnumerateArray());

        var versions = registry + "/collections/churn-features/versions";
        Assert.Equal(["v1"], (await world.ExpectAsync(HttpStatusCode.OK, world.Owner.GetAsync(versions + "?alias=golden"))).EnumerateArray().Select(v => v.GetProperty("version").GetString()));
        Assert.Equal(["v1"], (await world.ExpectAsync(HttpStatusCode.OK, world.Owner.GetAsync(versions + "?tag=reviewed"))).EnumerateArray().Select(v => v.GetProperty("version").GetString()));
        Assert.Equal(["v1"], (await world.ExpectAsync(HttpStatusCode.OK, world.Owner.GetAsync(versions + "?metadata.split=train"))).EnumerateArray().Select(v => v.GetProperty("version").GetString()));
        Assert.Equal(2, (await world.ExpectAsync(HttpStatusCode.OK, world.Owner.GetAsync(versions))).GetArrayLength());

        var search = await world.ExpectAsync(HttpStatusCode.OK, world.Users["outsider"].Http.GetAsync($"/api/v1/orgs/{world.Org}/registry-search?q=golden"));
        var hit = Assert.Single(search.GetProperty("versions").EnumerateArray());
        Assert.Equal($"{world.Org}/wandb-registry-search/churn-features:v1", hit.GetProperty("path").GetString());
        var bySearchTag = await world.ExpectAsync(HttpStatusCode.OK, world.Owner.GetAsync($"/api/v1/orgs/{world.Org}/registry-search?q=tabular"));
        Assert.Equal(["churn-features"], bySearchTag.GetProperty("collections").EnumerateArray().Select(c => c.GetProperty("name").GetString()));
        // A restricted registry's contents stay out of the search of those not invited.
        await world.ExpectAsync(HttpStatusCode.Created, world.Owner.PostAsJsonAsync($"/api/v1/orgs/{world.Org}/registries", new { name = "hidden", visibility = "restricted" }));
        var restricted = await world.ExpectAsync(HttpStatusCode.OK, world.Users["outsider"].Http.GetAsync($"/api/v1/orgs/{world.Org}/registry-search?q=hidden"));
        Assert.Empty(restricted.GetProperty("registries").EnumerateArray());

        // Unlinking removes the version from the collection only; latest falls back.
        await world.ExpectAsync(HttpStatusCode.NoContent, world.Owner.DeleteAsync(versions + "/v1"));
        var remaining = await world.ExpectAsync(HttpStatusCode.OK, world.Owner.GetAsync(versions));
        var only = Assert.Single(remaining.EnumerateArray());
        Assert.Equal(["latest"], only.GetProperty("aliases").EnumerateArray().Select(x => x.GetString()));
        Assert.NotNull(await world.OwnerArtifacts.ByNameAsync("features:v1"));

        // Deleting the collection removes it from listings.
        await world.ExpectAsync(HttpStatusCode.NoContent, world.Owner.DeleteAsync(registry + "/collections/churn-features"));
        await world.ExpectAsync(HttpStatusCode.NotFound, world.Owner.GetAsync(registry + "/collections/churn-features"));
    }
}
