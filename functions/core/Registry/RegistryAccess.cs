using System.Text.Json;
using Weightless.Core.Artifacts;
using Weightless.Core.Auth;
using Weightless.Core.Errors;
using Weightless.Core.Storage;
using Weightless.Core.Tenancy;

namespace Weightless.Core.Registry;

/// <summary>
/// The checks artifact code runs before it changes or reads a collection of a registry project
/// (<c>wandb-registry-*</c>, or the legacy <c>model-registry</c>): registry roles instead of the
/// entity's, protected aliases, accepted types.
/// </summary>
internal interface IRegistryPolicy
{
    /// <summary>The organization entity a client's entity means for a registry project (a personal entity means the user's organization).</summary>
    Task<string> ResolveEntityAsync(Principal principal, string entity, string project, CancellationToken cancellationToken);

    /// <summary>Throws unless the caller has <paramref name="role"/> in the registry (admin when any of <paramref name="aliases"/> is protected).</summary>
    Task AuthorizeAsync(Principal principal, string entity, string project, Role role, IReadOnlyCollection<string> aliases, CancellationToken cancellationToken);

    /// <summary>Linking <paramref name="source"/> into the registry: member role, an accepted type, a source of the organization.</summary>
    Task AuthorizeLinkAsync(Principal principal, string entity, string project, ArtifactRow source, IReadOnlyCollection<string> aliases, CancellationToken cancellationToken);
}

/// <summary>
/// Who may do what in a registry. Organizations are team entities; the organization's admins are
/// admins of every registry, its other members see organization-visible registries as viewers.
/// Users and teams invited to a registry get their role there; the effective role is the highest
/// of the individual and team roles (seed §3.3). Restricted registries are invisible (404) to
/// members who were not invited.
/// </summary>
internal sealed class RegistryAccess(StorageAccount storage, TenancyService tenancy, TimeProvider clock) : IRegistryPolicy
{
    public const string Table = "registries";

    public Task<TableStore> TableAsync() => storage.TableAsync(Table);

    /// <summary>The registry's row; core registries answer their defaults until edited; null for an unknown custom registry.</summary>
    public async Task<RegistryRow?> FindAsync(string organization, string name, CancellationToken cancellationToken)
    {
        var table = await TableAsync().ConfigureAwait(false);
        var row = await table.GetAsync<RegistryRow>(TableKeys.Escape(organization), RegistryKeys.RegistryRow(name), cancellationToken).ConfigureAwait(false);
        return row ?? (RegistryNames.IsCore(name) ? CoreDefaults(organization, name) : null);
    }

    public RegistryRow CoreDefaults(string organization, string name) => new()
    {
        PartitionKey = TableKeys.Escape(organization),
        RowKey = RegistryKeys.RegistryRow(name),
        Organization = organization,
        Name = name,
        Description = name == RegistryNames.Model ? "Models of the organization." : "Datasets of the organization.",
        Visibility = RegistryVisibility.Organization,
        ArtifactTypes = JsonSerializer.Serialize(new[] { name }),
        Core = true,
        CreatedAt = DateTimeOffset.UnixEpoch,
        UpdatedAt = DateTimeOffset.UnixEpoch,
    };

    /// <summary>The organization behind an entity name: a team is one; a user means their only team.</summary>
    public async Task<string> ResolveOrganizationAsync(Principal principal, string entity, CancellationToken cancellationToken)
    {
        var row = await tenancy.GetEntityAsync(entity, cancellationToken).ConfigureAwait(false)
            ?? throw new NotFoundException($"Entity '{entity}' not found.");
        if (row.Kind == "team")
        {
            return entity;
        }
        if (!string.Equals(entity, principal.UserName, StringComparison.Ordinal) && !principal.IsInstanceAdmin)
        {
            throw new NotFoundException($"Organization '{entity}' not found.");
        }
        var teams = (await tenancy.ListMembershipsAsync(entity, cancellationToken).ConfigureAwait(false)).Where(m => m.Kind == "team").Select(m => m.Entity).ToList();
        return teams.Count switch
        {
            1 => teams[0],
            0 => throw new NotFoundException($"'{entity}' belongs to no organization; registries live in team entities."),
            _ => throw new ValidationFailedException($"'{entity}' belongs to several organizations ({string.Join(", ", teams.Order(StringComparer.Ordinal))}); name one: '<org>/wandb-registry-<registry>/<collection>'.", "entityName"),
        };
    }

    /// <summary>The caller's effective role in a registry, or null when they may not see it.</summary>
    public async Task<Role?> RoleAsync(Principal principal, RegistryRow registry, CancellationToken cancellationToken)
    {
        if (principal.IsInstanceAdmin)
        {
            return Role.Admin;
        }
        var organizationRole = await tenancy.GetRoleAsync(principal, registry.Organization, cancellationToken).ConfigureAwait(false);
        if (organizationRole is null)
        {
            return null;
        }
        if (organizationRole == Role.Admin)
        {
            return Role.Admin;
        }
        Role? best = registry.Visibility == RegistryVisibility.Organization ? Role.Viewer : null;
        foreach (var member in await MembersAsync(registry, cancellationToken).ConfigureAwait(false))
        {
            var applies = member.Kind == RegistryMemberKinds.User
                ? string.Equals(member.Member, principal.UserName, StringComparison.Ordinal)
                : await tenancy.GetRoleAsync(principal, member.Member, cancellationToken).ConfigureAwait(false) is not null;
            var role = RoleNames.Parse(member.Role, "role");
            if (applies && (best is null || role > best))
            {
                best = role;
            }
        }
        return best;
    }

    public async Task<IReadOnlyList<RegistryMemberRow>> MembersAsync(RegistryRow registry, CancellationToken cancellationToken)
    {
        var table = await TableAsync().ConfigureAwait(false);
        var prefix = RegistryKeys.MemberPrefix(registry.Name);
        var list = new List<RegistryMemberRow>();
        await foreach (var row in table.QueryPartitionAsync<RegistryMemberRow>(registry.PartitionKey, prefix, TableKeys.PrefixEnd(prefix), cancellationToken).ConfigureAwait(false))
        {
            list.Add(row);
        }
        return list;
    }

    /// <summary>The registry after a role check: 404 when it does not exist or the caller may not see it, 403 when the role is too low.</summary>
    public async Task<(RegistryRow Registry, Role Role)> RequireAsync(Principal principal, string organization, string name, Role required, CancellationToken cancellationToken)
    {
        var registry = await FindAsync(organization, name, cancellationToken).ConfigureAwait(false);
        var role = registry is null ? null : await RoleAsync(principal, registry, cancellationToken).ConfigureAwait(false);
        if (registry is null || role is null)
        {
            throw new NotFoundException($"Registry '{name}' not found in '{organization}'.");
        }
        if (role < required)
        {
            throw new ForbiddenException($"This needs the {required.ToWire()} role in registry '{name}'; you are {role.Value.ToWire()}.");
        }
        return (registry, role.Value);
    }

    public static IReadOnlyList<string> Strings(string? json) =>
        string.IsNullOrEmpty(json) ? [] : JsonSerializer.Deserialize<List<string>>(json) ?? [];

    /// <summary>The role an alias change needs: protected aliases are for registry admins only.</summary>
    public static Role AliasRole(RegistryRow registry, IEnumerable<string> aliases, Role role)
    {
        var protectedAliases = Strings(registry.ProtectedAliases);
        return aliases.Any(a => protectedAliases.Contains(a, StringComparer.Ordinal)) ? Role.Admin : role;
    }

    public static bool AcceptsType(RegistryRow registry, string type) =>
        registry.AllowAllTypes || Strings(registry.ArtifactTypes).Contains(type, StringComparer.Ordinal);

    // ---------------------------------------------------------------- IRegistryPolicy

    public async Task<string> ResolveEntityAsync(Principal principal, string entity, string project, CancellationToken cancellationToken)
    {
        if (project == RegistryNames.LegacyModelProject)
        {
            return entity;
        }
        return await ResolveOrganizationAsync(principal, entity, cancellationToken).ConfigureAwait(false);
    }

    public async Task AuthorizeAsync(Principal principal, string entity, string project, Role role, IReadOnlyCollection<string> aliases, CancellationToken cancellationToken)
    {
        if (await LegacyPersonalAsync(entity, project, cancellationToken).ConfigureAwait(false))
        {
            await tenancy.RequireRoleAsync(principal, entity, role, cancellationToken).ConfigureAwait(false);
            return;
        }
        var name = RegistryNames.RegistryOf(project);
        if (project == RegistryNames.LegacyModelProject)
        {
            await AuthorizeLegacyAsync(principal, entity, role, aliases, cancellationToken).ConfigureAwait(false);
            return;
        }
        var (registry, _) = await RequireAsync(principal, entity, name, Role.Viewer, cancellationToken).ConfigureAwait(false);
        await RequireAsync(principal, entity, name, AliasRole(registry, aliases, role), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The legacy model registry of a team: team members add models and aliases as before (seed
    /// §15), the model registry's roles may raise that, and its protected aliases need its admins.
    /// </summary>
    private async Task AuthorizeLegacyAsync(Principal principal, string entity, Role role, IReadOnlyCollection<string> aliases, CancellationToken cancellationToken)
    {
        var registry = await FindAsync(entity, RegistryNames.Model, cancellationToken).ConfigureAwait(false) ?? CoreDefaults(entity, RegistryNames.Model);
        var teamRole = await tenancy.GetRoleAsync(principal, entity, cancellationToken).ConfigureAwait(false);
        var registryRole = await RoleAsync(principal, registry, cancellationToken).ConfigureAwait(false);
        var effective = teamRole is null ? registryRole : registryRole is null || teamRole > registryRole ? teamRole : registryRole;
        if (effective is null)
        {
            throw new NotFoundException($"Entity '{entity}' not found.");
        }
        var required = AliasRole(registry, aliases, role);
        if (effective < required)
        {
            throw new ForbiddenException($"This needs the {required.ToWire()} role in the model registry of '{entity}'; you are {effective.Value.ToWire()}.");
        }
    }

    public async Task AuthorizeLinkAsync(Principal principal, string entity, string project, ArtifactRow source, IReadOnlyCollection<string> aliases, CancellationToken cancellationToken)
    {
        if (!string.Equals(source.Entity, entity, StringComparison.Ordinal))
        {
            throw new ValidationFailedException($"Only versions logged to '{entity}' can be linked into its registries; log the artifact to that team first.", "artifactID");
        }
        await AuthorizeAsync(principal, entity, project, Role.Member, aliases, cancellationToken).ConfigureAwait(false);
        if (await LegacyPersonalAsync(entity, project, cancellationToken).ConfigureAwait(false))
        {
            return;
        }
        var registry = await FindAsync(entity, RegistryNames.RegistryOf(project), cancellationToken).ConfigureAwait(false);
        if (registry is not null && project != RegistryNames.LegacyModelProject && !AcceptsType(registry, source.Type))
        {
            throw new ValidationFailedException($"Registry '{registry.Name}' accepts artifact types {string.Join(", ", Strings(registry.ArtifactTypes))}; this version is a '{source.Type}'.", "artifactID");
        }
    }

    /// <summary>The legacy model registry of a personal entity has no organization: the entity's own roles apply.</summary>
    private async Task<bool> LegacyPersonalAsync(string entity, string project, CancellationToken cancellationToken) =>
        project == RegistryNames.LegacyModelProject && await tenancy.GetEntityAsync(entity, cancellationToken).ConfigureAwait(false) is not { Kind: "team" };

    public DateTimeOffset Now => clock.GetUtcNow();
}
