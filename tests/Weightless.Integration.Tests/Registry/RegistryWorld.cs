using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Weightless.Integration.Tests.Artifacts;

namespace Weightless.Integration.Tests.Registry;

/// <summary>
/// One organization (a team) with an owner (its admin, who logs artifacts to the team) and users
/// holding each registry role, plus an organization member who was not invited.
/// </summary>
internal sealed class RegistryWorld
{
    public const string LinkArtifact = """
        mutation LinkArtifact($artifactPortfolioName: String!, $entityName: String!, $projectName: String!, $aliases: [ArtifactAliasInput!], $artifactID: ID) {
          linkArtifact(input: {artifactPortfolioName: $artifactPortfolioName, entityName: $entityName, projectName: $projectName, aliases: $aliases, artifactID: $artifactID}) { versionIndex }
        }
        """;

    private RegistryWorld(ArtifactTestHost host, string org, Dictionary<string, (string Name, HttpClient Http)> users)
    {
        Host = host;
        Org = org;
        Users = users;
    }

    public ArtifactTestHost Host { get; }

    public string Org { get; }

    /// <summary>owner, viewer, member, admin, outsider.</summary>
    public Dictionary<string, (string Name, HttpClient Http)> Users { get; }

    public HttpClient Owner => Users["owner"].Http;

    /// <summary>The owner's artifact traffic into project <c>proj</c> of the organization.</summary>
    public WandbArtifactClient OwnerArtifacts => new(Host, Owner, Org, "proj");

    public static async Task<(string Name, HttpClient Http)> NewUserAsync(ArtifactTestHost host)
    {
        var admin = host.Client(host.AdminKey);
        var user = "u" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
        Assert.Equal(HttpStatusCode.Created, (await admin.PostAsJsonAsync("/api/v1/admin/users", new { name = user, email = $"{user}@example.invalid" })).StatusCode);
        var key = await admin.PostAsJsonAsync($"/api/v1/users/{user}/keys", new { description = "test" });
        var secret = (await key.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("key").GetString()!;
        return (user, host.Client(secret));
    }

    /// <summary>The organization, its users, and a restricted registry <paramref name="registry"/> with viewer/member/admin invited.</summary>
    public static async Task<RegistryWorld> CreateAsync(ArtifactTestHost host, string registry, string visibility = "restricted")
    {
        var users = new Dictionary<string, (string, HttpClient)>();
        foreach (var role in new[] { "owner", "viewer", "member", "admin", "outsider" })
        {
            users[role] = await NewUserAsync(host);
        }
        var org = "org" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
        var owner = users["owner"].Item2;
        Assert.Equal(HttpStatusCode.Created, (await owner.PostAsJsonAsync("/api/v1/teams", new { name = org })).StatusCode);
        foreach (var role in new[] { "viewer", "member", "admin", "outsider" })
        {
            var added = await owner.PutAsJsonAsync($"/api/v1/teams/{org}/members", new { user = users[role].Item1, role = "member" });
            Assert.True(added.IsSuccessStatusCode, await added.Content.ReadAsStringAsync());
        }
        var world = new RegistryWorld(host, org, users);
        await world.ExpectAsync(HttpStatusCode.Created, owner.PostAsJsonAsync($"/api/v1/orgs/{org}/registries", new { name = registry, description = "test registry", visibility, artifactTypes = new[] { "model", "dataset" } }));
        foreach (var role in new[] { "viewer", "member", "admin" })
        {
            await world.ExpectAsync(HttpStatusCode.OK, owner.PutAsJsonAsync($"/api/v1/orgs/{org}/registries/{registry}/members", new { user = users[role].Item1, role }));
        }
        await world.OwnerArtifacts.CreateRunAsync("r1");
        return world;
    }

    public async Task<JsonElement> ExpectAsync(HttpStatusCode status, Task<HttpResponseMessage> call)
    {
        var response = await call;
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"expected {(int)status}, got {(int)response.StatusCode}: {text}");
        return text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>Logs a one-file dataset version to the organization's project; returns its id.</summary>
    public async Task<string> LogAsync(string collection, string content)
    {
        var logged = await OwnerArtifacts.LogAsync("r1", collection, new Dictionary<string, byte[]> { ["data.txt"] = Encoding.UTF8.GetBytes(content) });
        return logged.Id;
    }

    /// <summary><c>linkArtifact</c> as a client sends it; the answer's data or errors.</summary>
    public static async Task<JsonElement> LinkAsync(HttpClient client, string artifactId, string entity, string project, string collection, params string[] aliases)
    {
        var response = await client.PostAsJsonAsync("/graphql", new
        {
            query = LinkArtifact,
            variables = new { artifactPortfolioName = collection, entityName = entity, projectName = project, artifactID = artifactId, aliases = aliases.Select(a => new { alias = a, artifactCollectionName = collection }).ToArray() },
        });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).Clone();
    }
}
