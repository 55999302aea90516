using System.Text.Json;
using Azure.Data.Tables;
using Weightless.Core.Auth;
using Weightless.Core.Errors;
using Weightless.Core.Storage;
using Weightless.Core.Tenancy;

namespace Weightless.Core.Artifacts;

/// <summary>A version linked into a collection: which collection, at which index there.</summary>
internal sealed record ArtifactLink(CollectionKey Collection, int Index);

/// <summary>
/// Reverse index of a link (row <c>l:&lt;target partition&gt;</c> in the source version's partition),
/// so a version knows the collections it is linked into and their aliases.
/// </summary>
internal sealed class LinkRow : Storage.TableRow
{
    public string SourceGuid { get; set; } = "";
    public string TargetEntity { get; set; } = "";
    public string TargetProject { get; set; } = "";
    public string TargetCollection { get; set; } = "";
    public int TargetIndex { get; set; }
}

/// <summary>Edits: aliases, description/metadata/tags/TTL, soft delete and restore, links into other collections.</summary>
internal sealed partial class ArtifactService
{
    private const string LinkPrefix = "l:";

    private static string LinkRowKey(string sourceGuid, CollectionKey target) => $"{LinkPrefix}{sourceGuid}:{target.PartitionKey}";

    public async Task<IReadOnlyList<ArtifactLink>> LinksAsync(ArtifactKey source, CancellationToken cancellationToken)
    {
        var table = await ArtifactsAsync().ConfigureAwait(false);
        var prefix = $"{LinkPrefix}{source.Guid}:";
        var result = new List<ArtifactLink>();
        await foreach (var row in table.QueryPartitionAsync<LinkRow>(source.PartitionKey, prefix, TableKeys.PrefixEnd(prefix), cancellationToken).ConfigureAwait(false))
        {
            result.Add(new ArtifactLink(new CollectionKey(row.TargetEntity, row.TargetProject, row.TargetCollection), row.TargetIndex));
        }
        return result;
    }

    /// <summary>
    /// Points <paramref name="alias"/> of a collection at version <paramref name="index"/>, moving
    /// it if it pointed elsewhere. The alias row is written in one batch with the collection header
    /// under its ETag, so concurrent alias moves and commits serialise and the alias stays unique.
    /// </summary>
    public async Task AddAliasAsync(Principal principal, CollectionKey collectionKey, int index, string? alias, CancellationToken cancellationToken)
    {
        var name = ArtifactIds.ValidateAlias(alias, "alias");
        if (name == Latest)
        {
            throw new ValidationFailedException("'latest' always points at the newest version; it cannot be set.", "alias");
        }
        await RequireCollectionRoleAsync(principal, collectionKey, Role.Member, [name], cancellationToken).ConfigureAwait(false);
        var target = await ResolveVersionAsync(collectionKey, index, cancellationToken).ConfigureAwait(false);
        if (target is not { State: ArtifactStates.Committed })
        {
            throw new NotFoundException($"Version v{index} of '{collectionKey.Collection}' not found.");
        }
        await MutateAliasesAsync(
            collectionKey,
            now => [new(TableTransactionActionType.UpsertReplace, new AliasRow { PartitionKey = collectionKey.PartitionKey, RowKey = ArtifactKeys.AliasRow(name), Alias = name, VersionIndex = index, UpdatedAt = now })],
            collection => [new ArtifactEvent(ArtifactEventTypes.AddArtifactAlias, collectionKey.Entity, collectionKey.Project, collectionKey.Collection, collection.Type, $"v{index}", target.Key.Id, principal.UserName, Alias: name)],
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Removes a custom alias (whatever version it points at); <c>latest</c> and <c>vN</c> cannot be removed.</summary>
    public async Task<bool> RemoveAliasAsync(Principal principal, CollectionKey collectionKey, string? alias, CancellationToken cancellationToken)
    {
        var name = ArtifactIds.ValidateAlias(alias, "alias");
        if (name == Latest)
        {
            throw new ValidationFailedException("'latest' always points at the newest version; it cannot be removed.", "alias");
        }
        await RequireCollectionRoleAsync(principal, collectionKey, Role.Member, [name], cancellationToken).ConfigureAwait(false);
        var table = await ArtifactsAsync().ConfigureAwait(false);
        if (await table.GetAsync<AliasRow>(collectionKey.PartitionKey, ArtifactKeys.AliasRow(name), cancellationToken).ConfigureAwait(false) is null)
        {
            return false;
        }
        try
        {
            await MutateAliasesAsync(collectionKey, _ => [new(TableTransactionActionType.Delete, new TableEntity(collectionKey.PartitionKey, ArtifactKeys.AliasRow(name)), Azure.ETag.All)], null, cancellationToken).ConfigureAwait(false);
        }
        catch (NotFoundException)
        {
            return false;
        }
        return true;
    }

    /// <summary>
    /// Alias changes in one batch with the collection header (ETag-guarded) and the outbox row of
    /// the events they publish, which are dispatched once the batch is stored.
    /// </summary>
    private async Task<CollectionRow> MutateAliasesAsync(CollectionKey key, Func<DateTimeOffset, IReadOnlyList<TableTransactionAction>> changes, Func<CollectionRow, IReadOnlyList<ArtifactEvent>>? published, CancellationToken cancellationToken)
    {
        var table = await ArtifactsAsync().ConfigureAwait(false);
        for (var attempt = 0; ; attempt++)
        {
            var collection = await FindCollectionAsync(key, cancellationToken).ConfigureAwait(false)
                ?? throw new NotFoundException($"Artifact '{key.Collection}' not found.");
            var now = clock.GetUtcNow();
            collection.UpdatedAt = now;
            var actions = new List<TableTransactionAction> { new(TableTransactionActionType.UpdateReplace, collection, collection.ETag) };
            actions.AddRange(changes(now));
            var pending = published is null ? null : outbox.Row(key.PartitionKey, published(collection));
            ArtifactOutbox.AddTo(actions, pending);
            try
            {
                await table.SubmitBatchAsync(actions, cancellationToken).ConfigureAwait(false);
                await outbox.DispatchAsync(pending, cancellationToken).ConfigureAwait(false);
                return collection;
            }
            catch (ConflictException) when (attempt < MaxAttempts)
            {
                await Task.Delay(Random.Shared.Next(5, 20 + (attempt * 10)), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Edits description, metadata, tags and TTL of a version (optimistic, retried on conflict).</summary>
    public async Task<ArtifactRow> UpdateAsync(Principal principal, ArtifactKey key, UpdateArtifactCommand command, CancellationToken cancellationToken)
    {
        CheckText(command.Description, "description");
        var metadata = command.Metadata is null ? null : NormaliseMetadata(command.Metadata) ?? "{}";
        var replace = command.Tags is null ? null : ValidateTags(command.Tags, "tags");
        var add = ValidateTags(command.TagsToAdd, "tagsToAdd");
        var remove = ValidateTags(command.TagsToDelete, "tagsToDelete");
        ArtifactTtl.Validate(command.TtlDurationSeconds, "ttlDurationSeconds");
        var table = await ArtifactsAsync().ConfigureAwait(false);
        for (var attempt = 0; ; attempt++)
        {
            var row = await RequireArtifactAsync(principal, key, Role.Member, cancellationToken).ConfigureAwait(false);
            if (command.Description is not null)
            {
                row.Description = command.Description;
            }
            if (metadata is not null)
            {
                row.Metadata = metadata;
            }
            if (replace is not null || add.Count > 0 || remove.Count > 0)
            {
                var tags = replace ?? Tags(row).ToList();
                tags.AddRange(add.Where(t => !tags.Contains(t, StringComparer.Ordinal)));
                tags.RemoveAll(t => remove.Contains(t, StringComparer.Ordinal));
                if (tags.Count > MaxTags)
                {
                    throw new ValidationFailedException($"At most {MaxTags} tags.", "tags");
                }
                row.Tags = JsonSerializer.Serialize(tags);
            }
            if (command.TtlDurationSeconds is { } ttl)
            {
                row.TtlDurationSeconds = ttl;
            }
            row.UpdatedAt = clock.GetUtcNow();
            try
            {
                row.ETag = await table.UpdateAsync(row, row.ETag, cancellationToken: cancellationToken).ConfigureAwait(false);
                return row;
            }
            catch (ConflictException) when (attempt < MaxAttempts)
            {
            }
        }
    }

    public static IReadOnlyList<string> Tags(ArtifactRow row) =>
        string.IsNullOrEmpty(row.Tags) ? [] : JsonSerializer.Deserialize<List<string>>(row.Tags) ?? [];

    /// <summary>
    /// Soft delete: the version keeps its number, aliases and blobs, but lookups skip it
    /// (<c>latest</c> falls back to the newest live version) until <see cref="RestoreAsync"/>.
    /// </summary>
    public Task<ArtifactRow> DeleteAsync(Principal principal, ArtifactKey key, CancellationToken cancellationToken) =>
        SetDeletedAsync(principal, key, deleted: true, cancellationToken);

    public Task<ArtifactRow> RestoreAsync(Principal principal, ArtifactKey key, CancellationToken cancellationToken) =>
        SetDeletedAsync(principal, key, deleted: false, cancellationToken);

    private async Task<ArtifactRow> SetDeletedAsync(Principal principal, ArtifactKey key, bool deleted, CancellationToken cancellationToken)
    {
        var table = await ArtifactsAsync().ConfigureAwait(false);
        for (var attempt = 0; ; attempt++)
        {
            var row = await RequireArtifactAsync(principal, key, Role.Member, cancellationToken).ConfigureAwait(false);
            if ((row.State == ArtifactStates.Deleted) == deleted)
            {
                return row;
            }
            if (row.ExpiredAt is not null)
            {
                throw new ConflictException($"Artifact version {key.Id} expired (TTL) and its files were deleted; it cannot be restored or deleted again.");
            }
            var now = clock.GetUtcNow();
            if (deleted)
            {
                row.StateBeforeDelete = row.State;
                row.State = ArtifactStates.Deleted;
                row.DeletedAt = now;
            }
            else
            {
                row.State = row.StateBeforeDelete ?? ArtifactStates.Committed;
                row.StateBeforeDelete = null;
                row.DeletedAt = null;
            }
            row.UpdatedAt = now;
            try
            {
                row.ETag = await table.UpdateAsync(row, row.ETag, cancellationToken: cancellationToken).ConfigureAwait(false);
                return row;
            }
            catch (ConflictException) when (attempt < MaxAttempts)
            {
            }
        }
    }

    /// <summary>
    /// <c>linkArtifact</c>: adds a committed version to a collection of linked versions (created on
    /// first link, with the source's type), which numbers its members itself; the source stays
    /// where it is. Linking the same version again answers its existing index (and applies aliases).
    /// </summary>
    public async Task<int> LinkAsync(Principal principal, ArtifactKey source, string? targetEntity, string? targetProject, string? portfolio, IReadOnlyList<string?> aliases, CancellationToken cancellationToken)
    {
        var entity = EntityNames.ValidateEntity(string.IsNullOrWhiteSpace(targetEntity) ? source.Entity : targetEntity.Trim(), "entityName");
        var project = EntityNames.ValidateProject(string.IsNullOrWhiteSpace(targetProject) ? source.Project : targetProject.Trim(), "projectName");
        var name = ArtifactIds.ValidateCollection(portfolio, "artifactPortfolioName");
        var aliasNames = aliases.Where(a => a != Latest).Select(a => ArtifactIds.ValidateAlias(a)).Distinct(StringComparer.Ordinal).ToList();
        if (aliasNames.Count > MaxAliasesPerVersion)
        {
            throw new ValidationFailedException($"At most {MaxAliasesPerVersion} aliases per version.", "aliases");
        }
        var artifact = await RequireArtifactAsync(principal, source, Role.Viewer, cancellationToken).ConfigureAwait(false);
        if (artifact.State != ArtifactStates.Committed)
        {
            throw new ValidationFailedException("Only committed versions can be linked.", "artifactID");
        }
        entity = await AuthorizeLinkTargetAsync(principal, entity, project, artifact, aliasNames, cancellationToken).ConfigureAwait(false);
        var targetKey = new CollectionKey(entity, project, name);
        await EnsureCollectionAsync(targetKey, artifact.Type, CollectionKinds.Portfolio, cancellationToken).ConfigureAwait(false);
        var table = await ArtifactsAsync().ConfigureAwait(false);
        var existingLink = await table.GetAsync<LinkRow>(source.PartitionKey, LinkRowKey(source.Guid, targetKey), cancellationToken).ConfigureAwait(false);
        int index;
        List<ArtifactEvent> Published(CollectionRow collection, int at, bool isNew)
        {
            var version = $"v{at}";
            var list = new List<ArtifactEvent>();
            if (isNew)
            {
                list.Add(new ArtifactEvent(ArtifactEventTypes.LinkArtifact, entity, project, name, collection.Type, version, source.Id, principal.UserName,
                    SourceEntity: source.Entity, SourceProject: source.Project, SourceCollection: source.Collection, SourceVersion: $"v{artifact.VersionIndex}"));
            }
            list.AddRange(aliasNames.Select(a => new ArtifactEvent(ArtifactEventTypes.AddArtifactAlias, entity, project, name, collection.Type, version, source.Id, principal.UserName, Alias: a)));
            return list;
        }
        if (existingLink is not null)
        {
            index = existingLink.TargetIndex;
            await MutateAliasesAsync(
                targetKey,
                now => aliasNames.Select(a => new TableTransactionAction(TableTransactionActionType.UpsertReplace, new AliasRow { PartitionKey = targetKey.PartitionKey, RowKey = ArtifactKeys.AliasRow(a), Alias = a, VersionIndex = index, UpdatedAt = now })).ToList(),
                collection => Published(collection, index, isNew: false),
                cancellationToken).ConfigureAwait(false);
        }
        else
        {
            index = await AppendVersionAsync(targetKey, artifact, aliasNames, principal.UserName, (collection, at) => Published(collection, at, isNew: true), cancellationToken).ConfigureAwait(false);
            await table.UpsertAsync(new LinkRow
            {
                PartitionKey = source.PartitionKey,
                RowKey = LinkRowKey(source.Guid, targetKey),
                SourceGuid = source.Guid,
                TargetEntity = entity,
                TargetProject = project,
                TargetCollection = name,
                TargetIndex = index,
            }, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        return index;
    }

    /// <summary>Appends a version to a collection: counter, version row, <c>latest</c>, aliases and the events' outbox row in one ETag-guarded batch.</summary>
    private async Task<int> AppendVersionAsync(CollectionKey key, ArtifactRow artifact, IReadOnlyList<string> aliases, string author, Func<CollectionRow, int, IReadOnlyList<ArtifactEvent>> published, CancellationToken cancellationToken)
    {
        var table = await ArtifactsAsync().ConfigureAwait(false);
        for (var attempt = 0; ; attempt++)
        {
            var collection = await FindCollectionAsync(key, cancellationToken).ConfigureAwait(false)
                ?? throw new NotFoundException($"Collection '{key.Collection}' not found.");
            var now = clock.GetUtcNow();
            var index = collection.NextVersion;
            collection.NextVersion = index + 1;
            collection.LatestVersion = index;
            collection.LatestArtifactGuid = artifact.Guid;
            collection.LatestArtifactPartition = artifact.PartitionKey;
            collection.UpdatedAt = now;
            var actions = new List<TableTransactionAction>
            {
                new(TableTransactionActionType.UpdateReplace, collection, collection.ETag),
                new(TableTransactionActionType.Add, new VersionRow { PartitionKey = key.PartitionKey, RowKey = ArtifactKeys.VersionRow(index), Index = index, ArtifactPartition = artifact.PartitionKey, ArtifactGuid = artifact.Guid, LinkedBy = author, CreatedAt = now }),
            };
            foreach (var alias in aliases.Append(Latest).Distinct(StringComparer.Ordinal))
            {
                actions.Add(new(TableTransactionActionType.UpsertReplace, new AliasRow { PartitionKey = key.PartitionKey, RowKey = ArtifactKeys.AliasRow(alias), Alias = alias, VersionIndex = index, UpdatedAt = now }));
            }
            var pending = outbox.Row(key.PartitionKey, published(collection, index));
            ArtifactOutbox.AddTo(actions, pending);
            try
            {
                await table.SubmitBatchAsync(actions, cancellationToken).ConfigureAwait(false);
                await outbox.DispatchAsync(pending, cancellationToken).ConfigureAwait(false);
                return index;
            }
            catch (ConflictException) when (attempt < MaxAttempts)
            {
                await Task.Delay(Random.Shared.Next(5, 20 + (attempt * 10)), cancellationToken).ConfigureAwait(false);
            }
        }
    }
}
