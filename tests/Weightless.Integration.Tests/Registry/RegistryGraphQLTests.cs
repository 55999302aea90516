using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Weightless.Integration.Tests.Artifacts;

namespace Weightless.Integration.Tests.Registry;

/// <summary>
/// The Python client's registry API (<c>wandb.Api().registries()/registry()/create_registry()</c>,
/// <c>Registry.save()/delete()/collections()/versions()</c>) through its exact GraphQL documents.
/// </summary>
public sealed class RegistryGraphQLTests(ArtifactTestHost host) : IClassFixture<ArtifactTestHost>
{
    // wandb/apis/public/registries/_utils.py (wandb 0.19–0.22): fetch_org_entity_from_organization.
    private const string FetchOrgEntityFromOrganization = """
        query FetchOrgEntityFromOrganization($organization: String!) {
            organization(name: $organization) {
                    orgEntity {
                        name
                    }
                }
            }
        """;

    private const string RegistryFragment = """

        fragment RegistryFragment on Project {
          id
          allowAllArtifactTypesInRegistry
          artifactTypes(includeAll: true) {
            edges {
              node {
                name
              }
            }
          }
          name
          description
          createdAt
          updatedAt
          access
        }
        """;

    // wandb/sdk/artifacts/_generated/operations.py FETCH_REGISTRIES_GQL (wandb 0.21/0.22).
    private const string FetchRegistries = """
        query FetchRegistries($organization: String!, $filters: JSONString, $cursor: String, $perPage: Int) {
          organization(name: $organization) {
            orgEntity {
              name
              projects(filters: $filters, after: $cursor, first: $perPage) {
                ...RegistriesPage
              }
            }
          }
        }

        fragment RegistriesPage on ProjectConnection {
          pageInfo {
            endCursor
            hasNextPage
          }
          edges {
            node {
              ...RegistryFragment
            }
          }
        }
        """ + RegistryFragment;

    // wandb/sdk/projects/_generated/operations.py FETCH_REGISTRY_GQL (wandb 0.21/0.22).
    private const string FetchRegistry = """
        query FetchRegistry($name: String, $entityName: String) {
          entity(name: $entityName) {
            project(name: $name) {
              ...RegistryFragment
            }
          }
        }
        """ + RegistryFragment;

    // wandb/sdk/projects/_generated/operations.py UPSERT_REGISTRY_PROJECT_GQL (wandb 0.21/0.22): create_registry() and Registry.save().
    private const string UpsertRegistryProject = """
        mutation UpsertRegistryProject($description: String, $entityName: String, $name: String, $access: String, $allowAllArtifactTypesInRegistry: Boolean, $artifactTypes: [ArtifactTypeInput!]) {
          upsertModel(
            input: {description: $description, entityName: $entityName, name: $name, access: $access, allowAllArtifactTypesInRegistry: $allowAllArtifactTypesInRegistry, artifactTypes: $artifactTypes}
          ) {
            project {
              ...RegistryFragment
            }
            inserted
          }
        }
        """ + RegistryFragment;

    // wandb/sdk/projects/_generated/operations.py RENAME_PROJECT_GQL (wandb 0.21/0.22): Registry.save() after a rename.
    private const string RenameProject = """
        mutation renameProject($entityName: String!, $oldProjectName: String!, $newProjectName: String!) {
          renameProject(
            input: {entityName: $entityName, oldProjectName: $oldProjectName, newProjectName: $newProjectName}
          ) {
            project {
              name
            }
            inserted
          }
        }
        """;

    // wandb/sdk/projects/_generated/operations.py DELETE_PROJECT_GQL (wandb 0.21/0.22): Registry.delete().
    private const string DeleteProject = """
        mutation deleteProject($id: String!) {
          deleteModel(input: {id: $id}) {
            success
            __typename
          }
        }
        """;

    // wandb/sdk/artifacts/_generated/operations.py REGISTRY_COLLECTIONS_GQL (wandb 0.21/0.22): registries().collections(), Registry.collections().
    private const string RegistryCollections = """
        query RegistryCollections($organization: String!, $registryFilter: JSONString, $collectionFilter: JSONString, $collectionTypes: [ArtifactCollectionType!], $cursor: String, $perPage: Int) {
          organization(name: $organization) {
            orgEntity {
              name
              artifactCollections(
                projectFilters: $registryFilter
                filters: $collectionFilter
                collectionTypes: $collectionTypes
                after: $cursor
                first: $perPage
              ) {
                ...RegistryCollectionsPage
              }
            }
          }
        }

        fragment RegistryCollectionsPage on ArtifactCollectionConnection {
          totalCount
          pageInfo {
            endCursor
            hasNextPage
          }
          edges {
            cursor
            node {
              __typename
              id
              name
              description
              createdAt
              tags {
                edges {
                  node {
                    name
                  }
                }
              }
              project {
                name
                entity {
                  name
                }
              }
              defaultArtifactType {
                name
              }
              aliases {
                edges {
                  node {
                    alias
                  }
                }
              }
            }
          }
        }
        """;

    // wandb/sdk/artifacts/_generated/operations.py REGISTRY_VERSIONS_GQL (wandb 0.21/0.22): registries().versions(), Registry.versions().
    private const string RegistryVersions = """
        query RegistryVersions($organization: String!, $registryFilter: JSONString, $collectionFilter: JSONString, $artifactFilter: JSONString, $cursor: String, $perPage: Int) {
          organization(name: $organization) {
            orgEntity {
              name
              artifactMemberships(
                projectFilters: $registryFilter
                collectionFilters: $collectionFilter
                filters: $artifactFilter
                after: $cursor
                first: $perPage
              ) {
                ...RegistryVersionsPage
              }
            }
          }
        }

        fragment ArtifactFragmentWithoutAliases on Artifact {
          id
          artifactSequence {
            project {
              entityName
              name
            }
            name
          }
          versionIndex
          artifactType {
            name
          }
          description
          metadata
          ttlDurationSeconds @include(if: true)
          ttlIsInherited @include(if: true)
          tags @include(if: true) {
            name
          }
          historyStep @include(if: true)
          state
          currentManifest {
            file {
              directUrl
            }
          }
          commitHash
          fileCount
          createdAt
          updatedAt
        }

        fragment RegistryVersionsPage on ArtifactCollectionMembershipConnection {
          pageInfo {
            endCursor
            hasNextPage
          }
          edges {
            node {
              artifactCollection {
                __typename
                project {
                  name
                  entity {
                    name
                  }
                }
                name
              }
              versionIndex
              artifact {
                ...ArtifactFragmentWithoutAliases
              }
              aliases {
                alias
              }
            }
          }
        }
        """;

    [Fact]
    public async Task Registries_are_created_listed_fetched_saved_renamed_and_deleted_with_the_client_documents()
    {
        var world = await RegistryWorld.CreateAsync(host, "gated");
        var org = world.Org;
        var member = world.Users["member"].Http;
        var orgEntity = Data(await GraphQLAsync(member, FetchOrgEntityFromOrganization, new { organization = org }));
        Assert.Equal(org, orgEntity.GetProperty("organization").GetProperty("orgEntity").GetProperty("name").GetString());

        // api.create_registry("fraud", org, visibility="organization", artifact_types=["model"]) by an organization member.
        var created = Data(await GraphQLAsync(member, UpsertRegistryProject, new { description = "Fraud models", entityName = org, name = "wandb-registry-fraud", access = "PRIVATE", allowAllArtifactTypesInRegistry = false, artifactTypes = new[] { new { name = "model" } } }));
        var upsert = created.GetProperty("upsertModel");
        Assert.True(upsert.GetProperty("inserted").GetBoolean());
        var project = upsert.GetProperty("project");
        Assert.Equal("wandb-registry-fraud", project.GetProperty("name").GetString());
        Assert.Equal("PRIVATE", project.GetProperty("access").GetString());
        Assert.False(project.GetProperty("allowAllArtifactTypesInRegistry").GetBoolean());
        Assert.Equal(["model"], TypeNames(project));
        var id = project.GetProperty("id").GetString()!;

        // api.registries(org, filter=...): names get the prefix from the client, regexes do not.
        var byName = Data(await GraphQLAsync(world.Owner, FetchRegistries, new { organization = org, filters = """{"name": "wandb-registry-fraud"}""" }));
        Assert.Equal(["wandb-registry-fraud"], RegistryNames(byName));
        var core = Data(await GraphQLAsync(world.Owner, FetchRegistries, new { organization = org, filters = """{"name": {"$regex": "^wandb-registry-(model|dataset)$"}}""" }));
        Assert.Equal(["wandb-registry-dataset", "wandb-registry-model"], RegistryNames(core));
        var byDescription = Data(await GraphQLAsync(world.Owner, FetchRegistries, new { organization = org, filters = """{"$or": [{"description": {"$regex": "fraud", "$options": "i"}}, {"name": "wandb-registry-gated"}]}""", perPage = 100 }));
        Assert.Equal(["wandb-registry-fraud", "wandb-registry-gated"], RegistryNames(byDescription).Order());
        // The restricted registry stays out of the listing of an organization member not invited.
        var outsider = Data(await GraphQLAsync(world.Users["outsider"].Http, FetchRegistries, new { organization = org, filters = "{}" }));
        Assert.DoesNotContain("wandb-registry-gated", RegistryNames(outsider));
        var badFilter = await GraphQLAsync(world.Owner, FetchRegistries, new { organization = org, filters = """{"name": {"$where": "1"}}""" });
        Assert.Equal("BAD_USER_INPUT", ErrorCode(badFilter));

        // api.registry("fraud", org).load() and save() with a new description and an added type.
        var fetched = Data(await GraphQLAsync(member, FetchRegistry, new { name = "wandb-registry-fraud", entityName = org }));
        Assert.Equal("Fraud models", fetched.GetProperty("entity").GetProperty("project").GetProperty("description").GetString());
        var saved = Data(await GraphQLAsync(member, UpsertRegistryProject, new { description = "Fraud models v2", entityName = org, name = "wandb-registry-fraud", access = "PRIVATE", allowAllArtifactTypesInRegistry = false, artifactTypes = new[] { new { name = "dataset" } } }));
        Assert.False(saved.GetProperty("upsertModel").GetProperty("inserted").GetBoolean());
        Assert.Equal("Fraud models v2", saved.GetProperty("upsertModel").GetProperty("project").GetProperty("description").GetString());
        Assert.Equal(["dataset", "model"], TypeNames(saved.GetProperty("upsertModel").GetProperty("project")).Order());

        // Registry.save() after `registry.name = "fraud-detection"`.
        var renamed = Data(await GraphQLAsync(member, RenameProject, new { entityName = org, oldProjectName = "wandb-registry-fraud", newProjectName = "wandb-registry-fraud-detection" }));
        Assert.Equal("wandb-registry-fraud-detection", renamed.GetProperty("renameProject").GetProperty("project").GetProperty("name").GetString());

        // Registry.delete(): the id is the project id the registry was loaded with, and the member who created it is its admin.
        var renamedId = Data(await GraphQLAsync(member, FetchRegistry, new { name = "wandb-registry-fraud-detection", entityName = org })).GetProperty("entity").GetProperty("project").GetProperty("id").GetString()!;
        Assert.NotEqual(id, renamedId);
        Assert.Equal("NOT_FOUND", ErrorCode(await GraphQLAsync(member, DeleteProject, new { id })));
        var deleted = Data(await GraphQLAsync(member, DeleteProject, new { id = renamedId }));
        Assert.True(deleted.GetProperty("deleteModel").GetProperty("success").GetBoolean());
        var after = Data(await GraphQLAsync(world.Owner, FetchRegistries, new { organization = org, filters = """{"name": {"$regex": "fraud"}}""" }));
        Assert.Empty(RegistryNames(after));
        // Plain projects are not managed through these mutations here.
        Assert.Equal("BAD_USER_INPUT", ErrorCode(await GraphQLAsync(member, UpsertRegistryProject, new { description = "x", entityName = org, name = "proj", access = "PRIVATE", allowAllArtifactTypesInRegistry = true, artifactTypes = Array.Empty<object>() })));
    }

    [Fact]
    public async Task Collections_and_versions_are_listed_across_registries_with_the_client_filters()
    {
        var world = await RegistryWorld.CreateAsync(host, "search", visibility: "organization");
        var org = world.Org;
        var registry = $"/api/v1/orgs/{org}/registries/search";
        await world.ExpectAsync(HttpStatusCode.Created, world.Owner.PostAsJsonAsync(registry + "/collections", new { name = "churn-features", type = "dataset", description = "Features", tags = new[] { "tabular" } }));
        await world.ExpectAsync(HttpStatusCode.Created, world.Owner.PostAsJsonAsync(registry + "/collections", new { name = "images", type = "model", tags = new[] { "vision" } }));
        var a = await world.LogAsync("features", "a");
        await world.LogAsync("features", "b");
        await world.ExpectAsync(HttpStatusCode.Created, world.Owner.PostAsJsonAsync(registry + "/collections/churn-features/versions", new { artifactId = a }));
        await world.ExpectAsync(HttpStatusCode.Created, world.Owner.PostAsJsonAsync(registry + "/collections/churn-features/versions", new { entity = org, project = "proj", artifact = "features:v1", aliases = new[] { "golden" } }));
        await world.ExpectAsync(HttpStatusCode.OK, world.Owner.PatchAsJsonAsync($"/api/v1/entities/{org}/projects/proj/artifacts/features/versions/v1", new { tags = new[] { "reviewed" }, metadata = new { split = "train", accuracy = 0.93 } }));
        // A restricted registry with a collection only its members see.
        await world.ExpectAsync(HttpStatusCode.Created, world.Owner.PostAsJsonAsync($"/api/v1/orgs/{org}/registries", new { name = "hidden", visibility = "restricted" }));
        await world.ExpectAsync(HttpStatusCode.Created, world.Owner.PostAsJsonAsync($"/api/v1/orgs/{org}/registries/hidden/collections", new { name = "secret", type = "dataset", tags = new[] { "vision" } }));

        var viewer = world.Users["outsider"].Http;
        // Registry("search").collections(filter={"tag": "vision"}).
        var vision = Data(await GraphQLAsync(viewer, RegistryCollections, new { organization = org, registryFilter = """{"name": "wandb-registry-search"}""", collectionFilter = """{"tag": "vision"}""", collectionTypes = new[] { "PORTFOLIO" }, perPage = 100 }));
        var connection = vision.GetProperty("organization").GetProperty("orgEntity").GetProperty("artifactCollections");
        var node = Assert.Single(connection.GetProperty("edges").EnumerateArray()).GetProperty("node");
        Assert.Equal("images", node.GetProperty("name").GetString());
        Assert.Equal("ArtifactPortfolio", node.GetProperty("__typename").GetString());
        Assert.Equal("wandb-registry-search", node.GetProperty("project").GetProperty("name").GetString());
        Assert.Equal(org, node.GetProperty("project").GetProperty("entity").GetProperty("name").GetString());
        Assert.Equal("model", node.GetProperty("defaultArtifactType").GetProperty("name").GetString());
        Assert.Equal(["vision"], node.GetProperty("tags").GetProperty("edges").EnumerateArray().Select(e => e.GetProperty("node").GetProperty("name").GetString()));
        // api.registries().collections(filter={"name": {"$regex": "churn"}}) across all registries; the restricted one is not seen.
        var allVision = Data(await GraphQLAsync(viewer, RegistryCollections, new { organization = org, collectionFilter = """{"tag": {"$in": ["vision", "tabular"]}}""", collectionTypes = new[] { "PORTFOLIO" } }));
        Assert.Equal(["churn-features", "images"], CollectionNames(allVision).Order());
        var ownerVision = Data(await GraphQLAsync(world.Owner, RegistryCollections, new { organization = org, collectionFilter = """{"tag": "vision"}""" }));
        Assert.Equal(["images", "secret"], CollectionNames(ownerVision).Order());

        // api.registries().versions(filter={"alias": "golden"}).
        var golden = Data(await GraphQLAsync(viewer, RegistryVersions, new { organization = org, artifactFilter = """{"alias": "golden"}""" }));
        var membership = Assert.Single(Memberships(golden));
        Assert.Equal(1, membership.GetProperty("versionIndex").GetInt32());
        Assert.Equal("churn-features", membership.GetProperty("artifactCollection").GetProperty("name").GetString());
        Assert.Equal("wandb-registry-search", membership.GetProperty("artifactCollection").GetProperty("project").GetProperty("name").GetString());
        Assert.Contains("golden", membership.GetProperty("aliases").EnumerateArray().Select(x => x.GetProperty("alias").GetString()));
        var artifact = membership.GetProperty("artifact");
        Assert.Equal("features", artifact.GetProperty("artifactSequence").GetProperty("name").GetString());
        Assert.Equal(["reviewed"], artifact.GetProperty("tags").EnumerateArray().Select(t => t.GetProperty("name").GetString()));
        // Registry.versions(filter=...) by metadata (comparison and equality) and by tag.
        var accurate = Data(await GraphQLAsync(viewer, RegistryVersions, new { organization = org, registryFilter = """{"name": "wandb-registry-search"}""", artifactFilter = """{"metadata.accuracy": {"$gt": 0.9}, "metadata.split": "train"}""" }));
        Assert.Equal([1], Memberships(accurate).Select(m => m.GetProperty("versionIndex").GetInt32()));
        var all = Data(await GraphQLAsync(viewer, RegistryVersions, new { organization = org, collectionFilter = """{"name": "churn-features"}""", perPage = 1 }));
        var page = all.GetProperty("organization").GetProperty("orgEntity").GetProperty("artifactMemberships");
        Assert.Single(page.GetProperty("edges").EnumerateArray());
        Assert.True(page.GetProperty("pageInfo").GetProperty("hasNextPage").GetBoolean());
        var next = Data(await GraphQLAsync(viewer, RegistryVersions, new { organization = org, collectionFilter = """{"name": "churn-features"}""", perPage = 1, cursor = page.GetProperty("pageInfo").GetProperty("endCursor").GetString() }));
        Assert.Single(Memberships(next));
        Assert.NotEqual(Memberships(all)[0].GetProperty("versionIndex").GetInt32(), Memberships(next)[0].GetProperty("versionIndex").GetInt32());
        var untagged = Data(await GraphQLAsync(viewer, RegistryVersions, new { organization = org, artifactFilter = """{"tag": {"$nin": ["reviewed"]}}""" }));
        Assert.Equal([0], Memberships(untagged).Select(m => m.GetProperty("versionIndex").GetInt32()));
        // Someone outside the organization sees nothing of it.
        var (_, stranger) = await RegistryWorld.NewUserAsync(host);
        Assert.Equal("NOT_FOUND", ErrorCode(await GraphQLAsync(stranger, RegistryVersions, new { organization = org })));
    }

    [Fact]
    public async Task Registry_mutations_through_GraphQL_follow_the_REST_role_matrix()
    {
        var roles = new[] { "viewer", "member", "admin", "outsider" };
        var failures = new List<string>();
        foreach (var role in roles)
        {
            // A fresh restricted registry per role, so a successful delete does not hide the next role's answer.
            var world = await RegistryWorld.CreateAsync(host, "gated");
            var client = world.Users[role].Http;
            var org = world.Org;
            var id = Data(await GraphQLAsync(world.Owner, FetchRegistry, new { name = "wandb-registry-gated", entityName = org })).GetProperty("entity").GetProperty("project").GetProperty("id").GetString()!;
            var operations = new (string Name, string Minimum, object Query)[]
            {
                ("view", "viewer", new { query = FetchRegistry, variables = new { name = "wandb-registry-gated", entityName = org } }),
                ("edit description", "member", new { query = UpsertRegistryProject, variables = new { description = "edited by " + role, entityName = org, name = "wandb-registry-gated", access = "RESTRICTED", allowAllArtifactTypesInRegistry = false, artifactTypes = Array.Empty<object>() } }),
                ("add artifact type", "admin", new { query = UpsertRegistryProject, variables = new { description = "test registry", entityName = org, name = "wandb-registry-gated", access = "RESTRICTED", allowAllArtifactTypesInRegistry = false, artifactTypes = new[] { new { name = "code" } } } }),
                ("delete", "admin", new { query = DeleteProject, variables = new { id } }),
            };
            foreach (var (name, minimum, query) in operations)
            {
                var response = await client.PostAsJsonAsync("/graphql", query);
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                var root = await response.Content.ReadFromJsonAsync<JsonElement>();
                var answer = name == "view" && !root.TryGetProperty("errors", out _) && root.GetProperty("data").GetProperty("entity").GetProperty("project").ValueKind == JsonValueKind.Null ? "NOT_FOUND" : ErrorCode(root) ?? "OK";
                // As over REST: no access at all is NOT_FOUND (an upsert then tries to create, which conflicts), too low a role is FORBIDDEN.
                var expected = role == "outsider" ? (name.StartsWith("edit", StringComparison.Ordinal) || name.StartsWith("add", StringComparison.Ordinal) ? "CONFLICT" : "NOT_FOUND")
                    : Rank(role) >= Rank(minimum) ? "OK" : "FORBIDDEN";
                if (answer != expected)
                {
                    failures.Add($"{role} × {name}: {answer}, expected {expected}: {root}");
                }
            }
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    private static int Rank(string role) => Array.IndexOf(["viewer", "member", "admin"], role);

    internal static async Task<JsonElement> GraphQLAsync(HttpClient client, string query, object variables)
    {
        var response = await client.PostAsJsonAsync("/graphql", new { query, variables });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).Clone();
    }

    internal static JsonElement Data(JsonElement root)
    {
        Assert.False(root.TryGetProperty("errors", out var errors), errors.ToString());
        return root.GetProperty("data");
    }

    internal static string? ErrorCode(JsonElement root) =>
        root.TryGetProperty("errors", out var errors) ? errors[0].GetProperty("extensions").GetProperty("code").GetString() : null;

    private static List<string?> TypeNames(JsonElement project) =>
        project.GetProperty("artifactTypes").GetProperty("edges").EnumerateArray().Select(e => e.GetProperty("node").GetProperty("name").GetString()).ToList();

    private static List<string?> RegistryNames(JsonElement data) =>
        data.GetProperty("organization").GetProperty("orgEntity").GetProperty("projects").GetProperty("edges").EnumerateArray().Select(e => e.GetProperty("node").GetProperty("name").GetString()).ToList();

    private static List<string?> CollectionNames(JsonElement data) =>
        data.GetProperty("organization").GetProperty("orgEntity").GetProperty("artifactCollections").GetProperty("edges").EnumerateArray().Select(e => e.GetProperty("node").GetProperty("name").GetString()).ToList();

    private static List<JsonElement> Memberships(JsonElement data) =>
        data.GetProperty("organization").GetProperty("orgEntity").GetProperty("artifactMemberships").GetProperty("edges").EnumerateArray().Select(e => e.GetProperty("node")).ToList();
}
