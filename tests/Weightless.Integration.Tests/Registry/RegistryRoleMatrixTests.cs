using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Weightless.Integration.Tests.Artifacts;

namespace Weightless.Integration.Tests.Registry;

/// <summary>Each registry role × each operation, in a restricted registry (seed §3.3).</summary>
public sealed class RegistryRoleMatrixTests(ArtifactTestHost host) : IClassFixture<ArtifactTestHost>
{
    private static readonly string[] Roles = ["viewer", "member", "admin", "outsider"];

    [Fact]
    public async Task Every_operation_needs_its_role_and_the_uninvited_do_not_see_a_restricted_registry()
    {
        var world = await RegistryWorld.CreateAsync(host, "secure");
        var org = world.Org;
        var registry = $"/api/v1/orgs/{org}/registries/secure";
        var collection = registry + "/collections/classifier";
        await world.ExpectAsync(HttpStatusCode.OK, world.Owner.PutAsJsonAsync(registry + "/protected-aliases", new { aliases = new[] { "production" } }));
        var counter = 0;

        // Each operation: the owner prepares what it needs, then the role under test tries it.
        async Task<string> LinkedAsync()
        {
            var id = await world.LogAsync("source", $"content {++counter}");
            var linked = await world.ExpectAsync(HttpStatusCode.Created, world.Owner.PostAsJsonAsync(collection + "/versions", new { artifactId = id }));
            return linked.GetProperty("version").GetString()!;
        }

        var operations = new (string Name, string MinimumRole, Func<HttpClient, Task<HttpStatusCode>> Run)[]
        {
            ("view", "viewer", async c => { await LinkedAsync(); return (await c.GetAsync(collection + "/versions")).StatusCode; }),
            ("link", "member", async c => { var id = await world.LogAsync("source", $"content {++counter}"); return (await c.PostAsJsonAsync(collection + "/versions", new { artifactId = id })).StatusCode; }),
            ("unlink", "member", async c => { var v = await LinkedAsync(); return (await c.DeleteAsync($"{collection}/versions/{v}")).StatusCode; }),
            ("add alias", "member", async c => { var v = await LinkedAsync(); return (await c.PutAsJsonAsync(collection + "/aliases/candidate", new { version = v })).StatusCode; }),
            ("remove alias", "member", async c =>
            {
                var v = await LinkedAsync();
                await world.ExpectAsync(HttpStatusCode.OK, world.Owner.PutAsJsonAsync(collection + "/aliases/staging", new { version = v }));
                return (await c.DeleteAsync(collection + "/aliases/staging")).StatusCode;
            }),
            ("add protected alias", "admin", async c => { var v = await LinkedAsync(); return (await c.PutAsJsonAsync(collection + "/aliases/production", new { version = v })).StatusCode; }),
            ("edit collection", "member", async c => { await LinkedAsync(); return (await c.PatchAsJsonAsync(collection, new { description = "edited", tags = new[] { "t" } })).StatusCode; }),
            ("delete version", "member", async c =>
            {
                var v = await LinkedAsync();
                var versions = await world.ExpectAsync(HttpStatusCode.OK, world.Owner.GetAsync(collection + "/versions"));
                var artifactId = versions.EnumerateArray().First(x => x.GetProperty("version").GetString() == v).GetProperty("artifactId").GetString()!;
                var portfolioId = await PortfolioIdAsync(world, org, "classifier");
                var answer = await c.PostAsJsonAsync("/graphql", new
                {
                    query = "mutation UnlinkArtifact($artifactID: ID!, $artifactPortfolioID: ID!) { unlinkArtifact(input: {artifactID: $artifactID, artifactPortfolioID: $artifactPortfolioID}) { artifactID success } }",
                    variables = new { artifactID = artifactId, artifactPortfolioID = portfolioId },
                });
                var root = await answer.Content.ReadFromJsonAsync<JsonElement>();
                return !root.TryGetProperty("errors", out var errors) ? HttpStatusCode.OK
                    : errors[0].GetProperty("extensions").GetProperty("code").GetString() switch
                    {
                        "NOT_FOUND" => HttpStatusCode.NotFound,
                        "FORBIDDEN" => HttpStatusCode.Forbidden,
                        var code => throw new Xunit.Sdk.XunitException("unexpected GraphQL error " + code + ": " + errors),
                    };
            }),
            ("manage members", "admin", async c => (await c.PutAsJsonAsync(registry + "/members", new { user = world.Users["outsider"].Name, role = "viewer" })).StatusCode),
            ("edit registry", "admin", async c => (await c.PatchAsJsonAsync(registry, new { artifactTypes = new[] { "model", "dataset", "code" } })).StatusCode),
        };

        var failures = new List<string>();
        foreach (var (name, minimum, run) in operations)
        {
            foreach (var role in Roles)
            {
                var status = await run(world.Users[role].Http);
                var expected = role == "outsider" ? HttpStatusCode.NotFound
                    : Rank(role) >= Rank(minimum) ? (name is "link" ? HttpStatusCode.Created : name is "unlink" or "remove alias" ? HttpStatusCode.NoContent : HttpStatusCode.OK)
                    : HttpStatusCode.Forbidden;
                if (status != expected)
                {
                    failures.Add($"{role} × {name}: {(int)status}, expected {(int)expected}");
                }
                if (name == "manage members" && role == "admin")
                {
                    // The outsider was just invited; take them out again so later rows still see them uninvited.
                    await world.ExpectAsync(HttpStatusCode.NoContent, world.Owner.DeleteAsync($"{registry}/members/user/{world.Users["outsider"].Name}"));
                }
            }
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public async Task Roles_inherit_the_highest_of_individual_and_team_roles_and_organization_members_view_organization_registries()
    {
        var world = await RegistryWorld.CreateAsync(host, "shared", visibility: "organization");
        var registry = $"/api/v1/orgs/{world.Org}/registries/shared";
        var outsider = world.Users["outsider"];
        var id = await world.LogAsync("source", "inherit");

        // Organization visibility: an uninvited member views, but cannot link.
        await world.ExpectAsync(HttpStatusCode.OK, outsider.Http.GetAsync(registry));
        await world.ExpectAsync(HttpStatusCode.Forbidden, outsider.Http.PostAsJsonAsync(registry + "/collections/c/versions", new { artifactId = id }));

        // A team the outsider belongs to is made a member of the registry: the team's role wins over viewer.
        var team = "t" + world.Org;
        await world.ExpectAsync(HttpStatusCode.Created, world.Owner.PostAsJsonAsync("/api/v1/teams", new { name = team }));
        await world.ExpectAsync(HttpStatusCode.OK, world.Owner.PutAsJsonAsync($"/api/v1/teams/{team}/members", new { user = outsider.Name, role = "viewer" }));
        await world.ExpectAsync(HttpStatusCode.OK, world.Owner.PutAsJsonAsync(registry + "/members", new { user = outsider.Name, role = "viewer" }));
        await world.ExpectAsync(HttpStatusCode.OK, world.Owner.PutAsJsonAsync(registry + "/members", new { team, role = "member" }));
        var seen = await world.ExpectAsync(HttpStatusCode.OK, outsider.Http.GetAsync(registry));
        Assert.Equal("member", seen.GetProperty("role").GetString());
        await world.ExpectAsync(HttpStatusCode.Created, outsider.Http.PostAsJsonAsync(registry + "/collections/c/versions", new { artifactId = id }));

        // The organization's admin is an admin of every registry without an invitation.
        Assert.Equal("admin", (await world.ExpectAsync(HttpStatusCode.OK, world.Owner.GetAsync(registry))).GetProperty("role").GetString());

        // Visibility goes organization → restricted, never back.
        await world.ExpectAsync(HttpStatusCode.OK, world.Owner.PatchAsJsonAsync(registry, new { visibility = "restricted" }));
        await world.ExpectAsync(HttpStatusCode.BadRequest, world.Owner.PatchAsJsonAsync(registry, new { visibility = "organization" }));

        // Core registries exist in every organization, and cannot be deleted or made restricted.
        var list = await world.ExpectAsync(HttpStatusCode.OK, world.Users["viewer"].Http.GetAsync($"/api/v1/orgs/{world.Org}/registries"));
        Assert.Equal(["dataset", "model"], list.EnumerateArray().Select(r => r.GetProperty("name").GetString()!).Take(2));
        await world.ExpectAsync(HttpStatusCode.BadRequest, world.Owner.DeleteAsync($"/api/v1/orgs/{world.Org}/registries/model"));
        await world.ExpectAsync(HttpStatusCode.BadRequest, world.Owner.PatchAsJsonAsync($"/api/v1/orgs/{world.Org}/registries/model", new { visibility = "restricted" }));
    }

    private static int Rank(string role) => role switch { "viewer" => 1, "member" => 2, "admin" => 3, _ => 0 };

    internal static async Task<string> PortfolioIdAsync(RegistryWorld world, string org, string collection)
    {
        var answer = await world.Owner.PostAsJsonAsync("/graphql", new
        {
            query = "query P($entityName: String!, $projectName: String!, $name: String!) { project(name: $projectName, entityName: $entityName) { artifactCollection(name: $name) { id } } }",
            variables = new { entityName = org, projectName = "wandb-registry-secure", name = collection },
        });
        var root = await answer.Content.ReadFromJsonAsync<JsonElement>();
        return root.GetProperty("data").GetProperty("project").GetProperty("artifactCollection").GetProperty("id").GetString()!;
    }
}
