using Azure.Data.Tables;
using Weightless.Core.Auth;
using Weightless.Core.Errors;
using Weightless.Core.Storage;

namespace Weightless.Core.Tenancy;

/// <summary>Users, teams, memberships and API keys, and the one answer to "may this caller touch that entity?".</summary>
internal sealed class TenancyService(StorageAccount storage, TimeProvider clock)
{
    public const string EntitiesTable = "entities";
    public const string CredentialsTable = "credentials";

    private static string MemberRowKey(string user) => "member" + TableKeys.Separator + TableKeys.Escape(user);
    private static string TeamRowKey(string team) => "team" + TableKeys.Separator + TableKeys.Escape(team);
    private static string KeyRowKey(string keyId) => "key" + TableKeys.Separator + keyId;

    public async Task<EntityRow?> GetEntityAsync(string name, CancellationToken cancellationToken = default)
    {
        var table = await storage.TableAsync(EntitiesTable).ConfigureAwait(false);
        return await table.GetAsync<EntityRow>(TableKeys.Escape(name), EntityRow.ProfileRowKey, cancellationToken).ConfigureAwait(false);
    }

    public async Task<EntityRow> CreateUserAsync(string name, string? email, bool isInstanceAdmin, CancellationToken cancellationToken = default)
    {
        EntityNames.ValidateEntity(name);
        var row = new EntityRow
        {
            PartitionKey = TableKeys.Escape(name),
            Kind = "user",
            Email = email,
            DisplayName = name,
            IsInstanceAdmin = isInstanceAdmin,
            CreatedAt = clock.GetUtcNow(),
        };
        var table = await storage.TableAsync(EntitiesTable).ConfigureAwait(false);
        try
        {
            await table.AddAsync(row, cancellationToken).ConfigureAwait(false);
        }
        catch (ConflictException)
        {
            throw new ConflictException($"The name '{name}' is taken.");
        }
        return row;
    }

    public async Task<EntityRow> CreateTeamAsync(string name, string creator, CancellationToken cancellationToken = default)
    {
        EntityNames.ValidateEntity(name);
        var row = new EntityRow { PartitionKey = TableKeys.Escape(name), Kind = "team", DisplayName = name, CreatedAt = clock.GetUtcNow() };
        var table = await storage.TableAsync(EntitiesTable).ConfigureAwait(false);
        try
        {
            await table.AddAsync(row, cancellationToken).ConfigureAwait(false);
        }
        catch (ConflictException)
        {
            throw new ConflictException($"The name '{name}' is taken.");
        }
        await SetMembershipAsync(name, creator, Role.Admin, cancellationToken).ConfigureAwait(false);
        return row;
    }

    public async Task SetMembershipAsync(string team, string user, Role role, CancellationToken cancellationToken = default)
    {
        var teamRow = await GetEntityAsync(team, cancellationToken).ConfigureAwait(false);
        if (teamRow is not { Kind: "team" })
        {
            throw new NotFoundException($"Team '{team}' not found.");
        }
        if (await GetEntityAsync(user, cancellationToken).ConfigureAwait(false) is not { Kind: "user" })
        {
            throw new ValidationFailedException($"User '{user}' does not exist.", "user");
        }
        var now = clock.GetUtcNow();
        var table = await storage.TableAsync(EntitiesTable).ConfigureAwait(false);
        // Two partitions, so two writes: the team's row first, since it is the one access checks read.
        await table.UpsertAsync(new MembershipRow { PartitionKey = TableKeys.Escape(team), RowKey = MemberRowKey(user), Role = role.ToWire(), CreatedAt = now }, cancellationToken: cancellationToken).ConfigureAwait(false);
        await table.UpsertAsync(new MembershipRow { PartitionKey = TableKeys.Escape(user), RowKey = TeamRowKey(team), Role = role.ToWire(), CreatedAt = now }, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    public async Task RemoveMembershipAsync(string team, string user, CancellationToken cancellationToken = default)
    {
        var table = await storage.TableAsync(EntitiesTable).ConfigureAwait(false);
        await table.DeleteAsync(TableKeys.Escape(team), MemberRowKey(user), cancellationToken: cancellationToken).ConfigureAwait(false);
        await table.DeleteAsync(TableKeys.Escape(user), TeamRowKey(team), cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The caller's role in <paramref name="entity"/>, or null if they may not see it at all.</summary>
    public async Task<Role?> GetRoleAsync(Principal principal, string entity, CancellationToken cancellationToken = default)
    {
        if (string.Equals(principal.UserName, entity, StringComparison.Ordinal) || principal.IsInstanceAdmin)
        {
            return await GetEntityAsync(entity, cancellationToken).ConfigureAwait(false) is null ? null : Role.Admin;
        }
        var table = await storage.TableAsync(EntitiesTable).ConfigureAwait(false);
        var membership = await table.GetAsync<MembershipRow>(TableKeys.Escape(entity), MemberRowKey(principal.UserName), cancellationToken).ConfigureAwait(false);
        return membership is null ? null : RoleNames.Parse(membership.Role, "role");
    }

    /// <summary>
    /// Throws unless the caller has at least <paramref name="required"/> in <paramref name="entity"/>.
    /// No access at all is a 404, so that other tenants' names do not leak.
    /// </summary>
    public async Task<Role> RequireRoleAsync(Principal principal, string entity, Role required, CancellationToken cancellationToken = default)
    {
        var role = await GetRoleAsync(principal, entity, cancellationToken).ConfigureAwait(false)
            ?? throw new NotFoundException($"Entity '{entity}' not found.");
        if (role < required)
        {
            throw new ForbiddenException($"This needs the {required.ToWire()} role in '{entity}'; you are {role.ToWire()}.");
        }
        return role;
    }

    /// <summary>The entities the user belongs to, with roles: their own first.</summary>
    public async Task<IReadOnlyList<(string Entity, string Kind, Role Role)>> ListMembershipsAsync(string user, CancellationToken cancellationToken = default)
    {
        var result = new List<(string, string, Role)> { (user, "user", Role.Admin) };
        var table = await storage.TableAsync(EntitiesTable).ConfigureAwait(false);
        var prefix = "team" + TableKeys.Separator;
        await foreach (var row in table.QueryPartitionAsync<MembershipRow>(TableKeys.Escape(user), prefix, TableKeys.PrefixEnd(prefix), cancellationToken).ConfigureAwait(false))
        {
            result.Add((TableKeys.Unescape(row.RowKey[prefix.Length..]), "team", RoleNames.Parse(row.Role, "role")));
        }
        return result;
    }

    public async Task<IReadOnlyList<(string User, Role Role)>> ListMembersAsync(string team, CancellationToken cancellationToken = default)
    {
        var result = new List<(string, Role)>();
        var table = await storage.TableAsync(EntitiesTable).ConfigureAwait(false);
        var prefix = "member" + TableKeys.Separator;
        await foreach (var row in table.QueryPartitionAsync<MembershipRow>(TableKeys.Escape(team), prefix, TableKeys.PrefixEnd(prefix), cancellationToken).ConfigureAwait(false))
        {
            result.Add((TableKeys.Unescape(row.RowKey[prefix.Length..]), RoleNames.Parse(row.Role, "role")));
        }
        return result;
    }

    /// <summary>Every user and team (instance admins only).</summary>
    public async Task<IReadOnlyList<EntityRow>> ListEntitiesAsync(CancellationToken cancellationToken = default)
    {
        var table = await storage.TableAsync(EntitiesTable).ConfigureAwait(false);
        var rows = new List<EntityRow>();
        await foreach (var row in table.QueryAsync<EntityRow>(TableClient.CreateQueryFilter($"RowKey eq {EntityRow.ProfileRowKey}"), cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            rows.Add(row);
        }
        return rows;
    }

    /// <summary>Creates a key for <paramref name="user"/>; the returned secret is shown once and never stored.</summary>
    public async Task<(string KeyId, string Secret)> CreateApiKeyAsync(string user, string? description, string? secret = null, CancellationToken cancellationToken = default)
    {
        if (await GetEntityAsync(user, cancellationToken).ConfigureAwait(false) is not { Kind: "user" })
        {
            throw new NotFoundException($"User '{user}' not found.");
        }
        secret ??= ApiKeys.Generate();
        if (!ApiKeys.IsWellFormed(secret))
        {
            throw new ValidationFailedException("An API key is at least 40 characters of A–Z, a–z, 0–9 and '_'.", "key");
        }
        var keyId = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8));
        var hash = ApiKeys.Hash(secret);
        var now = clock.GetUtcNow();
        var credentials = await storage.TableAsync(CredentialsTable).ConfigureAwait(false);
        await credentials.AddAsync(new CredentialRow { PartitionKey = hash, User = user, KeyId = keyId }, cancellationToken).ConfigureAwait(false);
        var entities = await storage.TableAsync(EntitiesTable).ConfigureAwait(false);
        await entities.AddAsync(new ApiKeyRow
        {
            PartitionKey = TableKeys.Escape(user),
            RowKey = KeyRowKey(keyId),
            Hash = hash,
            Description = description,
            Preview = ApiKeys.Preview(secret),
            CreatedAt = now,
        }, cancellationToken).ConfigureAwait(false);
        return (keyId, secret);
    }

    public async Task<IReadOnlyList<ApiKeyRow>> ListApiKeysAsync(string user, CancellationToken cancellationToken = default)
    {
        var table = await storage.TableAsync(EntitiesTable).ConfigureAwait(false);
        var prefix = "key" + TableKeys.Separator;
        var rows = new List<ApiKeyRow>();
        await foreach (var row in table.QueryPartitionAsync<ApiKeyRow>(TableKeys.Escape(user), prefix, TableKeys.PrefixEnd(prefix), cancellationToken).ConfigureAwait(false))
        {
            rows.Add(row);
        }
        return rows;
    }

    public async Task RevokeApiKeyAsync(string user, string keyId, CancellationToken cancellationToken = default)
    {
        var entities = await storage.TableAsync(EntitiesTable).ConfigureAwait(false);
        var row = await entities.GetAsync<ApiKeyRow>(TableKeys.Escape(user), KeyRowKey(keyId), cancellationToken).ConfigureAwait(false)
            ?? throw new NotFoundException($"API key '{keyId}' not found.");
        var now = clock.GetUtcNow();
        // The credential row is what authentication reads, so revoke it first.
        var credentials = await storage.TableAsync(CredentialsTable).ConfigureAwait(false);
        var credential = await credentials.GetAsync<CredentialRow>(row.Hash, CredentialRow.RowKeyValue, cancellationToken).ConfigureAwait(false);
        if (credential is not null)
        {
            credential.RevokedAt ??= now;
            await credentials.UpsertAsync(credential, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        row.RevokedAt ??= now;
        await entities.UpsertAsync(row, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The user an API key belongs to, or null for an unknown or revoked key.</summary>
    public async Task<(EntityRow User, string KeyId)?> FindUserByApiKeyAsync(string key, CancellationToken cancellationToken = default)
    {
        var credentials = await storage.TableAsync(CredentialsTable).ConfigureAwait(false);
        var credential = await credentials.GetAsync<CredentialRow>(ApiKeys.Hash(key), CredentialRow.RowKeyValue, cancellationToken).ConfigureAwait(false);
        if (credential is null || credential.RevokedAt is not null)
        {
            return null;
        }
        var user = await GetEntityAsync(credential.User, cancellationToken).ConfigureAwait(false);
        return user is null ? null : (user, credential.KeyId ?? "");
    }

    /// <summary>
    /// The user behind an Entra identity (tenant id + object id). The first sign-in provisions a
    /// user named after the token's preferred user name.
    /// </summary>
    public async Task<EntityRow> FindOrProvisionEntraUserAsync(string tenantId, string objectId, string? preferredName, string? email, CancellationToken cancellationToken = default)
    {
        var credentials = await storage.TableAsync(CredentialsTable).ConfigureAwait(false);
        var partition = TableKeys.Compose("entra", tenantId, objectId);
        var credential = await credentials.GetAsync<CredentialRow>(partition, CredentialRow.RowKeyValue, cancellationToken).ConfigureAwait(false);
        if (credential is not null && await GetEntityAsync(credential.User, cancellationToken).ConfigureAwait(false) is { } existing)
        {
            return existing;
        }
        var baseName = Slug(preferredName ?? email ?? objectId);
        EntityRow? user = null;
        for (var attempt = 0; user is null; attempt++)
        {
            var candidate = attempt == 0 ? baseName : $"{baseName}-{attempt}";
            try
            {
                user = await CreateUserAsync(candidate, email, isInstanceAdmin: false, cancellationToken).ConfigureAwait(false);
            }
            catch (ConflictException) when (attempt < 50)
            {
            }
        }
        await credentials.UpsertAsync(new CredentialRow { PartitionKey = partition, User = TableKeys.Unescape(user.PartitionKey) }, cancellationToken: cancellationToken).ConfigureAwait(false);
        return user;
    }

    private static string Slug(string value)
    {
        var local = value.Split('@')[0].ToLowerInvariant();
        var chars = local.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '-').ToArray();
        var slug = new string(chars).Trim('-', '.', '_');
        if (slug.Length == 0)
        {
            slug = "user";
        }
        return slug.Length > 48 ? slug[..48] : slug;
    }
}
