using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Weightless.Integration.Tests.Artifacts;

namespace Weightless.Integration.Tests.Registry;

/// <summary>
/// Registry members through the Python client's documents (wandb 0.22,
/// <c>wandb/sdk/artifacts/_generated/operations.py</c>, used by <c>Registry.members()</c>,
/// <c>user_members()</c>, <c>team_members()</c>, <c>add_members()</c>, <c>remove_members()</c>,
/// <c>update_member()</c>). The client parses user and team ids as <c>User:&lt;int&gt;</c> /
/// <c>Entity:&lt;int&gt;</c> and sends them back re-encoded, so the test does exactly that.
/// </summary>
public sealed partial class RegistryMemberGraphQLTests(ArtifactTestHost host) : IClassFixture<ArtifactTestHost>
{
    // wandb/apis/public/api.py VIEWER_QUERY (wandb 0.22): api.viewer, whose id add_members(api.viewer) parses.
    private const string Viewer = """
        query Viewer {
            viewer {
                id
                flags
                entity
                username
                email
                admin
                apiKeys {
                    edges {
                        node {
                            id
                            name
                            description
                        }
                    }
                }
                teams {
                    edges {
                        node {
                            name
                        }
                    }
                }
            }
        }
        """;

    // wandb/sdk/artifacts/_generated/operations.py FETCH_REGISTRY_GQL (wandb 0.22), trimmed to what this test reads: the registry's id.
    private const string FetchRegistry = """
        query FetchRegistry($name: String, $entity: String) {
          entity(name: $entity) {
            id
            project(name: $name) {
              __typename
              id
              name
            }
          }
        }
        """;

    // wandb/sdk/artifacts/_generated/operations.py REGISTRY_USER_MEMBERS_GQL (wandb 0.22).
    private const string RegistryUserMembers = """
        query RegistryUserMembers($project: String!, $entity: String!) {
          project(name: $project, entityName: $entity) {
            members {
              ...UserRegistryMemberFragment
            }
          }
        }

        fragment RegistryRoleFragment on Role {
          name
        }

        fragment UserRegistryMemberFragment on ProjectMember {
          id
          name
          username
          email
          role {
            ...RegistryRoleFragment
          }
        }
        """;

    // wandb/sdk/artifacts/_generated/operations.py REGISTRY_TEAM_MEMBERS_GQL (wandb 0.22).
    private const string RegistryTeamMembers = """
        query RegistryTeamMembers($project: String!, $entity: String!) {
          project(name: $project, entityName: $entity) {
            teamMembers {
              ...TeamRegistryMemberFragment
            }
          }
        }

        fragment RegistryRoleFragment on Role {
          name
        }

        fragment TeamFragment on Entity {
          __typename
          id
          name
          available
          photoUrl
          readOnly
          readOnlyAdmin
          isTeam
          privateOnly
          storageBytes
          codeSavingEnabled
          defaultAccess
          isPaid
          members {
            ...TeamMemberFragment
          }
        }

        fragment TeamMemberFragment on Member {
          __typename
          id
          role
          pending
          email
          username
          name
          photoUrl
          accountType
          apiKey
        }

        fragment TeamRegistryMemberFragment on ProjectTeamMember {
          team {
            ...TeamFragment
          }
          role {
            ...RegistryRoleFragment
          }
        }
        """;

    // wandb/sdk/artifacts/_generated/operations.py CREATE_REGISTRY_MEMBERS_GQL (wandb 0.22): Registry.add_members().
    private const string CreateRegistryMembers = """
        mutation CreateRegistryMembers($input: CreateProjectMembersInput!) {
          result: createProjectMembers(input: $input) {
            success
          }
        }
        """;

    // wandb/sdk/artifacts/_generated/operations.py DELETE_REGISTRY_MEMBERS_GQL (wandb 0.22): Registry.remove_members().
    private const string DeleteRegistryMembers = """
        mutation DeleteRegistryMembers($input: DeleteProjectMembersInput!) {
          result: deleteProjectMembers(input: $input) {
            success
          }
        }
        """;

    // wandb/sdk/artifacts/_generated/operations.py UPDATE_USER_REGISTRY_ROLE_GQL (wandb 0.22): Registry.update_member(user, role).
    private const string UpdateUserRegistryRole = """
        mutation UpdateUserRegistryRole($input: UpdateProjectMemberInput!) {
          result: updateProjectMember(input: $input) {
            success
          }
        }
        """;

    // wandb/sdk/artifacts/_generated/operations.py UPDATE_TEAM_REGISTRY_ROLE_GQL (wandb 0.22): Registry.update_member(team, role).
    private const string UpdateTeamRegistryRole = """
        mutation UpdateTeamRegistryRole($input: UpdateProjectTeamMemberInput!) {
          result: updateProjectTeamMember(input: $input) {
            success
          }
        }
        """;

    [Fact]
    public async Task Registry_members_are_listed_added_updated_and_removed_with_the_client_documents_and_ids()
    {
        var world = await RegistryWorld.CreateAsync(host, "team-models");
        var org = world.Org;
        const string project = "wandb-registry-team-models";
        var admin = world.Users["admin"].Http;
        var outsider = world.Users["outsider"];

        // api.viewer.id is what add_members(api.viewer) parses: User:<int>, the same on every call.
        var outsiderId = Data(await GraphQLAsync(outsider.Http, Viewer, new { })).GetProperty("viewer").GetProperty("id").GetString()!;
        var outsiderNumber = Number(outsiderId, "User");
        Assert.Equal(outsiderId, Data(await GraphQLAsync(outsider.Http, Viewer, new { })).GetProperty("viewer").GetProperty("id").GetString());
        var registryId = Data(await GraphQLAsync(world.Owner, FetchRegistry, new { name = project, entity = org })).GetProperty("entity").GetProperty("project").GetProperty("id").GetString()!;

        // members(): the invited users with their roles, each id a User:<int>.
        var members = UserMembers(await GraphQLAsync(admin, RegistryUserMembers, new { project, entity = org }));
        foreach (var role in new[] { "viewer", "member", "admin" })
        {
            Assert.Equal(role, members[world.Users[role].Name].Role);
        }
        Assert.All(members.Values, m => Number(m.Id, "User"));
        Assert.DoesNotContain(outsider.Name, members.Keys);
        Assert.Equal("NOT_FOUND", ErrorCode(await GraphQLAsync(outsider.Http, RegistryUserMembers, new { project, entity = org })));

        // add_members(api.viewer): a registry member may not, a registry admin may; the newcomer is a viewer.
        var add = new { input = new { userIds = new[] { Encode("User", outsiderNumber) }, teamIds = Array.Empty<string>(), projectId = registryId } };
        Assert.Equal("FORBIDDEN", ErrorCode(await GraphQLAsync(world.Users["member"].Http, CreateRegistryMembers, add)));
        Assert.True(Data(await GraphQLAsync(admin, CreateRegistryMembers, add)).GetProperty("result").GetProperty("success").GetBoolean());
        Assert.Equal("viewer", UserMembers(await GraphQLAsync(admin, RegistryUserMembers, new { project, entity = org }))[outsider.Name].Role);
        Assert.Equal(project, Data(await GraphQLAsync(outsider.Http, FetchRegistry, new { name = project, entity = org })).GetProperty("entity").GetProperty("project").GetProperty("name").GetString());

        // update_member(user, "member"), with the id as members() listed it.
        var listedId = UserMembers(await GraphQLAsync(admin, RegistryUserMembers, new { project, entity = org }))[outsider.Name].Id;
        Assert.Equal(outsiderId, listedId);
        var promote = new { input = new { userId = listedId, projectId = registryId, userProjectRole = "member" } };
        Assert.Equal("FORBIDDEN", ErrorCode(await GraphQLAsync(outsider.Http, UpdateUserRegistryRole, promote)));
        Assert.True(Data(await GraphQLAsync(admin, UpdateUserRegistryRole, promote)).GetProperty("result").GetProperty("success").GetBoolean());
        Assert.Equal("member", UserMembers(await GraphQLAsync(admin, RegistryUserMembers, new { project, entity = org }))[outsider.Name].Role);
        Assert.Equal("BAD_USER_INPUT", ErrorCode(await GraphQLAsync(admin, UpdateUserRegistryRole, new { input = new { userId = listedId, projectId = registryId, userProjectRole = "restricted_viewer" } })));

        // A team: its id is Entity:<int> (entity(name).id); add_members(team), update_member(team, "admin"), team_members().
        var team = "t" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
        await world.ExpectAsync(HttpStatusCode.Created, outsider.Http.PostAsJsonAsync("/api/v1/teams", new { name = team }));
        var teamId = Data(await GraphQLAsync(outsider.Http, FetchRegistry, new { name = "any", entity = team })).GetProperty("entity").GetProperty("id").GetString()!;
        var teamNumber = Number(teamId, "Entity");
        Assert.Equal("BAD_USER_INPUT", ErrorCode(await GraphQLAsync(admin, CreateRegistryMembers, new { input = new { userIds = new[] { teamId }, projectId = registryId } })));
        Assert.True(Data(await GraphQLAsync(admin, CreateRegistryMembers, new { input = new { teamIds = new[] { Encode("Entity", teamNumber) }, projectId = registryId } })).GetProperty("result").GetProperty("success").GetBoolean());
        Assert.True(Data(await GraphQLAsync(admin, UpdateTeamRegistryRole, new { input = new { teamId, projectId = registryId, teamProjectRole = "admin" } })).GetProperty("result").GetProperty("success").GetBoolean());
        // The team's own member sees its members; the registry admin, who is not in the team, sees the team without them.
        var teamMembers = Data(await GraphQLAsync(outsider.Http, RegistryTeamMembers, new { project, entity = org })).GetProperty("project").GetProperty("teamMembers");
        var listedTeam = Assert.Single(teamMembers.EnumerateArray());
        Assert.Equal("admin", listedTeam.GetProperty("role").GetProperty("name").GetString());
        Assert.Equal(team, listedTeam.GetProperty("team").GetProperty("name").GetString());
        Assert.Equal(teamId, listedTeam.GetProperty("team").GetProperty("id").GetString());
        Assert.True(listedTeam.GetProperty("team").GetProperty("isTeam").GetBoolean());
        Assert.Equal(outsiderId, Assert.Single(listedTeam.GetProperty("team").GetProperty("members").EnumerateArray()).GetProperty("id").GetString());
        var seenByAdmin = Data(await GraphQLAsync(admin, RegistryTeamMembers, new { project, entity = org })).GetProperty("project").GetProperty("teamMembers")[0];
        Assert.Empty(seenByAdmin.GetProperty("team").GetProperty("members").EnumerateArray());
        // Through the team the outsider is now a registry admin (the highest of individual and team roles).
        Assert.True(Data(await GraphQLAsync(outsider.Http, UpdateUserRegistryRole, new { input = new { userId = members[world.Users["viewer"].Name].Id, projectId = registryId, userProjectRole = "member" } })).GetProperty("result").GetProperty("success").GetBoolean());

        // remove_members(user, team): both go, and the restricted registry is hidden from the outsider again.
        var remove = new { input = new { userIds = new[] { outsiderId }, teamIds = new[] { teamId }, projectId = registryId } };
        Assert.Equal("FORBIDDEN", ErrorCode(await GraphQLAsync(world.Users["member"].Http, DeleteRegistryMembers, remove)));
        Assert.True(Data(await GraphQLAsync(admin, DeleteRegistryMembers, remove)).GetProperty("result").GetProperty("success").GetBoolean());
        Assert.DoesNotContain(outsider.Name, UserMembers(await GraphQLAsync(admin, RegistryUserMembers, new { project, entity = org })).Keys);
        Assert.Empty(Data(await GraphQLAsync(admin, RegistryTeamMembers, new { project, entity = org })).GetProperty("project").GetProperty("teamMembers").EnumerateArray());
        Assert.Equal("NOT_FOUND", ErrorCode(await GraphQLAsync(outsider.Http, FetchRegistry, new { name = project, entity = org })));

        // Ids that name nobody, or nothing, are refused without a 500.
        Assert.Equal("NOT_FOUND", ErrorCode(await GraphQLAsync(admin, CreateRegistryMembers, new { input = new { userIds = new[] { Encode("User", 7) }, projectId = registryId } })));
        Assert.Equal("BAD_USER_INPUT", ErrorCode(await GraphQLAsync(admin, CreateRegistryMembers, new { input = new { userIds = new[] { "not base64!" }, projectId = registryId } })));
        Assert.Equal("BAD_USER_INPUT", ErrorCode(await GraphQLAsync(admin, CreateRegistryMembers, new { input = new { userIds = Array.Empty<string>(), projectId = registryId } })));
        Assert.Equal("BAD_USER_INPUT", ErrorCode(await GraphQLAsync(admin, CreateRegistryMembers, new { input = new { userIds = new[] { outsiderId }, projectId = Encode("Project", 1) } })));
    }

    private sealed record Member(string Id, string Role);

    private static Dictionary<string, Member> UserMembers(JsonElement root) =>
        Data(root).GetProperty("project").GetProperty("members").EnumerateArray()
            .ToDictionary(m => m.GetProperty("username").GetString()!, m => new Member(m.GetProperty("id").GetString()!, m.GetProperty("role").GetProperty("name").GetString()!));

    /// <summary>What the client's <c>MemberId</c> does with an id: base64 of <c>&lt;kind&gt;:&lt;int&gt;</c>.</summary>
    private static long Number(string id, string kind)
    {
        var text = Encoding.ASCII.GetString(Convert.FromBase64String(id));
        var match = IdPattern().Match(text);
        Assert.True(match.Success && match.Groups[1].Value == kind, $"id '{id}' decodes to '{text}', not {kind}:<int>.");
        return long.Parse(match.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture);
    }

    private static string Encode(string kind, long number) => Convert.ToBase64String(Encoding.ASCII.GetBytes($"{kind}:{number}"));

    [GeneratedRegex("^(User|Entity):([0-9]+)$")]
    private static partial Regex IdPattern();

    private static Task<JsonElement> GraphQLAsync(HttpClient client, string query, object variables) => RegistryGraphQLTests.GraphQLAsync(client, query, variables);

    private static JsonElement Data(JsonElement root) => RegistryGraphQLTests.Data(root);

    private static string? ErrorCode(JsonElement root) => RegistryGraphQLTests.ErrorCode(root);
}
