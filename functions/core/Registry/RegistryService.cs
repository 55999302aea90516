using System.Text.Json;
using Weightless.Core.Artifacts;
using Weightless.Core.Auth;
using Weightless.Core.Errors;
using Weightless.Core.Storage;
using Weightless.Core.Tenancy;

namespace Weightless.Core.Registry;

/// <summary>
/// The Registry (seed §3): registries of an organization with members, roles and protected
/// aliases; their collections of linked versions (kept by <see cref="ArtifactService"/> in project
/// <c>wandb-registry-&lt;name&gt;</c> of the organization entity); search. Every operation checks the
/// caller's registry role first (<see cref="RegistryAccess"/>).
/// </summary>
internal sealed class RegistryService(RegistryAccess access, ArtifactService artifacts, TenancyService tenancy)
{
    private const int MaxTextChars = 30_000;

    // ---------------------------------------------------------------- registries

    public async Task<IReadOnlyList<RegistryView>> ListAsync(Principal principal, string organization, CancellationToken cancellationToken)
    {
        await RequireOrganizationAsync(principal, organization, Role.Viewer, cancellationToken).ConfigureAwait(false);
        var views = new List<RegistryView>();
        foreach (var registry in await AllAsync(organization, cancellationToken).ConfigureAwait(false))
        {
            if (await access.RoleAsync(principal, registry, cancellationToken).ConfigureAwait(false) is { } role)
            {
                views.Add(View(registry, role));
            }
        }
        return views;
    }

    public async Task<RegistryView> GetAsync(Principal principal, string organization, string name, CancellationToken cancellationToken)
    {
        var (registry, role) = await access.RequireAsync(principal, organization, RegistryNames.Validate(name), Role.Viewer, cancellationToken).ConfigureAwait(false);
        return View(registry, role);
    }

    /// <summary>A custom registry; any organization member may create one and becomes its admin.</summary>
    public async Task<RegistryView> CreateAsync(Principal principal, string organization, CreateRegistryRequest request, CancellationToken cancellationToken)
    {
        var name = RegistryNames.Validate(request.Name);
        CheckText(request.Description, "description");
        var visibility = request.Visibility is null ? RegistryVisibility.Organization : RegistryVisibility.Parse(request.Visibility, "visibility");
        var types = ValidateTypes(request.ArtifactTypes);
        await RequireOrganizationAsync(principal, organization, Role.Member, cancellationToken).ConfigureAwait(false);
        if (RegistryNames.IsCore(name))
        {
            throw new ConflictException($"'{name}' is a core registry of every organization.");
        }
        var now = access.Now;
        var row = new RegistryRow
        {
            PartitionKey = TableKeys.Escape(organization),
            RowKey = RegistryKeys.RegistryRow(name),
            Organization = organization,
            Name = name,
            Description = request.Description,
            Visibility = visibility,
            AllowAllTypes = request.AllowAllTypes ?? types.Count == 0,
            ArtifactTypes = JsonSerializer.Serialize(types),
            CreatedBy = principal.UserName,
            CreatedAt = now,
            UpdatedAt = now,
        };
        var table = await access.TableAsync().ConfigureAwait(false);
        try
        {
            row.ETag = await table.AddAsync(row, cancellationToken).ConfigureAwait(false);
        }
        catch (ConflictException)
        {
            throw new ConflictException($"Registry '{name}' already exists in '{organization}'.");
        }
        await PutMemberAsync(row, RegistryMemberKinds.User, principal.UserName, Role.Admin, cancellationToken).ConfigureAwait(false);
        return View(row, Role.Admin);
    }

    /// <summary>
    /// Name and description need the member role; visibility and accepted types need admin.
    /// Organization → restricted only; core registries keep their name, description, visibility
    /// and preconfigured type. A registry is renamed only while it holds no collections.
    /// </summary>
    public async Task<RegistryView> EditAsync(Principal principal, string organization, string name, EditRegistryRequest request, CancellationToken cancellationToken)
    {
        name = RegistryNames.Validate(name, "registry");
        CheckText(request.Description, "description");
        var adminChange = request.Visibility is not null || request.ArtifactTypes is not null || request.AllowAllTypes is not null;
        var (registry, role) = await access.RequireAsync(principal, organization, name, adminChange ? Role.Admin : Role.Member, cancellationToken).ConfigureAwait(false);
        var newName = request.Name is null ? name : RegistryNames.Validate(request.Name);
        if (registry.Core && (newName != name || request.Description is not null || request.Visibility is not null))
        {
            throw new ValidationFailedException("A core registry's name, description and visibility cannot change; add accepted types instead.", request.Visibility is not null ? "visibility" : "name");
        }
        if (request.Visibility is not null)
        {
            var visibility = RegistryVisibility.Parse(request.Visibility, "visibility");
            if (registry.Visibility == RegistryVisibility.Restricted && visibility == RegistryVisibility.Organization)
            {
                throw new ValidationFailedException("A restricted registry cannot become visible to the whole organization.", "visibility");
            }
            registry.Visibility = visibility;
        }
        if (request.ArtifactTypes is not null)
        {
            var types = ValidateTypes(request.ArtifactTypes);
            if (registry.Core && !types.Contains(registry.Name, StringComparer.Ordinal))
            {
                throw new ValidationFailedException($"The core registry '{registry.Name}' always accepts '{registry.Name}'.", "artifactTypes");
            }
            registry.ArtifactTypes = JsonSerializer.Serialize(types);
        }
        if (request.AllowAllTypes is { } all)
        {
            if (registry.Core && all)
            {
                throw new ValidationFailedException("A core registry accepts listed types only.", "allowAllTypes");
            }
            registry.AllowAllTypes = all;
        }
        registry.Description = request.Description ?? registry.Description;
        registry.UpdatedAt = access.Now;
        var table = await access.TableAsync().ConfigureAwait(false);
        if (newName != name)
        {
            await RenameAsync(registry, newName, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            registry.ETag = await table.UpsertAsync(registry, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        return View(registry, role);
    }

    private async Task RenameAsync(RegistryRow registry, string newName, CancellationToken cancellationToken)
    {
        if ((await artifacts.ListCollectionsAsync(registry.Organization, RegistryNames.Project(registry.Name), null, cancellationToken).ConfigureAwait(false)).Count > 0)
        {
            throw new ConflictException($"Registry '{registry.Name}' holds collections; it can be renamed only while empty (clients' paths name it).");
        }
        var members = await access.MembersAsync(registry, cancellationToken).ConfigureAwait(false);
        var table = await access.TableAsync().ConfigureAwait(false);
        var oldName = registry.Name;
        registry.Name = newName;
        registry.RowKey = RegistryKeys.RegistryRow(newName);
        try
        {
            registry.ETag = await table.AddAsync(registry, cancellationToken).ConfigureAwait(false);
        }
        catch (ConflictException)
        {
            throw new ConflictException($"Registry '{newName}' already exists in '{registry.Organization}'.");
        }
        foreach (var member in members)
        {
            await PutMemberAsync(registry, member.Kind, member.Member, RoleNames.Parse(member.Role, "role"), cancellationToken).ConfigureAwait(false);
            await table.DeleteAsync(member.PartitionKey, member.RowKey, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        await table.DeleteAsync(registry.PartitionKey, RegistryKeys.RegistryRow(oldName), cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Deletes a custom registry with its collections and members (admins only).</summary>
    public async Task DeleteAsync(Principal principal, string organization, string name, CancellationToken cancellationToken)
    {
        var (registry, _) = await access.RequireAsync(principal, organization, RegistryNames.Validate(name, "registry"), Role.Admin, cancellationToken).ConfigureAwait(false);
        if (registry.Core)
        {
            throw new ValidationFailedException("Core registries cannot be deleted.", "registry");
        }
        foreach (var collection in await artifacts.ListCollectionsAsync(organization, RegistryNames.Project(registry.Name), null, cancellationToken).ConfigureAwait(false))
        {
            await artifacts.DeletePortfolioAsync(collection.Key, cancellationToken).ConfigureAwait(false);
        }
        var table = await access.TableAsync().ConfigureAwait(false);
        foreach (var member in await access.MembersAsync(registry, cancellationToken).ConfigureAwait(false))
        {
            await table.DeleteAsync(member.PartitionKey, member.RowKey, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        await table.DeleteAsync(registry.PartitionKey, registry.RowKey, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Replaces the registry's protected aliases (admins only).</summary>
    public async Task<RegistryView> SetProtectedAliasesAsync(Principal principal, string organization, string name, ProtectedAliasesRequest request, CancellationToken cancellationToken)
    {
        var (registry, role) = await access.RequireAsync(principal, organization, RegistryNames.Validate(name, "registry"), Role.Admin, cancellationToken).ConfigureAwait(false);
        var aliases = (request.Aliases ?? throw new ValidationFailedException("'aliases' (a list) is required.", "aliases"))
            .Select(a => ArtifactIds.ValidateAlias(a, "aliases"))
            .Distinct(StringComparer.Ordinal)
            .ToList();
        if (aliases.Contains(ArtifactService.Latest))
        {
            throw new ValidationFailedException("'latest' moves by itself; it cannot be protected.", "aliases");
        }
        if (aliases.Count > ArtifactService.MaxAliasesPerVersion)
        {
            throw new ValidationFailedException($"At most {ArtifactService.MaxAliasesPerVersion} protected aliases.", "aliases");
        }
        registry.ProtectedAliases = JsonSerializer.Serialize(aliases);
        registry.UpdatedAt = access.Now;
        var table = await access.TableAsync().ConfigureAwait(false);
        registry.ETag = await table.UpsertAsync(registry, cancellationToken: cancellationToken).ConfigureAwait(false);
        return View(registry, role);
    }

    // ---------------------------------------------------------------- members

    public async Task<IReadOnlyList<RegistryMemberView>> ListMembersAsync(Principal principal, string organization, string name, CancellationToken cancellationToken)
    {
        var (registry, _) = await access.RequireAsync(principal, organization, RegistryNames.Validate(name, "registry"), Role.Viewer, cancellationToken).ConfigureAwait(false);
        return (await access.MembersAsync(registry, cancellationToken).ConfigureAwait(false))
            .Select(m => new RegistryMemberView(m.Kind, m.Member, m.Role))
            .OrderBy(m => m.Kind, StringComparer.Ordinal).ThenBy(m => m.Name, StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>Adds a user of the organization or a team with a role (a team defaults to viewer), or changes the role.</summary>
    public async Task<RegistryMemberView> SetMemberAsync(Principal principal, string organization, string name, SetRegistryMemberRequest request, CancellationToken cancellationToken)
    {
        var (registry, _) = await access.RequireAsync(principal, organization, RegistryNames.Validate(name, "registry"), Role.Admin, cancellationToken).ConfigureAwait(false);
        if ((request.User is null) == (request.Team is null))
        {
            throw new ValidationFailedException("Give exactly one of 'user' and 'team'.", "user");
        }
        var role = request.Role is null ? Role.Viewer : RoleNames.Parse(request.Role, "role");
        string kind, member;
        if (request.User is not null)
        {
            member = EntityNames.ValidateEntity(request.User, "user");
            var memberships = await tenancy.ListMembershipsAsync(member, cancellationToken).ConfigureAwait(false);
            if (await tenancy.GetEntityAsync(member, cancellationToken).ConfigureAwait(false) is not { Kind: "user" } || !memberships.Any(m => m.Entity == organization))
            {
                throw new ValidationFailedException($"'{member}' is not a member of the organization '{organization}'.", "user");
            }
            kind = RegistryMemberKinds.User;
        }
        else
        {
            member = EntityNames.ValidateEntity(request.Team, "team");
            if (await tenancy.GetEntityAsync(member, cancellationToken).ConfigureAwait(false) is not { Kind: "team" })
            {
                throw new ValidationFailedException($"Team '{member}' does not exist.", "team");
            }
            kind = RegistryMemberKinds.Team;
        }
        await PutMemberAsync(registry, kind, member, role, cancellationToken).ConfigureAwait(false);
        return new RegistryMemberView(kind, member, role.ToWire());
    }

    public async Task RemoveMemberAsync(Principal principal, string organization, string name, string kind, string member, CancellationToken cancellationToken)
    {
        var (registry, _) = await access.RequireAsync(principal, organization, RegistryNames.Validate(name, "registry"), Role.Admin, cancellationToken).ConfigureAwait(false);
        if (kind is not (RegistryMemberKinds.User or RegistryMemberKinds.Team))
        {
            throw new ValidationFailedException("The member kind is 'user' or 'team'.", "kind");
        }
        var table = await access.TableAsync().ConfigureAwait(false);
        if (await table.GetAsync<RegistryMemberRow>(registry.PartitionKey, RegistryKeys.MemberRow(registry.Name, kind, member), cancellationToken).ConfigureAwait(false) is null)
        {
            throw new NotFoundException($"'{member}' is not a member of registry '{registry.Name}'.");
        }
        await table.DeleteAsync(registry.PartitionKey, RegistryKeys.MemberRow(registry.Name, kind, member), cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    private async Task PutMemberAsync(RegistryRow registry, string kind, string member, Role role, CancellationToken cancellationToken)
    {
        var table = await access.TableAsync().ConfigureAwait(false);
        await table.UpsertAsync(new RegistryMemberRow
        {
            PartitionKey = registry.PartitionKey,
            RowKey = RegistryKeys.MemberRow(registry.Name, kind, member),
            Registry = registry.Name,
            Kind = kind,
            Member = member,
            Role = role.ToWire(),
            CreatedAt = access.Now,
        }, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    // ---------------------------------------------------------------- collections

    public async Task<IReadOnlyList<RegistryCollectionView>> ListCollectionsAsync(Principal principal, string organization, string name, RegistryFilter filter, CancellationToken cancellationToken)
    {
        var (registry, _) = await access.RequireAsync(principal, organization, RegistryNames.Validate(name, "registry"), Role.Viewer, cancellationToken).ConfigureAwait(false);
        return await CollectionsAsync(registry, filter, cancellationToken).ConfigureAwait(false);
    }

    public async Task<RegistryCollectionView> GetCollectionAsync(Principal principal, string organization, string name, string collection, CancellationToken cancellationToken)
    {
        var (registry, row) = await CollectionAsync(principal, organization, name, collection, Role.Viewer, cancellationToken).ConfigureAwait(false);
        return View(registry, row);
    }

    public async Task<RegistryCollectionView> CreateCollectionAsync(Principal principal, string organization, string name, CreateRegistryCollectionRequest request, CancellationToken cancellationToken)
    {
        var collection = ArtifactIds.ValidateCollection(request.Name, "name");
        var type = ArtifactIds.ValidateType(request.Type, "type");
        var tags = ArtifactService.ValidateTags(request.Tags, "tags");
        var (registry, _) = await access.RequireAsync(principal, organization, RegistryNames.Validate(name, "registry"), Role.Member, cancellationToken).ConfigureAwait(false);
        if (!RegistryAccess.AcceptsType(registry, type))
        {
            throw new ValidationFailedException($"Registry '{registry.Name}' accepts artifact types {string.Join(", ", RegistryAccess.Strings(registry.ArtifactTypes))}.", "type");
        }
        var row = await artifacts.CreatePortfolioAsync(Key(registry, collection), type, request.Description, tags, cancellationToken).ConfigureAwait(false);
        return View(registry, row);
    }

    public async Task<RegistryCollectionView> EditCollectionAsync(Principal principal, string organization, string name, string collection, EditRegistryCollectionRequest request, CancellationToken cancellationToken)
    {
        var (registry, row) = await CollectionAsync(principal, organization, name, collection, Role.Member, cancellationToken).ConfigureAwait(false);
        var updated = await artifacts.UpdateCollectionAsync(row.Key, request.Description, request.Tags, null, cancellationToken).ConfigureAwait(false);
        return View(registry, updated);
    }

    public async Task DeleteCollectionAsync(Principal principal, string organization, string name, string collection, CancellationToken cancellationToken)
    {
        var (_, row) = await CollectionAsync(principal, organization, name, collection, Role.Member, cancellationToken).ConfigureAwait(false);
        await artifacts.DeletePortfolioAsync(row.Key, cancellationToken).ConfigureAwait(false);
    }

    // ---------------------------------------------------------------- versions

    public async Task<IReadOnlyList<RegistryVersionView>> ListVersionsAsync(Principal principal, string organization, string name, string collection, RegistryFilter filter, CancellationToken cancellationToken)
    {
        var (registry, row) = await CollectionAsync(principal, organization, name, collection, Role.Viewer, cancellationToken).ConfigureAwait(false);
        return await VersionsAsync(registry, row, filter, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Links a committed version into the collection (created with the version's type if new) through the artifact link code.</summary>
    public async Task<RegistryVersionView> LinkAsync(Principal principal, string organization, string name, string collection, LinkRegistryVersionRequest request, CancellationToken cancellationToken)
    {
        var collectionName = ArtifactIds.ValidateCollection(collection, "collection");
        var (registry, _) = await access.RequireAsync(principal, organization, RegistryNames.Validate(name, "registry"), Role.Viewer, cancellationToken).ConfigureAwait(false);
        ArtifactKey source;
        if (!string.IsNullOrWhiteSpace(request.ArtifactId))
        {
            source = ArtifactIds.ParseArtifact(request.ArtifactId, "artifactId");
        }
        else
        {
            var entity = EntityNames.ValidateEntity(request.Entity ?? organization, "entity");
            var project = EntityNames.ValidateProject(request.Project, "project");
            await tenancy.RequireRoleAsync(principal, entity, Role.Viewer, cancellationToken).ConfigureAwait(false);
            var found = await artifacts.FindByNameAsync(entity, project, request.Artifact, cancellationToken).ConfigureAwait(false)
                ?? throw new NotFoundException($"Artifact '{request.Artifact}' not found in {entity}/{project}.");
            source = found.Artifact.Key;
        }
        var index = await artifacts.LinkAsync(principal, source, organization, RegistryNames.Project(registry.Name), collectionName, request.Aliases ?? [], cancellationToken).ConfigureAwait(false);
        var row = await artifacts.FindCollectionAsync(Key(registry, collectionName), cancellationToken).ConfigureAwait(false)
            ?? throw new NotFoundException($"Collection '{collectionName}' not found.");
        var versions = await VersionsAsync(registry, row, RegistryFilter.None, cancellationToken).ConfigureAwait(false);
        return versions.First(v => v.Version == $"v{index}");
    }

    /// <summary>Unlinks version <c>vN</c> (or the version an alias names) from the collection; the source version stays.</summary>
    public async Task UnlinkAsync(Principal principal, string organization, string name, string collection, string version, CancellationToken cancellationToken)
    {
        var (registry, row) = await CollectionAsync(principal, organization, name, collection, Role.Member, cancellationToken).ConfigureAwait(false);
        var found = await artifacts.FindByNameAsync(registry.Organization, RegistryNames.Project(registry.Name), $"{row.Name}:{version}", cancellationToken).ConfigureAwait(false)
            ?? throw new NotFoundException($"Version '{version}' of '{row.Name}' not found.");
        // Unlinking takes the version's aliases with it: protected ones make it an admin's job.
        await access.AuthorizeAsync(principal, registry.Organization, RegistryNames.Project(registry.Name), Role.Member, await AliasesOfAsync(row, found.Index, cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
        if (!await artifacts.UnlinkAsync(row.Key, found.Index, cancellationToken).ConfigureAwait(false))
        {
            throw new NotFoundException($"Version '{version}' of '{row.Name}' not found.");
        }
    }

    /// <summary>Points an alias at a version (moving it); protected aliases need the registry admin role.</summary>
    public async Task<RegistryVersionView> SetAliasAsync(Principal principal, string organization, string name, string collection, string alias, SetRegistryAliasRequest request, CancellationToken cancellationToken)
    {
        var (registry, row) = await CollectionAsync(principal, organization, name, collection, Role.Viewer, cancellationToken).ConfigureAwait(false);
        var version = string.IsNullOrWhiteSpace(request.Version) ? throw new ValidationFailedException("'version' (e.g. \"v3\") is required.", "version") : request.Version.Trim();
        var found = await artifacts.FindByNameAsync(registry.Organization, row.Project, $"{row.Name}:{version}", cancellationToken).ConfigureAwait(false)
            ?? throw new NotFoundException($"Version '{version}' of '{row.Name}' not found.");
        await artifacts.AddAliasAsync(principal, row.Key, found.Index, alias, cancellationToken).ConfigureAwait(false);
        var versions = await VersionsAsync(registry, row, RegistryFilter.None, cancellationToken).ConfigureAwait(false);
        return versions.First(v => v.Version == $"v{found.Index}");
    }

    public async Task RemoveAliasAsync(Principal principal, string organization, string name, string collection, string alias, CancellationToken cancellationToken)
    {
        var (_, row) = await CollectionAsync(principal, organization, name, collection, Role.Viewer, cancellationToken).ConfigureAwait(false);
        if (!await artifacts.RemoveAliasAsync(principal, row.Key, alias, cancellationToken).ConfigureAwait(false))
        {
            throw new NotFoundException($"Alias '{alias}' not found in '{row.Name}'.");
        }
    }

    // ---------------------------------------------------------------- search

    /// <summary>
    /// Search over what the caller may view (seed §3.7): registry names, collection names and tags,
    /// version tags and aliases match <see cref="RegistryFilter.Query"/> (case-insensitive substring);
    /// the other filters narrow collections and versions.
    /// </summary>
    public async Task<RegistrySearchView> SearchAsync(Principal principal, string organization, RegistryFilter filter, CancellationToken cancellationToken)
    {
        await RequireOrganizationAsync(principal, organization, Role.Viewer, cancellationToken).ConfigureAwait(false);
        var registries = new List<RegistryView>();
        var collections = new List<RegistryCollectionView>();
        var versions = new List<RegistryVersionView>();
        foreach (var registry in await AllAsync(organization, cancellationToken).ConfigureAwait(false))
        {
            if (await access.RoleAsync(principal, registry, cancellationToken).ConfigureAwait(false) is not { } role)
            {
                continue;
            }
            if (filter.Query is null || Contains(registry.Name, filter.Query))
            {
                registries.Add(View(registry, role));
            }
            foreach (var row in await artifacts.ListCollectionsAsync(organization, RegistryNames.Project(registry.Name), filter.Type, cancellationToken).ConfigureAwait(false))
            {
                var view = View(registry, row);
                var collectionMatches = filter.Query is null || Contains(row.Name, filter.Query) || view.Tags.Any(t => Contains(t, filter.Query));
                if (collectionMatches && (filter.Tag is null || view.Tags.Contains(filter.Tag, StringComparer.Ordinal)) && filter.Alias is null && filter.Metadata.Count == 0)
                {
                    collections.Add(view);
                }
                var versionFilter = filter with { Query = null, Tag = null };
                foreach (var version in await VersionsAsync(registry, row, versionFilter, cancellationToken).ConfigureAwait(false))
                {
                    var queryMatches = filter.Query is null || version.Tags.Any(t => Contains(t, filter.Query)) || version.Aliases.Any(a => Contains(a, filter.Query));
                    var tagMatches = filter.Tag is null || version.Tags.Contains(filter.Tag, StringComparer.Ordinal);
                    if (queryMatches && tagMatches && (filter.Query is not null || filter.Tag is not null || filter.Alias is not null || filter.Metadata.Count > 0))
                    {
                        versions.Add(version);
                    }
                }
            }
        }
        return new RegistrySearchView(registries, collections, versions);
    }

    // ---------------------------------------------------------------- client (GraphQL) listings and upsert

    /// <summary>The registries the caller sees whose document (<see cref="RegistryDocuments.Registry"/>) matches the filter.</summary>
    public async Task<IReadOnlyList<RegistryView>> FindRegistriesAsync(Principal principal, string organization, RegistryDocumentFilter filter, CancellationToken cancellationToken) =>
        (await ListAsync(principal, organization, cancellationToken).ConfigureAwait(false)).Where(v => filter.Matches(RegistryDocuments.Registry(v))).ToList();

    /// <summary>Collections of the visible registries matching both filters, by registry then name.</summary>
    public async Task<IReadOnlyList<CollectionRow>> FindCollectionsAsync(Principal principal, string organization, RegistryDocumentFilter registryFilter, RegistryDocumentFilter collectionFilter, CancellationToken cancellationToken)
    {
        var result = new List<CollectionRow>();
        foreach (var (registry, _) in await VisibleAsync(principal, organization, registryFilter, cancellationToken).ConfigureAwait(false))
        {
            foreach (var row in await artifacts.ListCollectionsAsync(organization, RegistryNames.Project(registry.Name), null, cancellationToken).ConfigureAwait(false))
            {
                if (collectionFilter.Matches(RegistryDocuments.Collection(View(registry, row))))
                {
                    result.Add(row);
                }
            }
        }
        return result;
    }

    /// <summary>Linked versions of the visible registries and matching collections whose document matches <paramref name="versionFilter"/>.</summary>
    public async Task<IReadOnlyList<RegistryMembership>> FindVersionsAsync(Principal principal, string organization, RegistryDocumentFilter registryFilter, RegistryDocumentFilter collectionFilter, RegistryDocumentFilter versionFilter, CancellationToken cancellationToken)
    {
        var result = new List<RegistryMembership>();
        foreach (var (registry, _) in await VisibleAsync(principal, organization, registryFilter, cancellationToken).ConfigureAwait(false))
        {
            foreach (var row in await artifacts.ListCollectionsAsync(organization, RegistryNames.Project(registry.Name), null, cancellationToken).ConfigureAwait(false))
            {
                if (!collectionFilter.Matches(RegistryDocuments.Collection(View(registry, row))))
                {
                    continue;
                }
                foreach (var (index, artifact, view) in await VersionEntriesAsync(registry, row, RegistryFilter.None, cancellationToken).ConfigureAwait(false))
                {
                    if (versionFilter.Matches(RegistryDocuments.Version(view)))
                    {
                        result.Add(new RegistryMembership(row, index, artifact, view.Aliases));
                    }
                }
            }
        }
        return result;
    }

    /// <summary>
    /// The clients' <c>upsertModel</c> for a registry project: creates the registry when the caller
    /// sees none of that name (inserted), otherwise edits it with only what changed, so the roles
    /// are those of <see cref="EditAsync"/> (description: member; visibility and types: admin).
    /// Accepted types are only ever added (the clients send the newly added ones).
    /// </summary>
    public async Task<(RegistryView Registry, bool Inserted)> UpsertAsync(Principal principal, string organization, string name, string? description, string? visibility, bool? allowAllTypes, IReadOnlyList<string>? addedTypes, CancellationToken cancellationToken)
    {
        name = RegistryNames.Validate(name);
        RegistryView current;
        try
        {
            current = await GetAsync(principal, organization, name, cancellationToken).ConfigureAwait(false);
        }
        catch (NotFoundException) when (!RegistryNames.IsCore(name))
        {
            var types = ValidateTypes(addedTypes);
            var created = await CreateAsync(principal, organization, new CreateRegistryRequest(name, description, visibility, types, allowAllTypes ?? types.Count == 0), cancellationToken).ConfigureAwait(false);
            return (created, true);
        }
        var newVisibility = visibility is null ? null : RegistryVisibility.Parse(visibility, "access");
        var newTypes = ValidateTypes(addedTypes).Where(t => !current.ArtifactTypes.Contains(t, StringComparer.Ordinal)).ToList();
        var request = new EditRegistryRequest(
            null,
            description is not null && description != (current.Description ?? "") ? description : null,
            newVisibility is not null && newVisibility != current.Visibility ? newVisibility : null,
            newTypes.Count > 0 ? [.. current.ArtifactTypes, .. newTypes] : null,
            allowAllTypes is { } all && all != current.AllowAllTypes ? all : null);
        if (request is { Description: null, Visibility: null, ArtifactTypes: null, AllowAllTypes: null })
        {
            return (current, false);
        }
        return (await EditAsync(principal, organization, name, request, cancellationToken).ConfigureAwait(false), false);
    }

    private async Task<IReadOnlyList<(RegistryRow Registry, Role Role)>> VisibleAsync(Principal principal, string organization, RegistryDocumentFilter filter, CancellationToken cancellationToken)
    {
        await RequireOrganizationAsync(principal, organization, Role.Viewer, cancellationToken).ConfigureAwait(false);
        var result = new List<(RegistryRow, Role)>();
        foreach (var registry in await AllAsync(organization, cancellationToken).ConfigureAwait(false))
        {
            if (await access.RoleAsync(principal, registry, cancellationToken).ConfigureAwait(false) is { } role && filter.Matches(RegistryDocuments.Registry(View(registry, role))))
            {
                result.Add((registry, role));
            }
        }
        return result;
    }

    // ---------------------------------------------------------------- helpers

    private async Task RequireOrganizationAsync(Principal principal, string organization, Role role, CancellationToken cancellationToken)
    {
        EntityNames.ValidateEntity(organization, "org");
        if (await tenancy.GetEntityAsync(organization, cancellationToken).ConfigureAwait(false) is not { Kind: "team" })
        {
            throw new NotFoundException($"Organization '{organization}' not found (organizations are team entities).");
        }
        if (!principal.IsInstanceAdmin)
        {
            await tenancy.RequireRoleAsync(principal, organization, role, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The core registries (stored or default) and the custom ones, by name.</summary>
    private async Task<IReadOnlyList<RegistryRow>> AllAsync(string organization, CancellationToken cancellationToken)
    {
        var table = await access.TableAsync().ConfigureAwait(false);
        var rows = new Dictionary<string, RegistryRow>(StringComparer.Ordinal);
        await foreach (var row in table.QueryPartitionAsync<RegistryRow>(TableKeys.Escape(organization), RegistryKeys.RegistryPrefix, TableKeys.PrefixEnd(RegistryKeys.RegistryPrefix), cancellationToken).ConfigureAwait(false))
        {
            rows[row.Name] = row;
        }
        foreach (var core in RegistryNames.CoreRegistries)
        {
            rows.TryAdd(core, access.CoreDefaults(organization, core));
        }
        return rows.Values.OrderBy(r => r.Core ? 0 : 1).ThenBy(r => r.Name, StringComparer.Ordinal).ToList();
    }

    private async Task<(RegistryRow Registry, CollectionRow Collection)> CollectionAsync(Principal principal, string organization, string name, string collection, Role role, CancellationToken cancellationToken)
    {
        var collectionName = ArtifactIds.ValidateCollection(collection, "collection");
        var (registry, _) = await access.RequireAsync(principal, organization, RegistryNames.Validate(name, "registry"), role, cancellationToken).ConfigureAwait(false);
        var row = await artifacts.FindCollectionAsync(Key(registry, collectionName), cancellationToken).ConfigureAwait(false)
            ?? throw new NotFoundException($"Collection '{collectionName}' not found in registry '{registry.Name}'.");
        return (registry, row);
    }

    private async Task<IReadOnlyList<RegistryCollectionView>> CollectionsAsync(RegistryRow registry, RegistryFilter filter, CancellationToken cancellationToken)
    {
        var rows = await artifacts.ListCollectionsAsync(registry.Organization, RegistryNames.Project(registry.Name), filter.Type, cancellationToken).ConfigureAwait(false);
        return rows.Select(r => View(registry, r))
            .Where(v => filter.Query is null || Contains(v.Name, filter.Query) || v.Tags.Any(t => Contains(t, filter.Query)))
            .Where(v => filter.Tag is null || v.Tags.Contains(filter.Tag, StringComparer.Ordinal))
            .ToList();
    }

    private async Task<IReadOnlyList<RegistryVersionView>> VersionsAsync(RegistryRow registry, CollectionRow collection, RegistryFilter filter, CancellationToken cancellationToken) =>
        (await VersionEntriesAsync(registry, collection, filter, cancellationToken).ConfigureAwait(false)).Select(e => e.View).ToList();

    private async Task<IReadOnlyList<(int Index, ArtifactRow Artifact, RegistryVersionView View)>> VersionEntriesAsync(RegistryRow registry, CollectionRow collection, RegistryFilter filter, CancellationToken cancellationToken)
    {
        var aliases = (await artifacts.CollectionAliasesAsync(collection.Key, cancellationToken).ConfigureAwait(false))
            .Where(a => !ArtifactIds.IsVersionAlias(a.Alias))
            .Select(a => a.Alias)
            .ToList();
        var aliasIndexes = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var alias in aliases)
        {
            if (await artifacts.FindByNameAsync(collection.Entity, collection.Project, $"{collection.Name}:{alias}", cancellationToken).ConfigureAwait(false) is { } found)
            {
                aliasIndexes[alias] = found.Index;
            }
        }
        var result = new List<(int, ArtifactRow, RegistryVersionView)>();
        foreach (var (index, artifact) in await artifacts.ListVersionsAsync(collection.Key, includeDeleted: false, cancellationToken).ConfigureAwait(false))
        {
            var versionAliases = aliasIndexes.Where(a => a.Value == index).Select(a => a.Key).OrderBy(a => a == ArtifactService.Latest ? 0 : 1).ThenBy(a => a, StringComparer.Ordinal).ToList();
            var tags = ArtifactService.Tags(artifact);
            var text = filter.Query;
            if ((text is not null && !Contains(collection.Name, text) && !tags.Any(t => Contains(t, text)) && !versionAliases.Any(a => Contains(a, text)))
                || (filter.Tag is not null && !tags.Contains(filter.Tag, StringComparer.Ordinal))
                || (filter.Alias is not null && !versionAliases.Contains(filter.Alias, StringComparer.Ordinal))
                || !filter.MatchesMetadata(artifact.Metadata))
            {
                continue;
            }
            var version = $"v{index}";
            result.Add((index, artifact, new RegistryVersionView(
                registry.Name,
                collection.Name,
                version,
                $"{registry.Organization}/{collection.Project}/{collection.Name}:{version}",
                versionAliases,
                artifact.Key.Id,
                $"{artifact.Entity}/{artifact.Project}/{artifact.Collection}:v{artifact.VersionIndex}",
                artifact.Type,
                artifact.Digest,
                artifact.Description,
                ArtifactApi.Metadata(artifact.Metadata),
                tags,
                artifact.FileCount,
                artifact.Size,
                artifact.CreatedAt)));
        }
        return result;
    }

    private async Task<IReadOnlyCollection<string>> AliasesOfAsync(CollectionRow collection, int index, CancellationToken cancellationToken)
    {
        var result = new List<string>();
        foreach (var alias in await artifacts.CollectionAliasesAsync(collection.Key, cancellationToken).ConfigureAwait(false))
        {
            if (!ArtifactIds.IsVersionAlias(alias.Alias)
                && await artifacts.FindByNameAsync(collection.Entity, collection.Project, $"{collection.Name}:{alias.Alias}", cancellationToken).ConfigureAwait(false) is { } found
                && found.Index == index)
            {
                result.Add(alias.Alias);
            }
        }
        return result;
    }

    private static CollectionKey Key(RegistryRow registry, string collection) => new(registry.Organization, RegistryNames.Project(registry.Name), collection);

    private static RegistryView View(RegistryRow row, Role role) => new(
        row.Name,
        RegistryNames.Project(row.Name),
        row.Organization,
        row.Description,
        row.Visibility,
        row.AllowAllTypes,
        RegistryAccess.Strings(row.ArtifactTypes),
        RegistryAccess.Strings(row.ProtectedAliases),
        row.Core,
        role.ToWire(),
        row.CreatedAt,
        row.UpdatedAt);

    private static RegistryCollectionView View(RegistryRow registry, CollectionRow row) => new(
        registry.Name,
        row.Name,
        $"{registry.Organization}/{row.Project}/{row.Name}",
        row.Type,
        row.Description,
        RegistryAccess.Strings(row.Tags),
        row.NextVersion,
        row.LatestVersion is { } latest ? $"v{latest}" : null,
        row.CreatedAt,
        row.UpdatedAt);

    private static List<string> ValidateTypes(IReadOnlyList<string>? types) =>
        (types ?? []).Select(t => ArtifactIds.ValidateType(t, "artifactTypes")).Distinct(StringComparer.Ordinal).ToList();

    private static bool Contains(string text, string query) => text.Contains(query, StringComparison.OrdinalIgnoreCase);

    private static void CheckText(string? value, string field)
    {
        if (value is { Length: > MaxTextChars })
        {
            throw new TooLargeException($"'{field}' is {value.Length} characters; at most {MaxTextChars} are accepted.", field);
        }
    }
}
