using Azure.Data.Tables;
using Weightless.Core.Auth;
using Weightless.Core.Errors;
using Weightless.Core.Storage;
using Weightless.Core.Tenancy;

namespace Weightless.Core.Artifacts;

/// <summary>What one expiry pass did.</summary>
internal sealed record ExpiryResult(int ExpiredVersions, int DeletedBlobs, int KeptSharedBlobs);

/// <summary>
/// TTL: a version's <c>ttlDurationSeconds</c> (or, when it inherits (-1 / unset), its collection's)
/// counts from its creation; once passed, the timer deletes the version for good and removes the
/// content blobs that no other version of the tenant references (content is stored once per
/// tenant, so a blob shared with a live version stays).
/// </summary>
internal sealed partial class ArtifactService
{
    /// <summary>
    /// Edits a collection (member role; registry projects ask the registry): description, tags, and
    /// its default TTL, which every version that inherits (logged without a TTL of its own, or set to
    /// -1) follows from then on, already logged ones included: expiry is computed from the
    /// collection's current value. A negative TTL clears it. Null leaves a field as it is.
    /// </summary>
    public async Task<CollectionRow> EditCollectionAsync(Principal principal, CollectionKey key, string? description, IReadOnlyList<string?>? tags, long? ttlDurationSeconds, CancellationToken cancellationToken)
    {
        ArtifactTtl.Validate(ttlDurationSeconds, "ttlDurationSeconds");
        await RequireCollectionRoleAsync(principal, key, Role.Member, [], cancellationToken).ConfigureAwait(false);
        var collection = await FindCollectionAsync(key, cancellationToken).ConfigureAwait(false)
            ?? throw new NotFoundException($"Collection '{key.Collection}' not found.");
        if (ttlDurationSeconds is not null && collection.Kind == CollectionKinds.Portfolio)
        {
            // As in W&B: a linked version keeps the TTL of the collection it was logged into.
            throw new ValidationFailedException($"'{key.Collection}' is a collection of linked versions; a TTL is set on the collection the versions were logged into.", "ttlDurationSeconds");
        }
        return await UpdateCollectionAsync(key, description, tags, ttlDurationSeconds, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The TTL that applies to <paramref name="artifact"/>: its own, or the collection's when it inherits; null = never expires.</summary>
    public static long? EffectiveTtlSeconds(ArtifactRow artifact, CollectionRow? collection) =>
        ArtifactTtl.Inherits(artifact.TtlDurationSeconds) ? collection?.TtlDurationSeconds is >= 0 ? collection.TtlDurationSeconds : null
        : artifact.TtlDurationSeconds >= 0 ? artifact.TtlDurationSeconds : null;

    /// <summary>
    /// The TTL that applies to <paramref name="artifact"/> (null = never expires), reading the collection it
    /// was logged into only when it inherits; <paramref name="sources"/>, when given, keeps those reads
    /// across a listing so each collection is read once.
    /// </summary>
    public async Task<long?> EffectiveTtlSecondsAsync(ArtifactRow artifact, IDictionary<CollectionKey, CollectionRow?>? sources, CancellationToken cancellationToken)
    {
        if (!ArtifactTtl.Inherits(artifact.TtlDurationSeconds))
        {
            return EffectiveTtlSeconds(artifact, null);
        }
        var key = new CollectionKey(artifact.Entity, artifact.Project, artifact.Collection);
        if (sources is null || !sources.TryGetValue(key, out var source))
        {
            source = await FindCollectionAsync(key, cancellationToken).ConfigureAwait(false);
            sources?.Add(key, source);
        }
        return EffectiveTtlSeconds(artifact, source);
    }

    public static DateTimeOffset? ExpiresAt(ArtifactRow artifact, CollectionRow? collection)
    {
        if (EffectiveTtlSeconds(artifact, collection) is not { } ttl)
        {
            return null;
        }
        var room = (DateTimeOffset.MaxValue - artifact.CreatedAt).TotalSeconds;
        return ttl >= room ? null : artifact.CreatedAt.AddSeconds(ttl);
    }

    /// <summary>One pass of the TTL timer: expires due versions, then sweeps the blobs of every expired version not yet swept.</summary>
    public async Task<ExpiryResult> ExpireDueVersionsAsync(CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var table = await ArtifactsAsync().ConfigureAwait(false);
        var expired = 0;
        var versionRange = $"RowKey ge '{ArtifactKeys.ArtifactPrefix}' and RowKey lt '{TableKeys.PrefixEnd(ArtifactKeys.ArtifactPrefix)}' and State eq '{ArtifactStates.Committed}'";

        // Versions with their own TTL.
        await foreach (var row in table.QueryAsync<ArtifactRow>($"{versionRange} and TtlDurationSeconds ge 0L", cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            if (ExpiresAt(row, null) <= now && await MarkExpiredAsync(table, row, now, cancellationToken).ConfigureAwait(false))
            {
                expired++;
            }
        }

        // Versions inheriting the TTL of their collection.
        await foreach (var collection in table.QueryAsync<CollectionRow>($"RowKey eq '{ArtifactKeys.CollectionRow}' and TtlDurationSeconds ge 0L", cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            var filter = TableClient.CreateQueryFilter($"PartitionKey eq {collection.PartitionKey}") + " and " + versionRange;
            await foreach (var row in table.QueryAsync<ArtifactRow>(filter, cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                if (ArtifactTtl.Inherits(row.TtlDurationSeconds) && ExpiresAt(row, collection) <= now && await MarkExpiredAsync(table, row, now, cancellationToken).ConfigureAwait(false))
                {
                    expired++;
                }
            }
        }

        var (deleted, kept) = await SweepExpiredAsync(cancellationToken).ConfigureAwait(false);
        return new ExpiryResult(expired, deleted, kept);
    }

    /// <summary>DELETED for good (not restorable: its files go), flagged for the blob sweep. False when another writer changed it first.</summary>
    private static async Task<bool> MarkExpiredAsync(TableStore table, ArtifactRow row, DateTimeOffset now, CancellationToken cancellationToken)
    {
        row.State = ArtifactStates.Deleted;
        row.StateBeforeDelete = null;
        row.DeletedAt = now;
        row.ExpiredAt = now;
        row.SweepPending = true;
        row.UpdatedAt = now;
        try
        {
            await table.UpdateAsync(row, row.ETag, cancellationToken: cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (ConflictException)
        {
            // Edited concurrently (perhaps its TTL): the next pass looks again.
            return false;
        }
    }

    /// <summary>
    /// Per tenant: the blobs of the expired versions' manifests minus every blob a remaining
    /// version (pending, committed or soft-deleted, which can be restored) lists, are deleted; then
    /// the expired manifests themselves.
    /// </summary>
    private async Task<(int Deleted, int Kept)> SweepExpiredAsync(CancellationToken cancellationToken)
    {
        var table = await ArtifactsAsync().ConfigureAwait(false);
        var blobs = await BlobsAsync().ConfigureAwait(false);
        var pending = new List<ArtifactRow>();
        await foreach (var row in table.QueryAsync<ArtifactRow>("SweepPending eq true", cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            pending.Add(row);
        }
        var deleted = 0;
        var kept = 0;
        foreach (var tenant in pending.GroupBy(r => r.Entity, StringComparer.Ordinal))
        {
            var candidates = new HashSet<string>(StringComparer.Ordinal);
            foreach (var row in tenant)
            {
                foreach (var hex in await StoredFileHashesAsync(blobs, row.Key, cancellationToken).ConfigureAwait(false))
                {
                    candidates.Add(hex);
                }
            }
            var live = new HashSet<string>(StringComparer.Ordinal);
            var prefix = TableKeys.Escape(tenant.Key) + TableKeys.Separator;
            var filter = TableClient.CreateQueryFilter($"PartitionKey ge {prefix} and PartitionKey lt {TableKeys.PrefixEnd(prefix)} and RowKey ge {ArtifactKeys.ArtifactPrefix} and RowKey lt {TableKeys.PrefixEnd(ArtifactKeys.ArtifactPrefix)}");
            await foreach (var other in table.QueryAsync<ArtifactRow>(filter, cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                if (other.ExpiredAt is null)
                {
                    live.UnionWith(await StoredFileHashesAsync(blobs, other.Key, cancellationToken).ConfigureAwait(false));
                }
            }
            foreach (var hex in candidates)
            {
                if (live.Contains(hex))
                {
                    kept++;
                }
                else if (await blobs.DeleteAsync(FileBlob(tenant.Key, hex), cancellationToken).ConfigureAwait(false))
                {
                    deleted++;
                }
            }
            foreach (var row in tenant)
            {
                await blobs.DeleteAsync(ManifestBlob(row.Key), cancellationToken).ConfigureAwait(false);
                row.SweepPending = false;
                try
                {
                    await table.UpdateAsync(row, row.ETag, cancellationToken: cancellationToken).ConfigureAwait(false);
                }
                catch (ConflictException)
                {
                    // Swept by a concurrent pass.
                }
            }
        }
        return (deleted, kept);
    }

    /// <summary>The content hashes (hex MD5) of a version's stored, non-reference files; none when its manifest was never uploaded.</summary>
    private static async Task<IReadOnlyList<string>> StoredFileHashesAsync(BlobStore blobs, ArtifactKey key, CancellationToken cancellationToken)
    {
        var manifest = await blobs.DownloadAsync(ManifestBlob(key), cancellationToken).ConfigureAwait(false);
        if (manifest is null)
        {
            return [];
        }
        try
        {
            return ArtifactManifest.Parse(manifest.Value.Content.ToMemory()).Entries.Where(e => !e.IsReference && e.Md5Hex is not null).Select(e => e.Md5Hex!).ToList();
        }
        catch (ValidationFailedException)
        {
            // An unparsable upload of a pending version references nothing it could commit.
            return [];
        }
    }
}

/// <summary>
/// The TTL sentinels as the clients send them (wandb <c>Artifact._ttl_duration_seconds_to_gql</c>):
/// -1 inherits the collection's TTL, -2 never expires; otherwise seconds from creation. A version
/// stored without a value inherits.
/// </summary>
internal static class ArtifactTtl
{
    public const long Inherit = -1;
    public const long Disabled = -2;

    public static bool Inherits(long? ttl) => ttl is null or Inherit;

    public static void Validate(long? ttl, string field)
    {
        if (ttl is < Disabled)
        {
            throw new ValidationFailedException($"'{field}' is a number of seconds, or -1 (inherit the collection's TTL) / -2 (never expire).", field);
        }
    }
}
