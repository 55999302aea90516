using Azure.Storage.Sas;
using Weightless.Core.Auth;
using Weightless.Core.Errors;
using Weightless.Core.Storage;
using Weightless.Core.Tenancy;

namespace Weightless.Core.Artifacts;

/// <summary>Reads: versions by name, alias, index or digest; aliases; collections; files and download URLs.</summary>
internal sealed partial class ArtifactService
{
    public async Task<CollectionRow?> FindCollectionAsync(CollectionKey key, CancellationToken cancellationToken)
    {
        var table = await ArtifactsAsync().ConfigureAwait(false);
        var row = await table.GetAsync<CollectionRow>(key.PartitionKey, ArtifactKeys.CollectionRow, cancellationToken).ConfigureAwait(false);
        return row is { Deleted: false } ? row : null;
    }

    /// <summary>The collections of a project (a range of the tenant's partitions), optionally of one type.</summary>
    public async Task<IReadOnlyList<CollectionRow>> ListCollectionsAsync(string entity, string project, string? type, CancellationToken cancellationToken)
    {
        var table = await ArtifactsAsync().ConfigureAwait(false);
        var prefix = ArtifactKeys.ProjectPartition(entity, project) + TableKeys.Separator;
        var filter = Azure.Data.Tables.TableClient.CreateQueryFilter($"PartitionKey ge {prefix} and PartitionKey lt {TableKeys.PrefixEnd(prefix)} and RowKey eq {ArtifactKeys.CollectionRow}");
        var list = new List<CollectionRow>();
        await foreach (var row in table.QueryAsync<CollectionRow>(filter, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            if (!row.Deleted && (type is null || row.Type == type))
            {
                list.Add(row);
            }
        }
        return list.OrderBy(c => c.Name, StringComparer.Ordinal).ToList();
    }

    /// <summary>Version <paramref name="index"/> of a collection (for a portfolio: the linked source version).</summary>
    public async Task<ArtifactRow?> ResolveVersionAsync(CollectionKey collection, int index, CancellationToken cancellationToken)
    {
        var table = await ArtifactsAsync().ConfigureAwait(false);
        var version = await table.GetAsync<VersionRow>(collection.PartitionKey, ArtifactKeys.VersionRow(index), cancellationToken).ConfigureAwait(false);
        if (version is null)
        {
            return null;
        }
        return await table.GetAsync<ArtifactRow>(version.ArtifactPartition, ArtifactKeys.ArtifactRow(version.ArtifactGuid), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>All versions of a collection, oldest first, with the artifact each points at.</summary>
    public async Task<IReadOnlyList<(int Index, ArtifactRow Artifact)>> ListVersionsAsync(CollectionKey collection, bool includeDeleted, CancellationToken cancellationToken)
    {
        var table = await ArtifactsAsync().ConfigureAwait(false);
        var versions = new List<VersionRow>();
        await foreach (var row in table.QueryPartitionAsync<VersionRow>(collection.PartitionKey, ArtifactKeys.VersionPrefix, TableKeys.PrefixEnd(ArtifactKeys.VersionPrefix), cancellationToken).ConfigureAwait(false))
        {
            versions.Add(row);
        }
        var result = new List<(int, ArtifactRow)>(versions.Count);
        foreach (var version in versions)
        {
            var artifact = await table.GetAsync<ArtifactRow>(version.ArtifactPartition, ArtifactKeys.ArtifactRow(version.ArtifactGuid), cancellationToken).ConfigureAwait(false);
            if (artifact is not null && (includeDeleted || artifact.State != ArtifactStates.Deleted))
            {
                result.Add((version.Index, artifact));
            }
        }
        return result;
    }

    /// <summary>
    /// A version by <c>name[:spec]</c> where spec is <c>vN</c>, an alias (default <c>latest</c>) or
    /// the artifact digest. Soft-deleted versions are not found; <c>latest</c> then falls back to the
    /// newest version that is not deleted. The access check is the caller's.
    /// </summary>
    public async Task<(ArtifactRow Artifact, CollectionRow Collection, int Index)?> FindByNameAsync(string entity, string project, string? name, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            throw new ValidationFailedException("'name' must be '<artifact>:<alias, vN or digest>'.", "name");
        }
        var separator = name.IndexOf(':', StringComparison.Ordinal);
        var collectionName = separator < 0 ? name : name[..separator];
        var spec = separator < 0 ? Latest : name[(separator + 1)..];
        ArtifactIds.ValidateCollection(collectionName, "name");
        if (spec.Length == 0)
        {
            spec = Latest;
        }
        var collection = await FindCollectionAsync(new CollectionKey(entity, project, collectionName), cancellationToken).ConfigureAwait(false);
        if (collection is null)
        {
            return null;
        }
        var table = await ArtifactsAsync().ConfigureAwait(false);
        int? index = null;
        if (ArtifactIds.IsVersionAlias(spec))
        {
            index = int.TryParse(spec.AsSpan(1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) ? n : null;
        }
        else if (await table.GetAsync<AliasRow>(collection.PartitionKey, ArtifactKeys.AliasRow(spec), cancellationToken).ConfigureAwait(false) is { } alias)
        {
            index = alias.VersionIndex;
        }
        else if (spec.Length == 32 && spec.All(char.IsAsciiHexDigit)
            && await table.GetAsync<DigestRow>(collection.PartitionKey, ArtifactKeys.DigestRow(spec.ToLowerInvariant()), cancellationToken).ConfigureAwait(false) is { } byDigest)
        {
            index = byDigest.VersionIndex;
        }
        if (index is { } i && await ResolveVersionAsync(collection.Key, i, cancellationToken).ConfigureAwait(false) is { State: ArtifactStates.Committed } found)
        {
            return (found, collection, i);
        }
        if (spec == Latest)
        {
            var versions = await ListVersionsAsync(collection.Key, includeDeleted: false, cancellationToken).ConfigureAwait(false);
            var newest = versions.Where(v => v.Artifact.State == ArtifactStates.Committed).Select(v => ((int, ArtifactRow)?)v).LastOrDefault();
            if (newest is { } n)
            {
                return (n.Item2, collection, n.Item1);
            }
        }
        return null;
    }

    /// <summary>
    /// The aliases of a committed version, in every collection it is in: its birth collection
    /// (<c>vN</c> first, then <c>latest</c> and custom aliases) and every collection it is linked into.
    /// Each collection contributes exactly one <c>vN</c> (clients assert it).
    /// </summary>
    public async Task<IReadOnlyList<ArtifactAliasInfo>> AliasesAsync(ArtifactRow artifact, CancellationToken cancellationToken)
    {
        var result = new List<ArtifactAliasInfo>();
        if (artifact.VersionIndex is not { } index)
        {
            return result;
        }
        var birth = new CollectionKey(artifact.Entity, artifact.Project, artifact.Collection);
        await AddAliasesAsync(birth, index, result, cancellationToken).ConfigureAwait(false);
        foreach (var link in await LinksAsync(artifact.Key, cancellationToken).ConfigureAwait(false))
        {
            await AddAliasesAsync(link.Collection, link.Index, result, cancellationToken).ConfigureAwait(false);
        }
        return result;
    }

    private async Task AddAliasesAsync(CollectionKey collection, int index, List<ArtifactAliasInfo> result, CancellationToken cancellationToken)
    {
        result.Add(new ArtifactAliasInfo(collection, "v" + index.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        var table = await ArtifactsAsync().ConfigureAwait(false);
        var aliases = new List<AliasRow>();
        await foreach (var alias in table.QueryPartitionAsync<AliasRow>(collection.PartitionKey, ArtifactKeys.AliasPrefix, TableKeys.PrefixEnd(ArtifactKeys.AliasPrefix), cancellationToken).ConfigureAwait(false))
        {
            if (alias.VersionIndex == index)
            {
                aliases.Add(alias);
            }
        }
        foreach (var alias in aliases.OrderBy(a => a.Alias == Latest ? 0 : 1).ThenBy(a => a.Alias, StringComparer.Ordinal))
        {
            result.Add(new ArtifactAliasInfo(collection, alias.Alias));
        }
    }

    /// <summary>Every alias of a collection: <c>vN</c> of each live version, then <c>latest</c> and the custom aliases.</summary>
    public async Task<IReadOnlyList<ArtifactAliasInfo>> CollectionAliasesAsync(CollectionKey collection, CancellationToken cancellationToken)
    {
        var result = new List<ArtifactAliasInfo>();
        foreach (var (index, _) in await ListVersionsAsync(collection, includeDeleted: false, cancellationToken).ConfigureAwait(false))
        {
            result.Add(new ArtifactAliasInfo(collection, "v" + index.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }
        var table = await ArtifactsAsync().ConfigureAwait(false);
        await foreach (var alias in table.QueryPartitionAsync<AliasRow>(collection.PartitionKey, ArtifactKeys.AliasPrefix, TableKeys.PrefixEnd(ArtifactKeys.AliasPrefix), cancellationToken).ConfigureAwait(false))
        {
            result.Add(new ArtifactAliasInfo(collection, alias.Alias));
        }
        return result;
    }

    /// <summary>The manifest of a committed version (from Blob).</summary>
    public async Task<ArtifactManifest> ReadManifestAsync(ArtifactKey key, CancellationToken cancellationToken)
    {
        var blobs = await BlobsAsync().ConfigureAwait(false);
        var blob = await blobs.DownloadAsync(ManifestBlob(key), cancellationToken).ConfigureAwait(false)
            ?? throw new NotFoundException($"Artifact version {key.Id} has no manifest.");
        return ArtifactManifest.Parse(blob.Content.ToMemory());
    }

    /// <summary>Files of a version in path order after <paramref name="after"/> (exclusive), optionally only the named ones.</summary>
    public async Task<(IReadOnlyList<ArtifactFileInfo> Files, bool HasMore)> ListFilesAsync(ArtifactRow artifact, string? after, int first, IReadOnlyCollection<string>? names, CancellationToken cancellationToken)
    {
        if (artifact.State == ArtifactStates.Pending)
        {
            return ([], false);
        }
        var manifest = await ReadManifestAsync(artifact.Key, cancellationToken).ConfigureAwait(false);
        IEnumerable<ManifestEntry> entries = manifest.Entries;
        if (names is { Count: > 0 })
        {
            var set = names.ToHashSet(StringComparer.Ordinal);
            entries = entries.Where(e => set.Contains(e.Path));
        }
        if (!string.IsNullOrEmpty(after))
        {
            entries = entries.Where(e => string.CompareOrdinal(e.Path, after) > 0);
        }
        var page = entries.Take(first + 1).Select(e => new ArtifactFileInfo(artifact.Key, e)).ToList();
        var hasMore = page.Count > first;
        return (hasMore ? page[..first] : page, hasMore);
    }

    /// <summary>A SAS GET URL for a stored file's content; references (s3://, gs://, …) have none — clients fetch them themselves.</summary>
    public async Task<string?> FileDownloadUrlAsync(string entity, ManifestEntry entry, CancellationToken cancellationToken)
    {
        if (entry.IsReference || entry.Md5Hex is not { } hex)
        {
            return null;
        }
        var blobs = await BlobsAsync().ConfigureAwait(false);
        return (await blobs.GetSasUriAsync(FileBlob(entity, hex), BlobSasPermissions.Read, Options.UrlLifetime, cancellationToken).ConfigureAwait(false)).AbsoluteUri;
    }

    /// <summary>An artifact by id, after a Viewer check on its tenant; null when it does not exist.</summary>
    public async Task<ArtifactRow?> GetByIdAsync(Principal principal, string? id, CancellationToken cancellationToken)
    {
        var key = ArtifactIds.ParseArtifact(id, "id");
        await tenancy.RequireRoleAsync(principal, key.Entity, Role.Viewer, cancellationToken).ConfigureAwait(false);
        return await FindArtifactAsync(key, cancellationToken).ConfigureAwait(false);
    }

    public Task<Role> AuthorizeAsync(Principal principal, string entity, Role role, CancellationToken cancellationToken) =>
        tenancy.RequireRoleAsync(principal, entity, role, cancellationToken);
}
