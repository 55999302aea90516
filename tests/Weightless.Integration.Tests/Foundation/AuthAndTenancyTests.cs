using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.Tokens;
using Weightless.Core.Auth;
using Weightless.Tests.Infrastructure;

namespace Weightless.Integration.Tests.Foundation;

public sealed class AuthAndTenancyTests : IClassFixture<AuthAndTenancyTests.Host>
{
    public sealed class Host : IDisposable
    {
        public WeightlessFactory Factory { get; } = new();

        public void Dispose() => Factory.Dispose();
    }

    private readonly WeightlessFactory _factory;

    public AuthAndTenancyTests(Host host) => _factory = host.Factory;

    private static string Unique(string name) => $"{name}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3))}";

    private async Task<(string User, string Key)> NewUserAsync(string name)
    {
        var admin = _factory.CreateClient(_factory.AdminKey);
        var user = Unique(name);
        var created = await admin.PostAsJsonAsync("/api/v1/admin/users", new { name = user, email = $"{user}@example.invalid" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var key = await admin.PostAsJsonAsync($"/api/v1/users/{user}/keys", new { description = "test" });
        Assert.Equal(HttpStatusCode.Created, key.StatusCode);
        var body = await key.Content.ReadFromJsonAsync<JsonElement>();
        return (user, body.GetProperty("key").GetString()!);
    }

    private static async Task<JsonElement> ProblemAsync(HttpResponseMessage response, HttpStatusCode expected)
    {
        Assert.Equal(expected, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal((int)expected, problem.GetProperty("status").GetInt32());
        return problem;
    }

    [Fact]
    public async Task Admin_key_from_configuration_answers_viewer_as_instance_admin()
    {
        var response = await _factory.CreateClient(_factory.AdminKey).GetFromJsonAsync<JsonElement>("/api/v1/viewer");
        Assert.Equal("admin", response.GetProperty("username").GetString());
        Assert.True(response.GetProperty("admin").GetBoolean());
        Assert.Equal("apiKey", response.GetProperty("authMethod").GetString());
    }

    [Fact]
    public async Task Api_key_is_accepted_as_basic_and_as_bearer()
    {
        var (user, key) = await NewUserAsync("keys");
        var basic = await _factory.CreateClient(key).GetFromJsonAsync<JsonElement>("/api/v1/viewer");
        Assert.Equal(user, basic.GetProperty("username").GetString());

        var client = _factory.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        var bearer = await client.GetFromJsonAsync<JsonElement>("/api/v1/viewer");
        Assert.Equal(user, bearer.GetProperty("username").GetString());
        Assert.False(bearer.GetProperty("admin").GetBoolean());
    }

    [Fact]
    public async Task Missing_malformed_and_unknown_keys_are_401_problems()
    {
        await ProblemAsync(await _factory.CreateClient().GetAsync("/api/v1/viewer"), HttpStatusCode.Unauthorized);
        await ProblemAsync(await _factory.CreateClient(AzuriteFixture.NewApiKey()).GetAsync("/api/v1/viewer"), HttpStatusCode.Unauthorized);
        await ProblemAsync(await _factory.CreateClient("short").GetAsync("/api/v1/viewer"), HttpStatusCode.Unauthorized);

        var garbage = _factory.CreateClient();
        garbage.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", "%%%not-base64%%%");
        await ProblemAsync(await garbage.GetAsync("/api/v1/viewer"), HttpStatusCode.Unauthorized);

        var scheme = _factory.CreateClient();
        scheme.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Digest", "abc");
        await ProblemAsync(await scheme.GetAsync("/api/v1/viewer"), HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Revoked_key_stops_working_and_is_listed_as_revoked_without_its_secret()
    {
        var (user, key) = await NewUserAsync("revoke");
        var client = _factory.CreateClient(key);
        var second = await (await client.PostAsJsonAsync($"/api/v1/users/{user}/keys", new { description = "second" })).Content.ReadFromJsonAsync<JsonElement>();
        var secondId = second.GetProperty("id").GetString()!;
        var secondKey = second.GetProperty("key").GetString()!;

        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/api/v1/users/{user}/keys/{secondId}")).StatusCode);
        await ProblemAsync(await _factory.CreateClient(secondKey).GetAsync("/api/v1/viewer"), HttpStatusCode.Unauthorized);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/viewer")).StatusCode);

        var listing = await client.GetStringAsync($"/api/v1/users/{user}/keys");
        Assert.DoesNotContain(secondKey, listing, StringComparison.Ordinal);
        Assert.DoesNotContain(key, listing, StringComparison.Ordinal);
        var keys = JsonSerializer.Deserialize<JsonElement>(listing).EnumerateArray().ToList();
        Assert.Equal(2, keys.Count);
        Assert.Single(keys, k => k.GetProperty("id").GetString() == secondId && k.TryGetProperty("revokedAt", out var r) && r.ValueKind == JsonValueKind.String);
    }

    [Fact]
    public async Task Another_users_keys_are_not_found_and_cannot_be_revoked()
    {
        var (alice, aliceKey) = await NewUserAsync("alice");
        var (bob, _) = await NewUserAsync("bob");
        var asAlice = _factory.CreateClient(aliceKey);
        await ProblemAsync(await asAlice.GetAsync($"/api/v1/users/{bob}/keys"), HttpStatusCode.NotFound);
        await ProblemAsync(await asAlice.PostAsJsonAsync($"/api/v1/users/{bob}/keys", new { }), HttpStatusCode.NotFound);
        await ProblemAsync(await asAlice.DeleteAsync($"/api/v1/users/{bob}/keys/abc"), HttpStatusCode.NotFound);
        await ProblemAsync(await asAlice.GetAsync("/api/v1/admin/entities"), HttpStatusCode.Forbidden);
        await ProblemAsync(await asAlice.PostAsJsonAsync("/api/v1/admin/users", new { name = Unique("mallory") }), HttpStatusCode.Forbidden);
        Assert.NotEqual(alice, bob);
    }

    [Fact]
    public async Task Team_roles_gate_membership_changes_and_outsiders_get_404()
    {
        var (owner, ownerKey) = await NewUserAsync("owner");
        var (member, memberKey) = await NewUserAsync("member");
        var (viewer, viewerKey) = await NewUserAsync("viewer");
        var (_, outsiderKey) = await NewUserAsync("outsider");
        var team = Unique("team");
        var asOwner = _factory.CreateClient(ownerKey);

        Assert.Equal(HttpStatusCode.Created, (await asOwner.PostAsJsonAsync("/api/v1/teams", new { name = team })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await asOwner.PutAsJsonAsync($"/api/v1/teams/{team}/members", new { user = member, role = "member" })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await asOwner.PutAsJsonAsync($"/api/v1/teams/{team}/members", new { user = viewer, role = "viewer" })).StatusCode);

        var members = await _factory.CreateClient(viewerKey).GetFromJsonAsync<JsonElement>($"/api/v1/teams/{team}/members");
        var roles = members.EnumerateArray().ToDictionary(m => m.GetProperty("user").GetString()!, m => m.GetProperty("role").GetString());
        Assert.Equal("admin", roles[owner]);
        Assert.Equal("member", roles[member]);
        Assert.Equal("viewer", roles[viewer]);

        await ProblemAsync(await _factory.CreateClient(memberKey).PutAsJsonAsync($"/api/v1/teams/{team}/members", new { user = viewer, role = "admin" }), HttpStatusCode.Forbidden);
        await ProblemAsync(await _factory.CreateClient(viewerKey).DeleteAsync($"/api/v1/teams/{team}/members/{member}"), HttpStatusCode.Forbidden);
        await ProblemAsync(await _factory.CreateClient(outsiderKey).GetAsync($"/api/v1/teams/{team}/members"), HttpStatusCode.NotFound);
        await ProblemAsync(await _factory.CreateClient(outsiderKey).GetAsync($"/api/v1/teams/no-such-team-{team}/members"), HttpStatusCode.NotFound);

        var viewerSees = await _factory.CreateClient(viewerKey).GetFromJsonAsync<JsonElement>("/api/v1/viewer");
        Assert.Contains(viewerSees.GetProperty("entities").EnumerateArray(), e => e.GetProperty("name").GetString() == team && e.GetProperty("role").GetString() == "viewer");

        var badRole = await ProblemAsync(await asOwner.PutAsJsonAsync($"/api/v1/teams/{team}/members", new { user = viewer, role = "owner" }), HttpStatusCode.BadRequest);
        Assert.Equal("role", badRole.GetProperty("field").GetString());
        Assert.Equal(HttpStatusCode.NoContent, (await asOwner.DeleteAsync($"/api/v1/teams/{team}/members/{viewer}")).StatusCode);
        await ProblemAsync(await _factory.CreateClient(viewerKey).GetAsync($"/api/v1/teams/{team}/members"), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Bad_bodies_are_400_problems_naming_the_field()
    {
        var admin = _factory.CreateClient(_factory.AdminKey);
        var malformed = await ProblemAsync(await admin.PostAsync("/api/v1/admin/users", new StringContent("{bad", System.Text.Encoding.UTF8, "application/json")), HttpStatusCode.BadRequest);
        Assert.Equal("body", malformed.GetProperty("field").GetString());

        var wrongType = await ProblemAsync(await admin.PostAsync("/api/v1/admin/users", new StringContent("{\"name\": \"x\", \"admin\": \"maybe\"}", System.Text.Encoding.UTF8, "application/json")), HttpStatusCode.BadRequest);
        Assert.Equal("admin", wrongType.GetProperty("field").GetString());

        var missing = await ProblemAsync(await admin.PostAsJsonAsync("/api/v1/admin/users", new { email = "x@example.invalid" }), HttpStatusCode.BadRequest);
        Assert.Equal("name", missing.GetProperty("field").GetString());

        var invalidName = await ProblemAsync(await admin.PostAsJsonAsync("/api/v1/admin/users", new { name = "Not Valid!" }), HttpStatusCode.BadRequest);
        Assert.Equal("name", invalidName.GetProperty("field").GetString());

        var (user, _) = await NewUserAsync("dup");
        await ProblemAsync(await admin.PostAsJsonAsync("/api/v1/admin/users", new { name = user }), HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task Entra_tokens_valid_expired_wrong_key_other_tenant_and_missing_scope()
    {
        var issuer = _factory.Services.GetRequiredService<DevTokenIssuer>();
        var objectId = Guid.NewGuid().ToString();
        var name = Unique("entra") + "@contoso.example";

        async Task<HttpResponseMessage> Call(string token)
        {
            var client = _factory.CreateClient();
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
            return await client.GetAsync("/api/v1/viewer");
        }

        var valid = await Call(issuer.Mint(objectId, name, ["access_as_user"], TimeSpan.FromMinutes(5)));
        Assert.Equal(HttpStatusCode.OK, valid.StatusCode);
        var viewer = await valid.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("entra", viewer.GetProperty("authMethod").GetString());
        var provisioned = viewer.GetProperty("username").GetString();
        Assert.StartsWith("entra-", provisioned, StringComparison.Ordinal);

        // The same identity maps to the same user on the next call.
        var again = await (await Call(issuer.Mint(objectId, name, ["access_as_user"], TimeSpan.FromMinutes(5)))).Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(provisioned, again.GetProperty("username").GetString());

        await ProblemAsync(await Call(issuer.Mint(objectId, name, ["access_as_user"], TimeSpan.FromMinutes(5), notBefore: DateTime.UtcNow.AddHours(-2))), HttpStatusCode.Unauthorized);
        using var otherRsa = RSA.Create(2048);
        await ProblemAsync(await Call(issuer.Mint(objectId, name, ["access_as_user"], TimeSpan.FromMinutes(5), signWith: new RsaSecurityKey(otherRsa) { KeyId = "attacker" })), HttpStatusCode.Unauthorized);
        await ProblemAsync(await Call(issuer.Mint(objectId, name, ["access_as_user"], TimeSpan.FromMinutes(5), tenantId: Guid.NewGuid().ToString())), HttpStatusCode.Unauthorized);
        await ProblemAsync(await Call(issuer.Mint(objectId, name, ["other.scope"], TimeSpan.FromMinutes(5))), HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task Health_reports_storage_checks()
    {
        var health = await _factory.CreateClient().GetFromJsonAsync<JsonElement>("/api/v1/health");
        Assert.Equal("healthy", health.GetProperty("status").GetString());
        Assert.Equal("ok", health.GetProperty("checks").GetProperty("storage.tables").GetString());
        Assert.Equal("ok", health.GetProperty("checks").GetProperty("storage.blobs").GetString());
        Assert.Equal("ok", health.GetProperty("checks").GetProperty("storage.queues").GetString());
        Assert.True(health.GetProperty("storageOperations").EnumerateObject().Any());
    }
}
