using System.Globalization;
using System.Text;
using GraphQL;
using GraphQL.Types;
using Weightless.Core.Errors;
using Weightless.Core.Registry;
using Weightless.Core.Runs;
using Weightless.Core.Tenancy;

namespace Weightless.Core.GraphQL;

/// <summary>
/// Registry members as the Python client (wandb ≥ 0.19, <c>Registry.members / user_members /
/// team_members / add_members / remove_members / update_member</c>) manages them, with the documents
/// of <c>wandb/sdk/artifacts/_generated/operations.py</c>: <c>project { members, teamMembers }</c>,
/// <c>createProjectMembers</c>, <c>deleteProjectMembers</c>, <c>updateProjectMember</c>,
/// <c>updateProjectTeamMember</c>. The client identifies members by ids it decodes to
/// <c>User:&lt;int&gt;</c> / <c>Entity:&lt;int&gt;</c> (<see cref="EntityGraphIds"/>). Roles are
/// checked by <see cref="RegistryService"/> exactly as over REST (members are managed by registry admins).
/// </summary>
internal static class RegistryMemberSchema
{
    public static void AddProjectFields(ObjectGraphType<ProjectSource> project)
    {
        project.Field<NonNullGraphType<ListGraphType<NonNullGraphType<ProjectMemberGraphType>>>>("members").ResolveAsync(async c =>
            await MembersAsync(c, RegistryMemberKinds.User).ConfigureAwait(false));
        project.Field<NonNullGraphType<ListGraphType<NonNullGraphType<ProjectTeamMemberGraphType>>>>("teamMembers").ResolveAsync(async c =>
            await MembersAsync(c, RegistryMemberKinds.Team).ConfigureAwait(false));
    }

    /// <summary>The fields of W&amp;B's <c>TeamFragment</c> on <c>Entity</c> (what <c>registry.team_members()</c> selects), and numeric ids.</summary>
    public static void AddTeamFields(ObjectGraphType<NamedSource> entity)
    {
        entity.GetField("id")!.Resolver = new global::GraphQL.Resolvers.FuncFieldResolver<NamedSource, object>(async c => await EntityGraphIds.EntityAsync(c, c.Source!.Name).ConfigureAwait(false));
        entity.Field<NonNullGraphType<BooleanGraphType>>("available").Resolve(_ => false);
        entity.Field<StringGraphType>("photoUrl").Resolve(_ => "");
        entity.Field<NonNullGraphType<BooleanGraphType>>("readOnly").Resolve(_ => false);
        entity.Field<NonNullGraphType<BooleanGraphType>>("readOnlyAdmin").Resolve(_ => false);
        entity.Field<NonNullGraphType<BooleanGraphType>>("isTeam").ResolveAsync(async c =>
            await c.Service<TenancyService>().GetEntityAsync(c.Source.Name, c.CancellationToken).ConfigureAwait(false) is { Kind: "team" });
        entity.Field<NonNullGraphType<BooleanGraphType>>("privateOnly").Resolve(_ => false);
        entity.Field<NonNullGraphType<Int64GraphType>>("storageBytes").Resolve(_ => 0L);
        entity.Field<NonNullGraphType<BooleanGraphType>>("codeSavingEnabled").Resolve(_ => false);
        entity.Field<StringGraphType>("defaultAccess").Resolve(_ => "PRIVATE");
        entity.Field<NonNullGraphType<BooleanGraphType>>("isPaid").Resolve(_ => false);
        // A team's members are listed to the team's own members only.
        entity.Field<NonNullGraphType<ListGraphType<NonNullGraphType<TeamMemberGraphType>>>>("members").ResolveAsync(async c =>
        {
            var tenancy = c.Service<TenancyService>();
            if (await tenancy.GetEntityAsync(c.Source.Name, c.CancellationToken).ConfigureAwait(false) is not { Kind: "team" }
                || await tenancy.GetRoleAsync(c.Principal(), c.Source.Name, c.CancellationToken).ConfigureAwait(false) is null)
            {
                return Array.Empty<RegistryMemberView>();
            }
            var members = await tenancy.ListMembersAsync(c.Source.Name, c.CancellationToken).ConfigureAwait(false);
            return members.Select(m => new RegistryMemberView(RegistryMemberKinds.User, m.User, m.Role.ToWire())).ToList();
        });
    }

    public static void AddMutations(ObjectGraphType mutation)
    {
        mutation.Field<CreateProjectMembersPayloadType>("createProjectMembers").Argument<NonNullGraphType<CreateProjectMembersInputType>>("input").ResolveAsync(async c =>
        {
            var (target, input) = await TargetAsync(c).ConfigureAwait(false);
            var members = await MemberNamesAsync(c, input).ConfigureAwait(false);
            var registries = c.Service<RegistryService>();
            var existing = await registries.ListMembersAsync(c.Principal(), target.Organization, target.Registry, c.CancellationToken).ConfigureAwait(false);
            foreach (var (kind, name) in members)
            {
                // Adding someone who already is a member keeps their role; newcomers are viewers (W&B's default).
                var role = existing.FirstOrDefault(m => m.Kind == kind && m.Name == name)?.Role ?? Role.Viewer.ToWire();
                await registries.SetMemberAsync(c.Principal(), target.Organization, target.Registry, Request(kind, name, role), c.CancellationToken).ConfigureAwait(false);
            }
            return true;
        });
        mutation.Field<DeleteProjectMembersPayloadType>("deleteProjectMembers").Argument<NonNullGraphType<DeleteProjectMembersInputType>>("input").ResolveAsync(async c =>
        {
            var (target, input) = await TargetAsync(c).ConfigureAwait(false);
            var members = await MemberNamesAsync(c, input).ConfigureAwait(false);
            foreach (var (kind, name) in members)
            {
                await c.Service<RegistryService>().RemoveMemberAsync(c.Principal(), target.Organization, target.Registry, kind, name, c.CancellationToken).ConfigureAwait(false);
            }
            return true;
        });
        mutation.Field<UpdateProjectMemberPayloadType>("updateProjectMember").Argument<NonNullGraphType<UpdateProjectMemberInputType>>("input").ResolveAsync(async c =>
        {
            var (target, input) = await TargetAsync(c).ConfigureAwait(false);
            var user = await EntityGraphIds.ParseAsync(c, ArtifactSchema.Text(input, "userId"), EntityGraphIds.UserKind, "userId").ConfigureAwait(false);
            await UpdateRoleAsync(c, target, RegistryMemberKinds.User, user, ArtifactSchema.Text(input, "userProjectRole"), "userProjectRole").ConfigureAwait(false);
            return true;
        });
        mutation.Field<UpdateProjectTeamMemberPayloadType>("updateProjectTeamMember").Argument<NonNullGraphType<UpdateProjectTeamMemberInputType>>("input").ResolveAsync(async c =>
        {
            var (target, input) = await TargetAsync(c).ConfigureAwait(false);
            var team = await EntityGraphIds.ParseAsync(c, ArtifactSchema.Text(input, "teamId"), EntityGraphIds.EntityKind, "teamId").ConfigureAwait(false);
            await UpdateRoleAsync(c, target, RegistryMemberKinds.Team, team, ArtifactSchema.Text(input, "teamProjectRole"), "teamProjectRole").ConfigureAwait(false);
            return true;
        });
    }

    private static async Task<object?> MembersAsync(IResolveFieldContext<ProjectSource> context, string kind)
    {
        if (!RegistryNames.IsRegistryProject(context.Source.Name))
        {
            return Array.Empty<RegistryMemberView>();
        }
        var members = await context.Service<RegistryService>().ListMembersAsync(context.Principal(), context.Source.Entity, RegistryNames.RegistryOf(context.Source.Name), context.CancellationToken).ConfigureAwait(false);
        return members.Where(m => m.Kind == kind).ToList();
    }

    private sealed record Target(string Organization, string Registry);

    /// <summary>The registry the input's <c>projectId</c> names (a registry project's id, as <c>Project.id</c> answers it).</summary>
    private static async Task<(Target Target, Dictionary<string, object?> Input)> TargetAsync(IResolveFieldContext context)
    {
        var input = context.GetArgument<Dictionary<string, object?>>("input");
        var (entity, project) = RegistryClientSchema.ParseProjectId(ArtifactSchema.Text(input, "projectId"), "projectId");
        var (organization, registry) = await RegistryClientSchema.RegistryProjectAsync(context, entity, project, "projectId").ConfigureAwait(false);
        return (new Target(organization, registry), input);
    }

    /// <summary>The members an input's <c>userIds</c> and <c>teamIds</c> name, all resolved before anything changes.</summary>
    private static async Task<List<(string Kind, string Name)>> MemberNamesAsync(IResolveFieldContext context, Dictionary<string, object?> input)
    {
        var members = new List<(string Kind, string Name)>();
        foreach (var (field, kind, graphKind) in new[] { ("userIds", RegistryMemberKinds.User, EntityGraphIds.UserKind), ("teamIds", RegistryMemberKinds.Team, EntityGraphIds.EntityKind) })
        {
            var ids = input.TryGetValue(field, out var list) && list is IEnumerable<object?> items ? items.Select(i => i?.ToString()).ToList() : [];
            foreach (var id in ids)
            {
                members.Add((kind, await EntityGraphIds.ParseAsync(context, id, graphKind, field).ConfigureAwait(false)));
            }
        }
        if (members.Count == 0)
        {
            throw new ValidationFailedException("Name at least one member in 'userIds' or 'teamIds'.", "userIds");
        }
        return members.Distinct().ToList();
    }

    private static async Task UpdateRoleAsync(IResolveFieldContext context, Target target, string kind, string member, string? role, string field)
    {
        var registries = context.Service<RegistryService>();
        var members = await registries.ListMembersAsync(context.Principal(), target.Organization, target.Registry, context.CancellationToken).ConfigureAwait(false);
        if (!members.Any(m => m.Kind == kind && m.Name == member))
        {
            throw new NotFoundException($"'{member}' is not a member of registry '{target.Registry}'; add them first.");
        }
        await registries.SetMemberAsync(context.Principal(), target.Organization, target.Registry, Request(kind, member, WireRole(role, field)), context.CancellationToken).ConfigureAwait(false);
    }

    private static SetRegistryMemberRequest Request(string kind, string name, string role) =>
        kind == RegistryMemberKinds.User ? new(name, null, role) : new(null, name, role);

    /// <summary>The client's role names (<c>MemberRole</c>); this server has no restricted viewer.</summary>
    private static string WireRole(string? role, string field) =>
        string.Equals(role?.Trim(), "restricted_viewer", StringComparison.OrdinalIgnoreCase)
            ? throw new ValidationFailedException("This server has no 'restricted_viewer' registry role; use viewer, member or admin.", field)
            : RoleNames.Parse(role, field).ToWire();
}

/// <summary>
/// GraphQL ids of users and teams: <c>User:&lt;n&gt;</c> and <c>Entity:&lt;n&gt;</c> (base64) with the
/// entity's stable number (<see cref="EntityNumbers"/>), which the Python client decodes as integers.
/// Ids of the older form (<c>User:&lt;name&gt;</c>, <see cref="RunIds.User"/>) are still accepted.
/// </summary>
internal static class EntityGraphIds
{
    public const string UserKind = "User";
    public const string EntityKind = "Entity";

    public static Task<string> UserAsync(IResolveFieldContext context, string name) => EncodeAsync(context, UserKind, name);

    public static Task<string> EntityAsync(IResolveFieldContext context, string name) => EncodeAsync(context, EntityKind, name);

    private static async Task<string> EncodeAsync(IResolveFieldContext context, string kind, string name)
    {
        var cacheKey = "entity-number:" + name;
        if (!context.UserContext.TryGetValue(cacheKey, out var cached))
        {
            cached = await context.Service<EntityNumbers>().NumberOfAsync(name, context.CancellationToken).ConfigureAwait(false);
            context.UserContext[cacheKey] = cached;
        }
        var body = cached is long number ? number.ToString(CultureInfo.InvariantCulture) : name;
        return Convert.ToBase64String(Encoding.UTF8.GetBytes($"{kind}:{body}"));
    }

    /// <summary>The entity a user id (<paramref name="kind"/> <c>User</c>) or team id (<c>Entity</c>) names; 4xx when it names none.</summary>
    public static async Task<string> ParseAsync(IResolveFieldContext context, string? id, string kind, string field)
    {
        string text;
        try
        {
            text = Encoding.UTF8.GetString(Convert.FromBase64String(id ?? ""));
        }
        catch (FormatException)
        {
            throw new ValidationFailedException($"'{id}' is not a {kind.ToLowerInvariant()} id.", field);
        }
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0 || text[..colon] != kind)
        {
            throw new ValidationFailedException($"'{id}' is not a {(kind == UserKind ? "user" : "team")} id ({kind}:<n>).", field);
        }
        var body = text[(colon + 1)..];
        var name = long.TryParse(body, NumberStyles.None, CultureInfo.InvariantCulture, out var number)
            ? await context.Service<EntityNumbers>().EntityOfAsync(number, context.CancellationToken).ConfigureAwait(false)
            : body;
        var row = name is null ? null : await context.Service<TenancyService>().GetEntityAsync(name, context.CancellationToken).ConfigureAwait(false);
        if (row is null || row.Kind != (kind == UserKind ? "user" : "team"))
        {
            throw new NotFoundException($"No {(kind == UserKind ? "user" : "team")} has the id '{id}'.");
        }
        return name!;
    }
}

internal sealed class RegistryRoleGraphType : ObjectGraphType<string>
{
    public RegistryRoleGraphType()
    {
        Name = "Role";
        Field<NonNullGraphType<StringGraphType>>("name").Resolve(c => c.Source);
    }
}

/// <summary>A user's membership of a registry (W&amp;B <c>ProjectMember</c>).</summary>
internal sealed class ProjectMemberGraphType : ObjectGraphType<RegistryMemberView>
{
    public ProjectMemberGraphType()
    {
        Name = "ProjectMember";
        Field<NonNullGraphType<IdGraphType>>("id").ResolveAsync(async c => await EntityGraphIds.UserAsync(c, c.Source.Name).ConfigureAwait(false));
        Field<NonNullGraphType<StringGraphType>>("name").Resolve(c => c.Source.Name);
        Field<NonNullGraphType<StringGraphType>>("username").Resolve(c => c.Source.Name);
        Field<StringGraphType>("email").ResolveAsync(async c => (await c.Service<TenancyService>().GetEntityAsync(c.Source.Name, c.CancellationToken).ConfigureAwait(false))?.Email);
        Field<NonNullGraphType<StringGraphType>>("accountType").Resolve(_ => "USER");
        Field<NonNullGraphType<RegistryRoleGraphType>>("role").Resolve(c => c.Source.Role);
    }
}

/// <summary>A team's membership of a registry (W&amp;B <c>ProjectTeamMember</c>).</summary>
internal sealed class ProjectTeamMemberGraphType : ObjectGraphType<RegistryMemberView>
{
    public ProjectTeamMemberGraphType()
    {
        Name = "ProjectTeamMember";
        Field<NonNullGraphType<EntityType>>("team").Resolve(c => new NamedSource(RunIds.Entity(c.Source.Name), c.Source.Name));
        Field<NonNullGraphType<RegistryRoleGraphType>>("role").Resolve(c => c.Source.Role);
    }
}

/// <summary>A member of a team (W&amp;B <c>Member</c>, as <c>TeamMemberFragment</c> selects it).</summary>
internal sealed class TeamMemberGraphType : ObjectGraphType<RegistryMemberView>
{
    public TeamMemberGraphType()
    {
        Name = "Member";
        Field<NonNullGraphType<IdGraphType>>("id").ResolveAsync(async c => await EntityGraphIds.UserAsync(c, c.Source.Name).ConfigureAwait(false));
        Field<NonNullGraphType<StringGraphType>>("role").Resolve(c => c.Source.Role);
        Field<NonNullGraphType<BooleanGraphType>>("pending").Resolve(_ => false);
        Field<StringGraphType>("email").ResolveAsync(async c => (await c.Service<TenancyService>().GetEntityAsync(c.Source.Name, c.CancellationToken).ConfigureAwait(false))?.Email);
        Field<NonNullGraphType<StringGraphType>>("username").Resolve(c => c.Source.Name);
        Field<NonNullGraphType<StringGraphType>>("name").Resolve(c => c.Source.Name);
        Field<StringGraphType>("photoUrl").Resolve(_ => "");
        Field<NonNullGraphType<StringGraphType>>("accountType").Resolve(_ => "USER");
        // API keys are never shown to others.
        Field<StringGraphType>("apiKey").Resolve(_ => null);
    }
}

internal abstract class ProjectMembersInputGraphType : InputObjectGraphType
{
    protected ProjectMembersInputGraphType(string name)
    {
        Name = name;
        Field<ListGraphType<NonNullGraphType<IdGraphType>>>("userIds");
        Field<ListGraphType<NonNullGraphType<IdGraphType>>>("teamIds");
        Field<NonNullGraphType<IdGraphType>>("projectId");
        Field<StringGraphType>("clientMutationId");
    }
}

internal sealed class CreateProjectMembersInputType() : ProjectMembersInputGraphType("CreateProjectMembersInput");

internal sealed class DeleteProjectMembersInputType() : ProjectMembersInputGraphType("DeleteProjectMembersInput");

internal sealed class UpdateProjectMemberInputType : InputObjectGraphType
{
    public UpdateProjectMemberInputType()
    {
        Name = "UpdateProjectMemberInput";
        Field<NonNullGraphType<IdGraphType>>("userId");
        Field<NonNullGraphType<IdGraphType>>("projectId");
        Field<NonNullGraphType<StringGraphType>>("userProjectRole");
        Field<StringGraphType>("clientMutationId");
    }
}

internal sealed class UpdateProjectTeamMemberInputType : InputObjectGraphType
{
    public UpdateProjectTeamMemberInputType()
    {
        Name = "UpdateProjectTeamMemberInput";
        Field<NonNullGraphType<IdGraphType>>("teamId");
        Field<NonNullGraphType<IdGraphType>>("projectId");
        Field<NonNullGraphType<StringGraphType>>("teamProjectRole");
        Field<StringGraphType>("clientMutationId");
    }
}

internal abstract class MemberSuccessPayloadGraphType : ObjectGraphType<bool>
{
    protected MemberSuccessPayloadGraphType(string name)
    {
        Name = name;
        Field<NonNullGraphType<BooleanGraphType>>("success").Resolve(c => c.Source);
        Field<StringGraphType>("clientMutationId").Resolve(_ => null);
    }
}

internal sealed class CreateProjectMembersPayloadType() : MemberSuccessPayloadGraphType("CreateProjectMembersPayload");

internal sealed class DeleteProjectMembersPayloadType() : MemberSuccessPayloadGraphType("DeleteProjectMembersPayload");

internal sealed class UpdateProjectMemberPayloadType() : MemberSuccessPayloadGraphType("UpdateProjectMemberPayload");

internal sealed class UpdateProjectTeamMemberPayloadType() : MemberSuccessPayloadGraphType("UpdateProjectTeamMemberPayload");
