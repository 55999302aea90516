using System.Collections.Concurrent;
using System.Text.Json;
using Azure.Data.Tables;
using Azure.Storage.Sas;
using Microsoft.Extensions.Options;
using Weightless.Core.Auth;
using Weightless.Core.Errors;
using Weightless.Core.Runs;
using Weightless.Core.Storage;
using Weightless.Core.Tenancy;

namespace Weightless.Core.Artifacts;

/// <summary>
/// Artifact logging: types, collections, PENDING versions, manifests, content-addressed files and
/// the commit that assigns <c>vN</c>. Bytes never pass through here: clients PUT to SAS URLs of
/// container <c>artifacts</c> — files at <c>&lt;entity&gt;/sha/&lt;md5 hex&gt;</c> (stored once per tenant),
/// manifests at <c>&lt;entity&gt;/manifests/&lt;guid&gt;.json</c>.
/// </summary>
internal sealed partial class ArtifactService(
    StorageAccount storage,
    TenancyService tenancy,
    RunService runs,
    Registry.IRegistryPolicy registry,
    ArtifactOutbox outbox,
    TimeProvider clock,
    IOptions<ArtifactsOptions> options)
{
    public const string ArtifactsTable = "artifacts";
    public const string TypesTable = "artifacttypes";
    public const string LineageTable = "artifactlineage";
    public const string Container = "artifacts";
    public const string Latest = "latest";

    public const int MaxAliasesPerVersion = 50;
    public const int MaxTags = 50;
    public const int MaxFilesPerCall = 10_000;
    private const int MaxTextChars = 30_000;
    private const int MaxAttempts = 50;

    private ArtifactsOptions Options => options.Value;

    public static string FileBlob(string entity, string md5Hex) => $"{entity}/sha/{md5Hex}";

    public static string ManifestBlob(ArtifactKey key) => $"{key.Entity}/manifests/{key.Guid}.json";

    private Task<TableStore> ArtifactsAsync() => storage.TableAsync(ArtifactsTable);

    private Task<BlobStore> BlobsAsync() => storage.ContainerAsync(Container);

    // ---------------------------------------------------------------- types

    public async Task<ArtifactTypeRow?> FindTypeAsync(string entity, string project, string name, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(TypesTable).ConfigureAwait(false);
        return await table.GetAsync<ArtifactTypeRow>(ArtifactKeys.ProjectPartition(entity, project), TableKeys.Escape(name), cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<ArtifactTypeRow>> ListTypesAsync(string entity, string project, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(TypesTable).ConfigureAwait(false);
        var list = new List<ArtifactTypeRow>();
        await foreach (var row in table.QueryPartitionAsync<ArtifactTypeRow>(ArtifactKeys.ProjectPartition(entity, project), cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            list.Add(row);
        }
        return list;
    }

    /// <summary><c>createArtifactType</c>: idempotent; a description given for an existing type replaces the old one.</summary>
    public async Task<ArtifactTypeRow> CreateTypeAsync(Principal principal, string? entityName, string? projectName, string? name, string? description, CancellationToken cancellationToken)
    {
        var (entity, project) = ValidateProject(principal, entityName, projectName);
        var type = ArtifactIds.ValidateType(name, "name");
        CheckText(description, "description");
        await tenancy.RequireRoleAsync(principal, entity, Role.Member, cancellationToken).ConfigureAwait(false);
        var row = await EnsureTypeAsync(entity, project, type, cancellationToken).ConfigureAwait(false);
        if (description is not null && row.Description != description)
        {
            row.Description = description;
            var table = await storage.TableAsync(TypesTable).ConfigureAwait(false);
            row.ETag = await table.UpsertAsync(row, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        return row;
    }

    private async Task<ArtifactTypeRow> EnsureTypeAsync(string entity, string project, string type, CancellationToken cancellationToken)
    {
        var existing = await FindTypeAsync(entity, project, type, cancellationToken).ConfigureAwait(false);
        if (existing is not null)
        {
            return existing;
        }
        var row = new ArtifactTypeRow { PartitionKey = ArtifactKeys.ProjectPartition(entity, project), RowKey = TableKeys.Escape(type), Name = type, CreatedAt = clock.GetUtcNow() };
        var table = await storage.TableAsync(TypesTable).ConfigureAwait(false);
        try
        {
            row.ETag = await table.AddAsync(row, cancellationToken).ConfigureAwait(false);
            return row;
        }
        catch (ConflictException)
        {
            return await FindTypeAsync(entity, project, type, cancellationToken).ConfigureAwait(false) ?? row;
        }
    }

    // ---------------------------------------------------------------- create

    /// <summary>
    /// <c>createArtifact</c>: a PENDING version in the collection (created with its type on first
    /// use) — or, with digest deduplication, the COMMITTED version that already has this digest,
    /// which tells the client to stop.
    /// </summary>
    public async Task<ArtifactRow> CreateAsync(Principal principal, CreateArtifactCommand command, CancellationToken cancellationToken)
    {
        var (entity, project) = ValidateProject(principal, command.Entity, command.Project);
        var type = ArtifactIds.ValidateType(command.Type);
        var collection = ArtifactIds.ValidateCollection(command.Collection, "artifactCollectionNames");
        var digest = command.Digest?.Trim() ?? "";
        if (digest.Length != 32 || !digest.All(char.IsAsciiHexDigit))
        {
            throw new ValidationFailedException("'digest' must be the hex MD5 manifest digest (32 hex digits).", "digest");
        }
        digest = digest.ToLowerInvariant();
        CheckText(command.Description, "description");
        var metadata = NormaliseMetadata(command.Metadata);
        var aliases = RequestedAliases(command.Aliases, collection);
        var tags = ValidateTags(command.Tags, "tags");
        ArtifactTtl.Validate(command.TtlDurationSeconds, "ttlDurationSeconds");
        string? runName = null;
        if (!string.IsNullOrWhiteSpace(command.RunName))
        {
            runName = RunService.ValidateRunId(command.RunName.Trim(), "runName");
        }
        await tenancy.RequireRoleAsync(principal, entity, Role.Member, cancellationToken).ConfigureAwait(false);
        if (runName is not null && await runs.FindRunAsync(new RunKey(entity, project, runName), cancellationToken).ConfigureAwait(false) is null)
        {
            throw new NotFoundException($"Run '{runName}' not found in {entity}/{project}.");
        }

        await EnsureTypeAsync(entity, project, type, cancellationToken).ConfigureAwait(false);
        var collectionRow = await EnsureCollectionAsync(new CollectionKey(entity, project, collection), type, CollectionKinds.Sequence, cancellationToken).ConfigureAwait(false);
        if (command.EnableDigestDeduplication && await FindCommittedByDigestAsync(collectionRow.Key, digest, cancellationToken).ConfigureAwait(false) is { } existing)
        {
            return existing;
        }

        var now = clock.GetUtcNow();
        var guid = System.Guid.NewGuid().ToString("N");
        var row = new ArtifactRow
        {
            PartitionKey = collectionRow.PartitionKey,
            RowKey = ArtifactKeys.ArtifactRow(guid),
            Entity = entity,
            Project = project,
            Collection = collection,
            Guid = guid,
            Type = type,
            State = ArtifactStates.Pending,
            Digest = digest,
            Description = command.Description,
            Metadata = metadata,
            Tags = tags.Count == 0 ? null : JsonSerializer.Serialize(tags),
            RequestedAliases = aliases.Count == 0 ? null : JsonSerializer.Serialize(aliases),
            ProducerRun = runName,
            ProducerProject = runName is null ? null : project,
            HistoryStep = command.HistoryStep,
            TtlDurationSeconds = command.TtlDurationSeconds,
            ClientId = Truncate(command.ClientId),
            SequenceClientId = Truncate(command.SequenceClientId),
            CreatedBy = principal.UserName,
            CreatedAt = now,
            UpdatedAt = now,
        };
        var table = await ArtifactsAsync().ConfigureAwait(false);
        row.ETag = await table.AddAsync(row, cancellationToken).ConfigureAwait(false);
        return row;
    }

    private CollectionRow NewCollectionRow(CollectionKey key, string type, string kind)
    {
        var now = clock.GetUtcNow();
        return new CollectionRow
        {
            PartitionKey = key.PartitionKey,
            Entity = key.Entity,
            Project = key.Project,
            Name = key.Collection,
            Type = type,
            Kind = kind,
            CreatedAt = now,
            UpdatedAt = now,
        };
    }

    private async Task<CollectionRow> EnsureCollectionAsync(CollectionKey key, string type, string kind, CancellationToken cancellationToken)
    {
        var table = await ArtifactsAsync().ConfigureAwait(false);
        for (var attempt = 0; ; attempt++)
        {
            var existing = await table.GetAsync<CollectionRow>(key.PartitionKey, ArtifactKeys.CollectionRow, cancellationToken).ConfigureAwait(false);
            if (existing is not null)
            {
                if (!string.Equals(existing.Type, type, StringComparison.Ordinal))
                {
                    throw new ValidationFailedException($"Artifact '{key.Collection}' has type '{existing.Type}'; it cannot hold versions of type '{type}'.", "artifactTypeName");
                }
                if (existing.Kind != kind)
                {
                    throw new ValidationFailedException($"'{key.Collection}' is a {(existing.Kind == CollectionKinds.Portfolio ? "collection versions are linked into" : "logged artifact")}; use another name.", "artifactCollectionName");
                }
                return existing;
            }
            var row = NewCollectionRow(key, type, kind);
            try
            {
                row.ETag = await table.AddAsync(row, cancellationToken).ConfigureAwait(false);
                return row;
            }
            catch (ConflictException) when (attempt < MaxAttempts)
            {
                // Created concurrently: read it and check its type.
            }
        }
    }

    private async Task<ArtifactRow?> FindCommittedByDigestAsync(CollectionKey key, string digest, CancellationToken cancellationToken)
    {
        var table = await ArtifactsAsync().ConfigureAwait(false);
        var index = await table.GetAsync<DigestRow>(key.PartitionKey, ArtifactKeys.DigestRow(digest), cancellationToken).ConfigureAwait(false);
        if (index is null)
        {
            return null;
        }
        var artifact = await ResolveVersionAsync(key, index.VersionIndex, cancellationToken).ConfigureAwait(false);
        return artifact is { State: ArtifactStates.Committed } && artifact.Digest == digest ? artifact : null;
    }

    // ---------------------------------------------------------------- manifest

    /// <summary>
    /// <c>createArtifactManifest</c> / <c>updateArtifactManifest</c>: the one manifest of a version.
    /// Idempotent (clients call it first with an empty digest, then with the real one); a non-empty
    /// <paramref name="manifestDigest"/> (base64 MD5 of the manifest file) is recorded so the upload
    /// URL can demand it as Content-MD5.
    /// </summary>
    public async Task<ArtifactRow> UpsertManifestAsync(Principal principal, ArtifactKey key, string? manifestDigest, string? baseArtifactId, CancellationToken cancellationToken)
    {
        var digest = string.IsNullOrWhiteSpace(manifestDigest) ? null : manifestDigest.Trim();
        if (digest is not null && ArtifactManifest.TryMd5Hex(digest) is null)
        {
            throw new ValidationFailedException("'digest' must be the base64 MD5 of the manifest file.", "digest");
        }
        if (!string.IsNullOrEmpty(baseArtifactId))
        {
            ArtifactIds.ParseArtifact(baseArtifactId, "baseArtifactID");
        }
        var table = await ArtifactsAsync().ConfigureAwait(false);
        for (var attempt = 0; ; attempt++)
        {
            var row = await RequireArtifactAsync(principal, key, Role.Member, cancellationToken).ConfigureAwait(false);
            if (row.State != ArtifactStates.Pending)
            {
                if (digest is null || digest == row.ManifestDigest)
                {
                    return row;
                }
                throw new ConflictException($"Artifact version {key} is {row.State}; its manifest cannot change.");
            }
            if ((digest is null || digest == row.ManifestDigest) && (string.IsNullOrEmpty(baseArtifactId) || baseArtifactId == row.BaseArtifactId))
            {
                return row;
            }
            row.ManifestDigest = digest ?? row.ManifestDigest;
            row.BaseArtifactId = string.IsNullOrEmpty(baseArtifactId) ? row.BaseArtifactId : baseArtifactId;
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

    public async Task<Uri> ManifestUploadUrlAsync(ArtifactKey key, CancellationToken cancellationToken)
    {
        var blobs = await BlobsAsync().ConfigureAwait(false);
        return await blobs.GetSasUriAsync(ManifestBlob(key), BlobSasPermissions.Create | BlobSasPermissions.Write, Options.UrlLifetime, cancellationToken).ConfigureAwait(false);
    }

    public async Task<Uri> ManifestDownloadUrlAsync(ArtifactKey key, CancellationToken cancellationToken)
    {
        var blobs = await BlobsAsync().ConfigureAwait(false);
        return await blobs.GetSasUriAsync(ManifestBlob(key), BlobSasPermissions.Read, Options.UrlLifetime, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>What a PUT must carry: Azure's blob type, and the declared MD5 so Blob storage rejects other bytes.</summary>
    public static IReadOnlyList<string> UploadHeaders(string? md5Base64) =>
        md5Base64 is null ? ["x-ms-blob-type:BlockBlob"] : ["x-ms-blob-type:BlockBlob", "Content-MD5:" + md5Base64];

    // ---------------------------------------------------------------- files

    /// <summary>
    /// <c>createArtifactFiles</c>: one answer per requested file, in request order. Content already
    /// stored for the tenant gets no upload URL (dedup); the rest get a SAS PUT URL for their content
    /// address, with a Content-MD5 header so the stored bytes must match the address.
    /// </summary>
    public async Task<IReadOnlyList<ArtifactFileUpload>> CreateFilesAsync(Principal principal, IReadOnlyList<ArtifactFileSpec> specs, CancellationToken cancellationToken)
    {
        if (specs.Count > MaxFilesPerCall)
        {
            throw new ValidationFailedException($"At most {MaxFilesPerCall} files per call.", "artifactFiles");
        }
        var parsed = new List<(ArtifactKey Key, string Name, string Md5, string Hex, IReadOnlyList<UploadPart> Parts)>(specs.Count);
        for (var i = 0; i < specs.Count; i++)
        {
            var spec = specs[i];
            var key = ArtifactIds.ParseArtifact(spec.ArtifactId, $"artifactFiles[{i}].artifactID");
            var name = ArtifactManifest.ValidatePath(spec.Name, $"artifactFiles[{i}].name");
            var hex = ArtifactManifest.TryMd5Hex(spec.Md5) ?? throw new ValidationFailedException("'md5' must be the base64 MD5 of the file.", $"artifactFiles[{i}].md5");
            var parts = Options.MultipartUploads && spec.Parts is { Count: > 0 } offered ? ValidateParts(offered, $"artifactFiles[{i}].uploadPartsInput") : [];
            parsed.Add((key, name, spec.Md5!, hex, parts));
        }
        var artifacts = new Dictionary<ArtifactKey, ArtifactRow>();
        foreach (var key in parsed.Select(p => p.Key).Distinct())
        {
            var row = await RequireArtifactAsync(principal, key, Role.Member, cancellationToken).ConfigureAwait(false);
            if (row.State != ArtifactStates.Pending)
            {
                throw new ConflictException($"Artifact version {key} is {row.State}; files can only be added before it is committed.");
            }
            artifacts[key] = row;
        }
        var blobs = await BlobsAsync().ConfigureAwait(false);
        var stored = new ConcurrentDictionary<string, bool>(StringComparer.Ordinal);
        await Parallel.ForEachAsync(
            parsed.Select(p => FileBlob(p.Key.Entity, p.Hex)).Distinct(StringComparer.Ordinal),
            new ParallelOptions { MaxDegreeOfParallelism = Options.BlobCheckParallelism, CancellationToken = cancellationToken },
            async (blob, ct) => stored[blob] = await blobs.GetPropertiesAsync(blob, ct).ConfigureAwait(false) is not null).ConfigureAwait(false);
        var result = new ArtifactFileUpload[parsed.Count];
        for (var i = 0; i < parsed.Count; i++)
        {
            var (key, name, md5, hex, parts) = parsed[i];
            var blob = FileBlob(key.Entity, hex);
            if (stored[blob])
            {
                result[i] = new ArtifactFileUpload(artifacts[key], name, md5, blob, null, []);
                continue;
            }
            var url = await blobs.GetSasUriAsync(blob, BlobSasPermissions.Create | BlobSasPermissions.Write, Options.UrlLifetime, cancellationToken).ConfigureAwait(false);
            var multipart = parts.Count == 0 ? null : await MultipartUrlsAsync(blobs, blob, parts, cancellationToken).ConfigureAwait(false);
            result[i] = new ArtifactFileUpload(artifacts[key], name, md5, blob, url.AbsoluteUri, UploadHeaders(md5), multipart);
        }
        return result;
    }

    // ---------------------------------------------------------------- commit

    /// <summary>
    /// <c>commitArtifact</c>: reads the uploaded manifest, checks it against the declared digest and
    /// that every stored file is present with that content, then — in one batch guarded by the
    /// collection's ETag — assigns the next <c>vN</c>, moves <c>latest</c> and the requested aliases,
    /// and marks the version COMMITTED. Concurrent commits retry; versions stay gap-free.
    /// Committing a committed version answers it again (client retries).
    /// </summary>
    public async Task<ArtifactRow> CommitAsync(Principal principal, ArtifactKey key, CancellationToken cancellationToken)
    {
        var row = await RequireArtifactAsync(principal, key, Role.Member, cancellationToken).ConfigureAwait(false);
        if (row.State == ArtifactStates.Committed)
        {
            return row;
        }
        if (row.State != ArtifactStates.Pending)
        {
            throw new ConflictException($"Artifact version {key} is {row.State} and cannot be committed.");
        }
        var blobs = await BlobsAsync().ConfigureAwait(false);
        var manifestBlob = await blobs.DownloadAsync(ManifestBlob(key), cancellationToken).ConfigureAwait(false)
            ?? throw new ValidationFailedException("The manifest has not been uploaded; PUT it to the manifest upload URL before committing.", "artifactID");
        if (manifestBlob.Content.ToMemory().Length > ArtifactManifest.MaxBytes)
        {
            throw new TooLargeException($"The manifest is larger than {ArtifactManifest.MaxBytes} bytes.", "manifest");
        }
        var manifest = ArtifactManifest.Parse(manifestBlob.Content.ToMemory());
        var digest = manifest.Digest;
        if (!string.Equals(digest, row.Digest, StringComparison.Ordinal))
        {
            throw new ValidationFailedException($"The uploaded manifest has digest {digest}, but the artifact was created with {row.Digest}.", "digest");
        }
        await VerifyStoredFilesAsync(key.Entity, manifest, cancellationToken).ConfigureAwait(false);
        var aliases = string.IsNullOrEmpty(row.RequestedAliases) ? [] : JsonSerializer.Deserialize<List<string>>(row.RequestedAliases) ?? [];

        var table = await ArtifactsAsync().ConfigureAwait(false);
        var collectionKey = new CollectionKey(key.Entity, key.Project, key.Collection);
        for (var attempt = 0; ; attempt++)
        {
            var collection = await table.GetAsync<CollectionRow>(collectionKey.PartitionKey, ArtifactKeys.CollectionRow, cancellationToken).ConfigureAwait(false)
                ?? throw new NotFoundException($"Artifact '{key.Collection}' not found.");
            var current = await table.GetAsync<ArtifactRow>(key.PartitionKey, key.RowKey, cancellationToken).ConfigureAwait(false)
                ?? throw new NotFoundException($"Artifact version {key} not found.");
            if (current.State == ArtifactStates.Committed)
            {
                return current;
            }
            var now = clock.GetUtcNow();
            var index = collection.NextVersion;
            collection.NextVersion = index + 1;
            collection.LatestVersion = index;
            collection.LatestArtifactGuid = key.Guid;
            collection.LatestArtifactPartition = key.PartitionKey;
            collection.UpdatedAt = now;
            current.State = ArtifactStates.Committed;
            current.VersionIndex = index;
            current.FileCount = manifest.Entries.Count;
            current.Size = manifest.TotalSize;
            current.CommittedAt = now;
            current.UpdatedAt = now;
            var actions = new List<TableTransactionAction>
            {
                new(TableTransactionActionType.UpdateReplace, collection, collection.ETag),
                new(TableTransactionActionType.UpdateReplace, current, current.ETag),
                new(TableTransactionActionType.Add, new VersionRow { PartitionKey = collectionKey.PartitionKey, RowKey = ArtifactKeys.VersionRow(index), Index = index, ArtifactPartition = key.PartitionKey, ArtifactGuid = key.Guid, CreatedAt = now }),
                new(TableTransactionActionType.UpsertReplace, new DigestRow { PartitionKey = collectionKey.PartitionKey, RowKey = ArtifactKeys.DigestRow(current.Digest), VersionIndex = index }),
            };
            foreach (var alias in aliases.Append(Latest).Distinct(StringComparer.Ordinal))
            {
                actions.Add(new(TableTransactionActionType.UpsertReplace, new AliasRow { PartitionKey = collectionKey.PartitionKey, RowKey = ArtifactKeys.AliasRow(alias), Alias = alias, VersionIndex = index, UpdatedAt = now }));
            }
            var version = "v" + index.ToString(System.Globalization.CultureInfo.InvariantCulture);
            var published = new List<ArtifactEvent> { new(ArtifactEventTypes.VersionCreated, key.Entity, key.Project, key.Collection, current.Type, version, key.Id, principal.UserName) };
            published.AddRange(aliases.Where(a => a != Latest).Select(a => new ArtifactEvent(ArtifactEventTypes.AddArtifactAlias, key.Entity, key.Project, key.Collection, current.Type, version, key.Id, principal.UserName, Alias: a)));
            var pending = outbox.Row(collectionKey.PartitionKey, published);
            ArtifactOutbox.AddTo(actions, pending);
            try
            {
                await table.SubmitBatchAsync(actions, cancellationToken).ConfigureAwait(false);
            }
            catch (ConflictException) when (attempt < MaxAttempts)
            {
                await Task.Delay(Random.Shared.Next(5, 20 + (attempt * 10)), cancellationToken).ConfigureAwait(false);
                continue;
            }
            await outbox.DispatchAsync(pending, cancellationToken).ConfigureAwait(false);
            if (current.ProducerRun is not null)
            {
                await RecordLineageAsync(new RunKey(key.Entity, current.ProducerProject ?? key.Project, current.ProducerRun), key, "producer", null, now, cancellationToken).ConfigureAwait(false);
            }
            return current;
        }
    }

    /// <summary>
    /// Every stored (non-reference) file must be in the tenant's content store with the MD5 its
    /// address names. Blob storage computes Content-MD5 for single-shot uploads, so a blob whose
    /// recorded hash differs was written without the required header and is removed.
    /// </summary>
    private async Task VerifyStoredFilesAsync(string entity, ArtifactManifest manifest, CancellationToken cancellationToken)
    {
        var blobs = await BlobsAsync().ConfigureAwait(false);
        var missing = new ConcurrentBag<string>();
        var wanted = manifest.Entries.Where(e => !e.IsReference).GroupBy(e => e.Md5Hex!, StringComparer.Ordinal).ToList();
        await Parallel.ForEachAsync(
            wanted,
            new ParallelOptions { MaxDegreeOfParallelism = Options.BlobCheckParallelism, CancellationToken = cancellationToken },
            async (group, ct) =>
            {
                var blob = FileBlob(entity, group.Key);
                var properties = await blobs.GetPropertiesAsync(blob, ct).ConfigureAwait(false);
                if (properties is null)
                {
                    missing.Add(group.First().Path);
                }
                else if (properties.ContentHash is { Length: 16 } hash && !string.Equals(Convert.ToHexStringLower(hash), group.Key, StringComparison.Ordinal))
                {
                    await blobs.DeleteAsync(blob, ct).ConfigureAwait(false);
                    missing.Add(group.First().Path);
                }
            }).ConfigureAwait(false);
        if (!missing.IsEmpty)
        {
            var sample = missing.Order(StringComparer.Ordinal).Take(5).ToList();
            throw new ValidationFailedException($"{missing.Count} file(s) of the manifest are not uploaded with their digest's content (e.g. {string.Join(", ", sample)}); upload them and commit again.", "manifest");
        }
    }

    // ---------------------------------------------------------------- helpers

    /// <summary>The artifact row after an access check (404 when the tenant is invisible or the version does not exist).</summary>
    public async Task<ArtifactRow> RequireArtifactAsync(Principal principal, ArtifactKey key, Role role, CancellationToken cancellationToken)
    {
        await tenancy.RequireRoleAsync(principal, key.Entity, role, cancellationToken).ConfigureAwait(false);
        return await FindArtifactAsync(key, cancellationToken).ConfigureAwait(false)
            ?? throw new NotFoundException($"Artifact version {key.Id} not found.");
    }

    public async Task<ArtifactRow?> FindArtifactAsync(ArtifactKey key, CancellationToken cancellationToken)
    {
        var table = await ArtifactsAsync().ConfigureAwait(false);
        return await table.GetAsync<ArtifactRow>(key.PartitionKey, key.RowKey, cancellationToken).ConfigureAwait(false);
    }

    private static (string Entity, string Project) ValidateProject(Principal principal, string? entity, string? project) =>
        (EntityNames.ValidateEntity(RunService.ResolveEntity(principal, entity), "entityName"),
         EntityNames.ValidateProject(string.IsNullOrWhiteSpace(project) ? RunService.DefaultProject : project.Trim(), "projectName"));

    private static List<string> RequestedAliases(IReadOnlyList<(string? Collection, string? Alias)> aliases, string collection)
    {
        var result = new List<string>();
        foreach (var (aliasCollection, alias) in aliases)
        {
            if (!string.IsNullOrEmpty(aliasCollection) && aliasCollection != collection)
            {
                // Aliases for other collections name a collection this version is not in: W&B ignores them too.
                continue;
            }
            if (alias == Latest)
            {
                continue;
            }
            var valid = ArtifactIds.ValidateAlias(alias);
            if (!result.Contains(valid, StringComparer.Ordinal))
            {
                result.Add(valid);
            }
        }
        if (result.Count > MaxAliasesPerVersion)
        {
            throw new ValidationFailedException($"At most {MaxAliasesPerVersion} aliases per version.", "aliases");
        }
        return result;
    }

    internal static List<string> ValidateTags(IEnumerable<string?>? tags, string field)
    {
        var result = new List<string>();
        foreach (var tag in tags ?? [])
        {
            if (string.IsNullOrWhiteSpace(tag) || tag.Length > 256 || tag.Any(char.IsControl))
            {
                throw new ValidationFailedException("A tag is 1–256 characters without control characters.", field);
            }
            if (!result.Contains(tag, StringComparer.Ordinal))
            {
                result.Add(tag);
            }
        }
        if (result.Count > MaxTags)
        {
            throw new ValidationFailedException($"At most {MaxTags} tags.", field);
        }
        return result;
    }

    /// <summary>Metadata is a JSON object (JSONString); Python's bare NaN/Infinity are accepted as the text they are.</summary>
    internal static string? NormaliseMetadata(string? metadata)
    {
        if (string.IsNullOrWhiteSpace(metadata) || metadata.Trim() == "null")
        {
            return null;
        }
        if (metadata.Length > MaxTextChars)
        {
            throw new TooLargeException($"'metadata' is {metadata.Length} characters; at most {MaxTextChars} are accepted.", "metadata");
        }
        var trimmed = metadata.Trim();
        if (!trimmed.StartsWith('{') || !trimmed.EndsWith('}'))
        {
            throw new ValidationFailedException("'metadata' must be a JSON object.", "metadata");
        }
        return trimmed;
    }

    private static void CheckText(string? value, string field)
    {
        if (value is { Length: > MaxTextChars })
        {
            throw new TooLargeException($"'{field}' is {value.Length} characters; at most {MaxTextChars} are accepted.", field);
        }
    }

    private static string? Truncate(string? value) => value is { Length: > 512 } ? value[..512] : value;
}
