using Weightless.Core.Auth;
using Weightless.Core.Errors;
using Weightless.Core.Http;

namespace Weightless.Core.Tenancy;

internal sealed record ViewerEntity(string Name, string Kind, string Role);

internal sealed record ViewerResponse(string Username, string? Email, bool Admin, string AuthMethod, string DefaultEntity, IReadOnlyList<ViewerEntity> Entities);

internal sealed record CreateUserRequest(string? Name, string? Email, bool Admin = false);

internal sealed record CreateTeamRequest(string? Name);

internal sealed record SetMemberRequest(string? User, string? Role);

internal sealed record CreateKeyRequest(string? Description);

internal sealed record EntityResponse(string Name, string Kind, string? Email, bool Admin, DateTimeOffset CreatedAt);

internal sealed record MemberResponse(string User, string Role);

internal sealed record ApiKeyResponse(string Id, string? Description, string Preview, DateTimeOffset CreatedAt, DateTimeOffset? RevokedAt);

/// <summary>The key and its id; <see cref="Key"/> is shown this once.</summary>
internal sealed record CreatedKeyResponse(string Id, string Key, string User);

/// <summary>Who-am-I and the account administration the REST API exposes.</summary>
internal sealed class AccountApi(TenancyService tenancy)
{
    public async Task<ViewerResponse> ViewerAsync(Principal principal, CancellationToken cancellationToken)
    {
        var user = await tenancy.GetEntityAsync(principal.UserName, cancellationToken).ConfigureAwait(false)
            ?? throw new UnauthenticatedException("The user no longer exists.");
        var memberships = await tenancy.ListMembershipsAsync(principal.UserName, cancellationToken).ConfigureAwait(false);
        return new ViewerResponse(
            principal.UserName,
            user.Email,
            principal.IsInstanceAdmin,
            principal.Method == AuthMethod.ApiKey ? "apiKey" : "entra",
            principal.UserName,
            memberships.Select(m => new ViewerEntity(m.Entity, m.Kind, m.Role.ToWire())).ToList());
    }

    public async Task<EntityResponse> CreateUserAsync(Principal principal, CreateUserRequest request, CancellationToken cancellationToken)
    {
        RequireInstanceAdmin(principal);
        var name = RequestBody.Required(request.Name, "name");
        var row = await tenancy.CreateUserAsync(name, request.Email, request.Admin, cancellationToken).ConfigureAwait(false);
        return ToResponse(row);
    }

    public async Task<IReadOnlyList<EntityResponse>> ListEntitiesAsync(Principal principal, CancellationToken cancellationToken)
    {
        RequireInstanceAdmin(principal);
        return (await tenancy.ListEntitiesAsync(cancellationToken).ConfigureAwait(false)).Select(ToResponse).ToList();
    }

    /// <summary>Any user may create a team; they become its admin.</summary>
    public async Task<EntityResponse> CreateTeamAsync(Principal principal, CreateTeamRequest request, CancellationToken cancellationToken)
    {
        var name = RequestBody.Required(request.Name, "name");
        return ToResponse(await tenancy.CreateTeamAsync(name, principal.UserName, cancellationToken).ConfigureAwait(false));
    }

    public async Task<IReadOnlyList<MemberResponse>> ListMembersAsync(Principal principal, string team, CancellationToken cancellationToken)
    {
        await tenancy.RequireRoleAsync(principal, team, Role.Viewer, cancellationToken).ConfigureAwait(false);
        var members = await tenancy.ListMembersAsync(team, cancellationToken).ConfigureAwait(false);
        return members.Select(m => new MemberResponse(m.User, m.Role.ToWire())).ToList();
    }

    public async Task<MemberResponse> SetMemberAsync(Principal principal, string team, SetMemberRequest request, CancellationToken cancellationToken)
    {
        await tenancy.RequireRoleAsync(principal, team, Role.Admin, cancellationToken).ConfigureAwait(false);
        var user = RequestBody.Required(request.User, "user");
        var role = RoleNames.Parse(request.Role, "role");
        await tenancy.SetMembershipAsync(team, user, role, cancellationToken).ConfigureAwait(false);
        return new MemberResponse(user, role.ToWire());
    }

    public async Task RemoveMemberAsync(Principal principal, string team, string user, CancellationToken cancellationToken)
    {
        await tenancy.RequireRoleAsync(principal, team, Role.Admin, cancellationToken).ConfigureAwait(false);
        await tenancy.RemoveMembershipAsync(team, user, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Users manage their own keys; instance admins manage anyone's.</summary>
    public async Task<CreatedKeyResponse> CreateKeyAsync(Principal principal, string user, CreateKeyRequest request, CancellationToken cancellationToken)
    {
        RequireSelfOrAdmin(principal, user);
        var (id, key) = await tenancy.CreateApiKeyAsync(user, request.Description, null, cancellationToken).ConfigureAwait(false);
        return new CreatedKeyResponse(id, key, user);
    }

    public async Task<IReadOnlyList<ApiKeyResponse>> ListKeysAsync(Principal principal, string user, CancellationToken cancellationToken)
    {
        RequireSelfOrAdmin(principal, user);
        var keys = await tenancy.ListApiKeysAsync(user, cancellationToken).ConfigureAwait(false);
        return keys.Select(k => new ApiKeyResponse(k.RowKey[(k.RowKey.IndexOf(':', StringComparison.Ordinal) + 1)..], k.Description, k.Preview, k.CreatedAt, k.RevokedAt)).ToList();
    }

    public Task RevokeKeyAsync(Principal principal, string user, string keyId, CancellationToken cancellationToken)
    {
        RequireSelfOrAdmin(principal, user);
        return tenancy.RevokeApiKeyAsync(user, keyId, cancellationToken);
    }

    private static void RequireInstanceAdmin(Principal principal)
    {
        if (!principal.IsInstanceAdmin)
        {
            throw new ForbiddenException("Only instance administrators may do this.");
        }
    }

    private static void RequireSelfOrAdmin(Principal principal, string user)
    {
        if (!principal.IsInstanceAdmin && !string.Equals(principal.UserName, user, StringComparison.Ordinal))
        {
            // Another user's keys: answer as if the user did not exist.
            throw new NotFoundException($"User '{user}' not found.");
        }
    }

    private static EntityResponse ToResponse(EntityRow row) =>
        new(Storage.TableKeys.Unescape(row.PartitionKey), row.Kind, row.Email, row.IsInstanceAdmin, row.CreatedAt);
}
