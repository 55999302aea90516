using Azure.Data.Tables;
using Weightless.Core.Auth;
using Weightless.Core.Errors;
using Weightless.Core.Registry;
using Weightless.Core.Storage;
using Weightless.Core.Tenancy;

namespace Weightless.Core.Artifacts;

/// <summary>
/// Where artifact code meets the Registry: collections of registry projects are governed by the
/// registry's roles and protected aliases (<see cref="IRegistryPolicy"/>) rather than the entity's
/// roles; and unlinking, which only linked collections need.
/// </summary>
internal sealed partial class ArtifactService
{
    /// <summary>The role check before a collection changes; registry projects ask the registry (protected aliases need its admins).</summary>
    private async Task RequireCollectionRoleAsync(Principal principal, CollectionKey key, Role role, IReadOnlyCollection<string> aliases, CancellationToken cancellationToken)
    {
        if (RegistryNames.IsGoverned(key.Project))
        {
            await registry.AuthorizeAsync(principal, key.Entity, key.Project, role, aliases, cancellationToken).ConfigureAwait(false);
            return;
        }
        await tenancy.RequireRoleAsync(principal, key.Entity, role, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The viewer check before a collection is read by id: registry collections need the registry's viewer role.</summary>
    public Task AuthorizeCollectionReadAsync(Principal principal, CollectionKey key, CancellationToken cancellationToken) =>
        RequireCollectionRoleAsync(principal, key, Role.Viewer, [], cancellationToken);

    /// <summary>The link target's entity (a personal entity means the user's organization for registry projects) and the check to link there.</summary>
    private async Task<string> AuthorizeLinkTargetAsync(Principal principal, string entity, string project, ArtifactRow source, IReadOnlyCollection<string> aliases, CancellationToken cancellationToken)
    {
        if (!RegistryNames.IsGoverned(project))
        {
            await tenancy.RequireRoleAsync(principal, entity, Role.Member, cancellationToken).ConfigureAwait(false);
            return entity;
        }
        var organization = await registry.ResolveEntityAsync(principal, entity, project, cancellationToken).ConfigureAwait(false);
        await registry.AuthorizeLinkAsync(principal, organization, project, source, aliases, cancellationToken).ConfigureAwait(false);
        return organization;
    }

    /// <summary>
    /// Removes version <paramref name="index"/> from a collection of linked versions (the source
    /// version stays where it is). Its aliases go with it; <c>latest</c> moves to the newest remaining
    /// version. Indexes are not reused. The access check is the caller's.
    /// </summary>
    public async Task<bool> UnlinkAsync(CollectionKey key, int index, CancellationToken cancellationToken)
    {
        var table = await ArtifactsAsync().ConfigureAwait(false);
        for (var attempt = 0; ; attempt++)
        {
            var collection = await FindCollectionAsync(key, cancellationToken).ConfigureAwait(false);
            if (collection is null || collection.Kind != CollectionKinds.Portfolio)
            {
                return false;
            }
            var versions = new List<VersionRow>();
            await foreach (var row in table.QueryPartitionAsync<VersionRow>(key.PartitionKey, ArtifactKeys.VersionPrefix, TableKeys.PrefixEnd(ArtifactKeys.VersionPrefix), cancellationToken).ConfigureAwait(false))
            {
                versions.Add(row);
            }
            var removed = versions.FirstOrDefault(v => v.Index == index);
            if (removed is null)
            {
                return false;
            }
            var aliases = new List<AliasRow>();
            await foreach (var alias in table.QueryPartitionAsync<AliasRow>(key.PartitionKey, ArtifactKeys.AliasPrefix, TableKeys.PrefixEnd(ArtifactKeys.AliasPrefix), cancellationToken).ConfigureAwait(false))
            {
                aliases.Add(alias);
            }
            var newest = versions.Where(v => v.Index != index).MaxBy(v => v.Index);
            var now = clock.GetUtcNow();
            collection.LatestVersion = newest?.Index;
            collection.LatestArtifactGuid = newest?.ArtifactGuid;
            collection.LatestArtifactPartition = newest?.ArtifactPartition;
            collection.UpdatedAt = now;
            var actions = new List<TableTransactionAction>
            {
                new(TableTransactionActionType.UpdateReplace, collection, collection.ETag),
                new(TableTransactionActionType.Delete, removed, removed.ETag),
            };
            foreach (var alias in aliases.Where(a => a.VersionIndex == index))
            {
                if (alias.Alias == Latest && newest is not null)
                {
                    actions.Add(new(TableTransactionActionType.UpdateReplace, new AliasRow { PartitionKey = key.PartitionKey, RowKey = alias.RowKey, Alias = Latest, VersionIndex = newest.Index, UpdatedAt = now }, alias.ETag));
                }
                else
                {
                    actions.Add(new(TableTransactionActionType.Delete, alias, alias.ETag));
                }
            }
            try
            {
                await table.SubmitBatchAsync(actions, cancellationToken).ConfigureAwait(false);
            }
            catch (ConflictException) when (attempt < MaxAttempts)
            {
                await Task.Delay(Random.Shared.Next(5, 20 + (attempt * 10)), cancellationToken).ConfigureAwait(false);
                continue;
            }
            await table.DeleteAsync(removed.ArtifactPartition, LinkRowKey(removed.ArtifactGuid, key), cancellationToken: cancellationToken).ConfigureAwait(false);
            return true;
        }
    }

    /// <summary>Deletes a collection of linked versions with its versions and aliases, and the links its sources keep.</summary>
    public async Task<bool> DeletePortfolioAsync(CollectionKey key, CancellationToken cancellationToken)
    {
        var collection = await FindCollectionAsync(key, cancellationToken).ConfigureAwait(false);
        if (collection is null || collection.Kind != CollectionKinds.Portfolio)
        {
            return false;
        }
        var table = await ArtifactsAsync().ConfigureAwait(false);
        var rows = new List<TableEntity>();
        await foreach (var row in table.QueryPartitionAsync<TableEntity>(key.PartitionKey, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            rows.Add(row);
        }
        foreach (var version in rows.Where(r => r.RowKey.StartsWith(ArtifactKeys.VersionPrefix, StringComparison.Ordinal)))
        {
            await table.DeleteAsync(version.GetString(nameof(VersionRow.ArtifactPartition)), LinkRowKey(version.GetString(nameof(VersionRow.ArtifactGuid)), key), cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        // The header last: while it exists the collection can still be found and the delete retried.
        var actions = rows.Where(r => r.RowKey != ArtifactKeys.CollectionRow).Select(r => new TableTransactionAction(TableTransactionActionType.Delete, r, Azure.ETag.All)).ToList();
        if (actions.Count > 0)
        {
            await table.SubmitBatchAsync(actions, cancellationToken).ConfigureAwait(false);
        }
        await table.DeleteAsync(key.PartitionKey, ArtifactKeys.CollectionRow, cancellationToken: cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>Creates an empty collection of linked versions (a registry collection made before its first link).</summary>
    public async Task<CollectionRow> CreatePortfolioAsync(CollectionKey key, string type, string? description, IReadOnlyList<string> tags, CancellationToken cancellationToken)
    {
        CheckText(description, "description");
        var row = NewCollectionRow(key, type, CollectionKinds.Portfolio);
        row.Description = description;
        row.Tags = tags.Count == 0 ? null : System.Text.Json.JsonSerializer.Serialize(tags);
        var table = await ArtifactsAsync().ConfigureAwait(false);
        try
        {
            row.ETag = await table.AddAsync(row, cancellationToken).ConfigureAwait(false);
        }
        catch (ConflictException)
        {
            throw new ConflictException($"Collection '{key.Collection}' already exists.");
        }
        return row;
    }

    /// <summary>Edits a collection's description, tags and default TTL (null leaves a field as it is; a negative TTL clears it), guarded by its ETag.</summary>
    public async Task<CollectionRow> UpdateCollectionAsync(CollectionKey key, string? description, IReadOnlyList<string?>? tags, long? ttlDurationSeconds, CancellationToken cancellationToken)
    {
        ArtifactTtl.Validate(ttlDurationSeconds, "ttlDurationSeconds");
        CheckText(description, "description");
        var validTags = tags is null ? null : ValidateTags(tags, "tags");
        var table = await ArtifactsAsync().ConfigureAwait(false);
        for (var attempt = 0; ; attempt++)
        {
            var collection = await FindCollectionAsync(key, cancellationToken).ConfigureAwait(false)
                ?? throw new NotFoundException($"Collection '{key.Collection}' not found.");
            collection.Description = description ?? collection.Description;
            if (validTags is not null)
            {
                collection.Tags = validTags.Count == 0 ? null : System.Text.Json.JsonSerializer.Serialize(validTags);
            }
            if (ttlDurationSeconds is { } ttl)
            {
                collection.TtlDurationSeconds = ttl >= 0 ? ttl : null;
            }
            collection.UpdatedAt = clock.GetUtcNow();
            try
            {
                collection.ETag = await table.UpdateAsync(collection, collection.ETag, cancellationToken: cancellationToken).ConfigureAwait(false);
                return collection;
            }
            catch (ConflictException) when (attempt < MaxAttempts)
            {
            }
        }
    }
}
