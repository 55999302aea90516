using GraphQL;
using GraphQL.Types;
using Weightless.Core.Artifacts;
using Weightless.Core.Errors;
using Weightless.Core.Runs;

namespace Weightless.Core.GraphQL;

/// <summary>An artifact type as the schema sees it (it may be implied by a collection without a stored row).</summary>
internal sealed record ArtifactTypeSource(string Entity, string Project, string Name, string? Description, DateTimeOffset? CreatedAt);

/// <summary>A collection reference: the key always, the row once loaded.</summary>
internal sealed record CollectionSource(CollectionKey Key, CollectionRow? Row);

/// <summary>A page of collections.</summary>
internal sealed record CollectionPage(IReadOnlyList<CollectionRow> Collections, bool HasMore, int Total);

/// <summary>A page of versions of a collection.</summary>
internal sealed record VersionPage(IReadOnlyList<(int Index, ArtifactRow Artifact)> Versions, bool HasMore, int Total);

/// <summary>A page of artifact files.</summary>
internal sealed record ArtifactFilePage(IReadOnlyList<ArtifactFileInfo> Files, bool HasMore);

internal sealed class ArtifactStateEnum : EnumerationGraphType
{
    public ArtifactStateEnum()
    {
        Name = "ArtifactState";
        Add(ArtifactStates.Pending, ArtifactStates.Pending);
        Add(ArtifactStates.Committed, ArtifactStates.Committed);
        Add(ArtifactStates.Deleted, ArtifactStates.Deleted);
    }
}

internal sealed class ArtifactStorageLayoutEnum : EnumerationGraphType
{
    public ArtifactStorageLayoutEnum()
    {
        Name = "ArtifactStorageLayout";
        Add("V1", "V1");
        Add("V2", "V2");
    }
}

internal sealed class CompleteMultipartActionEnum : EnumerationGraphType
{
    public CompleteMultipartActionEnum()
    {
        Name = "CompleteMultipartAction";
        Add("Complete", "Complete");
        Add("Abort", "Abort");
    }
}

internal sealed class ArtifactDigestAlgorithmEnum : EnumerationGraphType
{
    public ArtifactDigestAlgorithmEnum()
    {
        Name = "ArtifactDigestAlgorithm";
        Add("MANIFEST_MD5", "MANIFEST_MD5");
    }
}

internal sealed class ArtifactManifestTypeEnum : EnumerationGraphType
{
    public ArtifactManifestTypeEnum()
    {
        Name = "ArtifactManifestType";
        Add("FULL", "FULL");
        Add("INCREMENTAL", "INCREMENTAL");
        Add("PATCH", "PATCH");
    }
}

/// <summary>A W&amp;B artifact version.</summary>
internal sealed class ArtifactGraphType : ObjectGraphType<ArtifactRow>
{
    public ArtifactGraphType()
    {
        Name = "Artifact";
        Field<NonNullGraphType<IdGraphType>>("id").Resolve(c => c.Source.Key.Id);
        Field<NonNullGraphType<StringGraphType>>("digest").Resolve(c => c.Source.Digest);
        Field<NonNullGraphType<ArtifactStateEnum>>("state").Resolve(c => c.Source.State);
        Field<StringGraphType>("description").Resolve(c => c.Source.Description);
        Field<JsonStringGraphType>("metadata").Resolve(c => c.Source.Metadata ?? "{}");
        Field<IntGraphType>("versionIndex").Resolve(c => c.Source.VersionIndex);
        Field<StringGraphType>("commitHash").Resolve(c => c.Source.State == ArtifactStates.Pending ? null : c.Source.Digest[..20]);
        Field<NonNullGraphType<IntGraphType>>("fileCount").Resolve(c => c.Source.FileCount);
        Field<NonNullGraphType<Int64GraphType>>("size").Resolve(c => c.Source.Size);
        Field<NonNullGraphType<WandbDateTimeGraphType>>("createdAt").Resolve(c => c.Source.CreatedAt);
        Field<WandbDateTimeGraphType>("updatedAt").Resolve(c => c.Source.UpdatedAt);
        Field<Int64GraphType>("historyStep").Resolve(c => c.Source.HistoryStep);
        // The TTL in force: an inheriting version answers its collection's, -2 when none applies.
        Field<Int64GraphType>("ttlDurationSeconds").ResolveAsync(async c =>
            await c.Service<ArtifactService>().EffectiveTtlSecondsAsync(c.Source, null, c.CancellationToken).ConfigureAwait(false) ?? ArtifactTtl.Disabled);
        Field<NonNullGraphType<BooleanGraphType>>("ttlIsInherited").Resolve(c => ArtifactTtl.Inherits(c.Source.TtlDurationSeconds));
        Field<NonNullGraphType<ArtifactTypeGraphType>>("artifactType").Resolve(c => new ArtifactTypeSource(c.Source.Entity, c.Source.Project, c.Source.Type, null, null));
        Field<NonNullGraphType<ArtifactSequenceGraphType>>("artifactSequence").ResolveAsync(async c =>
        {
            var key = new CollectionKey(c.Source.Entity, c.Source.Project, c.Source.Collection);
            return await c.Service<ArtifactService>().FindCollectionAsync(key, c.CancellationToken).ConfigureAwait(false)
                ?? new CollectionRow { PartitionKey = key.PartitionKey, Entity = key.Entity, Project = key.Project, Name = key.Collection, Type = c.Source.Type };
        });
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<ArtifactAliasGraphType>>>>("aliases").ResolveAsync(async c =>
            await c.Service<ArtifactService>().AliasesAsync(c.Source, c.CancellationToken).ConfigureAwait(false));
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<ArtifactTagGraphType>>>>("tags").Resolve(c => ArtifactService.Tags(c.Source));
        Field<ArtifactManifestGraphType>("currentManifest").Resolve(c => c.Source);
        Field<NonNullGraphType<ArtifactFileConnectionGraphType>>("files")
            .Argument<ListGraphType<StringGraphType>>("names")
            .Argument<StringGraphType>("after")
            .Argument<IntGraphType>("first")
            .ResolveAsync(async c =>
            {
                var first = Math.Clamp(c.GetArgument<int?>("first") ?? 50, 1, 10_000);
                var names = c.GetArgument<List<string?>?>("names")?.Where(n => !string.IsNullOrEmpty(n)).Select(n => n!).ToList();
                var (files, hasMore) = await c.Service<ArtifactService>().ListFilesAsync(c.Source, c.GetArgument<string?>("after"), first, names, c.CancellationToken).ConfigureAwait(false);
                return new ArtifactFilePage(files, hasMore);
            });
        Field<NonNullGraphType<ArtifactFileConnectionGraphType>>("filesByManifestEntries")
            .Argument<StringGraphType>("storageLayout")
            .Argument<StringGraphType>("manifestVersion")
            .Argument<ListGraphType<NonNullGraphType<ArtifactManifestEntryInputType>>>("entries")
            .Argument<StringGraphType>("storageRegion")
            .ResolveAsync(ResolveFilesByManifestEntriesAsync);
        Field<NonNullGraphType<RunConnectionType>>("usedBy").Argument<IntGraphType>("first").ResolveAsync(async c => await RunsOfAsync(c, ArtifactService.Consumer).ConfigureAwait(false));
        Field<RunType>("createdBy").ResolveAsync(async c =>
        {
            var producer = (await RunsOfAsync(c, ArtifactService.Producer).ConfigureAwait(false)).Runs;
            return producer.Count > 0 ? producer[0] : null;
        });
    }

    private static async Task<RunPage> RunsOfAsync(IResolveFieldContext<ArtifactRow> context, string relation)
    {
        var runService = context.Service<RunService>();
        var result = new List<RunRow>();
        foreach (var (run, r) in await context.Service<ArtifactService>().RunsOfArtifactAsync(context.Source.Key, context.CancellationToken).ConfigureAwait(false))
        {
            if (r == relation && await runService.FindRunAsync(run, context.CancellationToken).ConfigureAwait(false) is { } row)
            {
                result.Add(row);
            }
        }
        return new RunPage(result, false, result.Count);
    }

    /// <summary>Download URLs for the entries a client names (Go core asks this way); stored files of this tenant only.</summary>
    private static async Task<object?> ResolveFilesByManifestEntriesAsync(IResolveFieldContext<ArtifactRow> context)
    {
        var service = context.Service<ArtifactService>();
        var requested = context.GetArgument<List<Dictionary<string, object?>>?>("entries");
        if (requested is null)
        {
            var (all, _) = await service.ListFilesAsync(context.Source, null, int.MaxValue - 1, null, context.CancellationToken).ConfigureAwait(false);
            return new ArtifactFilePage(all, false);
        }
        if (requested.Count > ArtifactService.MaxFilesPerCall)
        {
            throw new ValidationFailedException($"At most {ArtifactService.MaxFilesPerCall} entries per call.", "entries");
        }
        var files = new List<ArtifactFileInfo>(requested.Count);
        foreach (var entry in requested)
        {
            var name = ArtifactManifest.ValidatePath(entry.GetValueOrDefault("name")?.ToString(), "entries.name");
            var digest = entry.GetValueOrDefault("digest")?.ToString() ?? "";
            files.Add(new ArtifactFileInfo(context.Source.Key, new ManifestEntry(name, digest, null, null, entry.GetValueOrDefault("birthArtifactID")?.ToString(), null)));
        }
        return new ArtifactFilePage(files, false);
    }
}

internal sealed class ArtifactTagGraphType : ObjectGraphType<string>
{
    public ArtifactTagGraphType()
    {
        Name = "Tag";
        Field<NonNullGraphType<IdGraphType>>("id").Resolve(c => Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes("Tag:" + c.Source)));
        Field<NonNullGraphType<StringGraphType>>("name").Resolve(c => c.Source);
        Field<NonNullGraphType<StringGraphType>>("tagCategoryName").Resolve(_ => "default");
        Field<JsonStringGraphType>("attributes").Resolve(_ => "{}");
    }
}

internal sealed class ArtifactTypeGraphType : ObjectGraphType<ArtifactTypeSource>
{
    public ArtifactTypeGraphType()
    {
        Name = "ArtifactType";
        Field<NonNullGraphType<IdGraphType>>("id").Resolve(c => ArtifactIds.Type(c.Source.Entity, c.Source.Project, c.Source.Name));
        Field<NonNullGraphType<StringGraphType>>("name").Resolve(c => c.Source.Name);
        Field<StringGraphType>("description").Resolve(c => c.Source.Description);
        Field<WandbDateTimeGraphType>("createdAt").Resolve(c => c.Source.CreatedAt);
        Field<NonNullGraphType<ArtifactCollectionConnectionGraphType>>("artifactCollections")
            .Argument<StringGraphType>("after")
            .Argument<IntGraphType>("first")
            .ResolveAsync(ResolveCollectionsAsync);
        Field<NonNullGraphType<ArtifactCollectionConnectionGraphType>>("artifactSequences")
            .Argument<StringGraphType>("after")
            .Argument<IntGraphType>("first")
            .ResolveAsync(ResolveCollectionsAsync);
        Field<ArtifactCollectionInterface>("artifactCollection").Argument<NonNullGraphType<StringGraphType>>("name").ResolveAsync(async c =>
        {
            var row = await c.Service<ArtifactService>().FindCollectionAsync(new CollectionKey(c.Source.Entity, c.Source.Project, ArtifactIds.ValidateCollection(c.GetArgument<string>("name"), "name")), c.CancellationToken).ConfigureAwait(false);
            return row is not null && row.Type == c.Source.Name ? row : null;
        });
        Field<ArtifactGraphType>("artifact").Argument<NonNullGraphType<StringGraphType>>("name").ResolveAsync(async c =>
        {
            var found = await c.Service<ArtifactService>().FindByNameAsync(c.Source.Entity, c.Source.Project, c.GetArgument<string>("name"), c.CancellationToken).ConfigureAwait(false);
            return found is { } f && f.Artifact.Type == c.Source.Name ? f.Artifact : null;
        });
    }

    private static async Task<object?> ResolveCollectionsAsync(IResolveFieldContext<ArtifactTypeSource> context)
    {
        var all = await context.Service<ArtifactService>().ListCollectionsAsync(context.Source.Entity, context.Source.Project, context.Source.Name, context.CancellationToken).ConfigureAwait(false);
        return ArtifactPaging.Collections(all, context.GetArgument<string?>("after"), context.GetArgument<int?>("first"));
    }
}

internal sealed class ArtifactTypeEdgeGraphType() : NodeEdgeGraphType<ArtifactTypeSource, ArtifactTypeGraphType>("ArtifactTypeEdge", s => s.Name);

internal sealed class ArtifactTypeConnectionGraphType : ObjectGraphType<IReadOnlyList<ArtifactTypeSource>>
{
    public ArtifactTypeConnectionGraphType()
    {
        Name = "ArtifactTypeConnection";
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<ArtifactTypeEdgeGraphType>>>>("edges").Resolve(c => c.Source);
        Field<NonNullGraphType<PageInfoType>>("pageInfo").Resolve(c => (c.Source.Count > 0 ? c.Source[^1].Name : null, false));
    }
}

/// <summary>W&amp;B's <c>ArtifactCollection</c> interface: a sequence (logged into) or a portfolio (linked into).</summary>
internal sealed class ArtifactCollectionInterface : InterfaceGraphType<CollectionRow>
{
    public ArtifactCollectionInterface()
    {
        Name = "ArtifactCollection";
        Field<NonNullGraphType<IdGraphType>>("id");
        Field<NonNullGraphType<StringGraphType>>("name");
        Field<StringGraphType>("description");
        Field<NonNullGraphType<WandbDateTimeGraphType>>("createdAt");
        Field<WandbDateTimeGraphType>("updatedAt");
        Field<StringGraphType>("state");
        Field<NonNullGraphType<Int64GraphType>>("ttlDurationSeconds");
        Field<NonNullGraphType<ProjectType>>("project");
        Field<NonNullGraphType<ArtifactTypeGraphType>>("defaultArtifactType");
        Field<NonNullGraphType<ArtifactTypeGraphType>>("artifactType");
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<ArtifactTagGraphType>>>>("tagList");
        Field<NonNullGraphType<ArtifactCollectionTagConnectionGraphType>>("tags");
        Field<ArtifactGraphType>("latestArtifact");
        Field<NonNullGraphType<VersionedArtifactConnectionGraphType>>("artifacts")
            .Argument<StringGraphType>("after")
            .Argument<IntGraphType>("first")
            .Argument<StringGraphType>("order")
            .Argument<JsonStringGraphType>("filters");
        Field<NonNullGraphType<ArtifactAliasConnectionGraphType>>("aliases");
    }
}

internal sealed class ArtifactSequenceGraphType : ObjectGraphType<CollectionRow>
{
    public ArtifactSequenceGraphType()
    {
        Name = "ArtifactSequence";
        Interface<ArtifactCollectionInterface>();
        IsTypeOf = o => o is CollectionRow { Kind: CollectionKinds.Sequence };
        ArtifactCollectionFields.Add(this);
    }
}

internal sealed class ArtifactPortfolioGraphType : ObjectGraphType<CollectionRow>
{
    public ArtifactPortfolioGraphType()
    {
        Name = "ArtifactPortfolio";
        Interface<ArtifactCollectionInterface>();
        IsTypeOf = o => o is CollectionRow { Kind: CollectionKinds.Portfolio };
        ArtifactCollectionFields.Add(this);
    }
}

/// <summary>The fields every collection type has (the interface and both implementations declare the same).</summary>
internal static class ArtifactCollectionFields
{
    public static void Add(ObjectGraphType<CollectionRow> type)
    {
        type.Field<NonNullGraphType<IdGraphType>>("id").Resolve(c => ArtifactIds.Sequence(c.Source.Key));
        type.Field<NonNullGraphType<StringGraphType>>("name").Resolve(c => c.Source.Name);
        type.Field<StringGraphType>("description").Resolve(c => c.Source.Description);
        type.Field<NonNullGraphType<WandbDateTimeGraphType>>("createdAt").Resolve(c => c.Source.CreatedAt);
        type.Field<WandbDateTimeGraphType>("updatedAt").Resolve(c => c.Source.UpdatedAt);
        type.Field<StringGraphType>("state").Resolve(c => c.Source.Deleted ? "DELETED" : "READY");
        // The default TTL its versions inherit; -2 (the clients' "disabled") when it has none.
        type.Field<NonNullGraphType<Int64GraphType>>("ttlDurationSeconds").Resolve(c => c.Source.TtlDurationSeconds ?? ArtifactTtl.Disabled);
        type.Field<NonNullGraphType<ProjectType>>("project").Resolve(c => new ProjectSource(c.Source.Entity, c.Source.Project, null));
        type.Field<NonNullGraphType<ArtifactTypeGraphType>>("defaultArtifactType").Resolve(c => new ArtifactTypeSource(c.Source.Entity, c.Source.Project, c.Source.Type, null, null));
        type.Field<NonNullGraphType<ArtifactTypeGraphType>>("artifactType").Resolve(c => new ArtifactTypeSource(c.Source.Entity, c.Source.Project, c.Source.Type, null, null));
        type.Field<NonNullGraphType<ListGraphType<NonNullGraphType<ArtifactTagGraphType>>>>("tagList").Resolve(c => CollectionTags(c.Source));
        type.Field<NonNullGraphType<ArtifactCollectionTagConnectionGraphType>>("tags").Resolve(c => CollectionTags(c.Source));
        type.Field<ArtifactGraphType>("latestArtifact").ResolveAsync(async c =>
        {
            if (c.Source.LatestVersion is not { } latest)
            {
                return null;
            }
            var found = await c.Service<ArtifactService>().FindByNameAsync(c.Source.Entity, c.Source.Project, c.Source.Name + ":" + ArtifactService.Latest, c.CancellationToken).ConfigureAwait(false);
            return found?.Artifact ?? await c.Service<ArtifactService>().ResolveVersionAsync(c.Source.Key, latest, c.CancellationToken).ConfigureAwait(false);
        });
        type.Field<NonNullGraphType<VersionedArtifactConnectionGraphType>>("artifacts")
            .Argument<StringGraphType>("after")
            .Argument<IntGraphType>("first")
            .Argument<StringGraphType>("order")
            .Argument<JsonStringGraphType>("filters")
            .ResolveAsync(async c =>
            {
                var versions = await c.Service<ArtifactService>().ListVersionsAsync(c.Source.Key, includeDeleted: false, c.CancellationToken).ConfigureAwait(false);
                var ordered = (c.GetArgument<string?>("order") ?? "-createdAt").TrimStart().StartsWith('+') ? versions : versions.Reverse().ToList();
                return ArtifactPaging.Versions(ordered, c.GetArgument<string?>("after"), c.GetArgument<int?>("first"));
            });
        type.Field<NonNullGraphType<ArtifactAliasConnectionGraphType>>("aliases").ResolveAsync(async c =>
            await c.Service<ArtifactService>().CollectionAliasesAsync(c.Source.Key, c.CancellationToken).ConfigureAwait(false));
    }

    public static IReadOnlyList<string> CollectionTags(CollectionRow row) =>
        string.IsNullOrEmpty(row.Tags) ? [] : System.Text.Json.JsonSerializer.Deserialize<List<string>>(row.Tags) ?? [];
}

internal sealed class ArtifactCollectionEdgeGraphType() : NodeEdgeGraphType<CollectionRow, ArtifactCollectionInterface>("ArtifactCollectionEdge", s => s.Name);

internal sealed class ArtifactCollectionConnectionGraphType : ObjectGraphType<CollectionPage>
{
    public ArtifactCollectionConnectionGraphType()
    {
        Name = "ArtifactCollectionConnection";
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<ArtifactCollectionEdgeGraphType>>>>("edges").Resolve(c => c.Source.Collections);
        Field<NonNullGraphType<PageInfoType>>("pageInfo").Resolve(c => (c.Source.Collections.Count > 0 ? c.Source.Collections[^1].Name : null, c.Source.HasMore));
        Field<NonNullGraphType<IntGraphType>>("totalCount").Resolve(c => c.Source.Total);
    }
}

internal sealed class VersionedArtifactEdgeGraphType : ObjectGraphType<(int Index, ArtifactRow Artifact)>
{
    public VersionedArtifactEdgeGraphType()
    {
        Name = "VersionedArtifactEdge";
        Field<NonNullGraphType<ArtifactGraphType>>("node").Resolve(c => c.Source.Artifact);
        Field<NonNullGraphType<StringGraphType>>("version").Resolve(c => $"v{c.Source.Index}");
        Field<NonNullGraphType<StringGraphType>>("cursor").Resolve(c => c.Source.Index.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }
}

internal sealed class VersionedArtifactConnectionGraphType : ObjectGraphType<VersionPage>
{
    public VersionedArtifactConnectionGraphType()
    {
        Name = "VersionedArtifactConnection";
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<VersionedArtifactEdgeGraphType>>>>("edges").Resolve(c => c.Source.Versions);
        Field<NonNullGraphType<PageInfoType>>("pageInfo").Resolve(c => (c.Source.Versions.Count > 0 ? c.Source.Versions[^1].Index.ToString(System.Globalization.CultureInfo.InvariantCulture) : null, c.Source.HasMore));
        Field<NonNullGraphType<IntGraphType>>("totalCount").Resolve(c => c.Source.Total);
    }
}

internal sealed class ArtifactAliasGraphType : ObjectGraphType<ArtifactAliasInfo>
{
    public ArtifactAliasGraphType()
    {
        Name = "ArtifactAlias";
        Field<NonNullGraphType<IdGraphType>>("id").Resolve(c => ArtifactIds.Alias(c.Source.Collection, c.Source.Alias));
        Field<NonNullGraphType<StringGraphType>>("alias").Resolve(c => c.Source.Alias);
        Field<NonNullGraphType<StringGraphType>>("artifactCollectionName").Resolve(c => c.Source.Collection.Collection);
        Field<ArtifactCollectionInterface>("artifactCollection").ResolveAsync(async c =>
            await c.Service<ArtifactService>().FindCollectionAsync(c.Source.Collection, c.CancellationToken).ConfigureAwait(false));
    }
}

internal sealed class ArtifactAliasEdgeGraphType() : NodeEdgeGraphType<ArtifactAliasInfo, ArtifactAliasGraphType>("ArtifactAliasEdge", s => s.Alias);

internal sealed class ArtifactAliasConnectionGraphType : ObjectGraphType<IReadOnlyList<ArtifactAliasInfo>>
{
    public ArtifactAliasConnectionGraphType()
    {
        Name = "ArtifactAliasConnection";
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<ArtifactAliasEdgeGraphType>>>>("edges").Resolve(c => c.Source);
        Field<NonNullGraphType<PageInfoType>>("pageInfo").Resolve(c => (c.Source.Count > 0 ? c.Source[^1].Alias : null, false));
    }
}

/// <summary>The manifest of a version; its <c>file</c> is <c>wandb_manifest.json</c>.</summary>
internal sealed class ArtifactManifestGraphType : ObjectGraphType<ArtifactRow>
{
    public ArtifactManifestGraphType()
    {
        Name = "ArtifactManifest";
        Field<NonNullGraphType<IdGraphType>>("id").Resolve(c => ArtifactIds.Manifest(c.Source.Key));
        Field<NonNullGraphType<ArtifactManifestTypeEnum>>("type").Resolve(_ => "FULL");
        Field<StringGraphType>("digest").Resolve(c => c.Source.ManifestDigest);
        Field<NonNullGraphType<WandbDateTimeGraphType>>("createdAt").Resolve(c => c.Source.CreatedAt);
        Field<NonNullGraphType<ArtifactManifestFileGraphType>>("file").Resolve(c => c.Source);
    }
}

internal sealed class ArtifactManifestFileGraphType : ObjectGraphType<ArtifactRow>
{
    public const string FileName = "wandb_manifest.json";

    public ArtifactManifestFileGraphType()
    {
        Name = "ArtifactManifestFile";
        Field<NonNullGraphType<IdGraphType>>("id").Resolve(c => ArtifactIds.File(c.Source.Key, FileName));
        Field<NonNullGraphType<StringGraphType>>("name").Resolve(_ => FileName);
        Field<NonNullGraphType<StringGraphType>>("displayName").Resolve(_ => FileName);
        Field<StringGraphType>("md5").Resolve(c => c.Source.ManifestDigest);
        Field<StringGraphType>("uploadUrl").ResolveAsync(async c => (await c.Service<ArtifactService>().ManifestUploadUrlAsync(c.Source.Key, c.CancellationToken).ConfigureAwait(false)).AbsoluteUri);
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<StringGraphType>>>>("uploadHeaders").Resolve(c => ArtifactService.UploadHeaders(c.Source.ManifestDigest));
        Field<StringGraphType>("directUrl").ResolveAsync(async c => (await c.Service<ArtifactService>().ManifestDownloadUrlAsync(c.Source.Key, c.CancellationToken).ConfigureAwait(false)).AbsoluteUri);
        Field<StringGraphType>("url").ResolveAsync(async c => (await c.Service<ArtifactService>().ManifestDownloadUrlAsync(c.Source.Key, c.CancellationToken).ConfigureAwait(false)).AbsoluteUri);
    }
}

/// <summary>A file of a committed version (from its manifest), with a download URL.</summary>
internal sealed class ArtifactFileGraphType : ObjectGraphType<ArtifactFileInfo>
{
    public ArtifactFileGraphType()
    {
        Name = "ArtifactFile";
        Field<NonNullGraphType<IdGraphType>>("id").Resolve(c => ArtifactIds.File(c.Source.Artifact, c.Source.Entry.Path));
        Field<NonNullGraphType<StringGraphType>>("name").Resolve(c => c.Source.Entry.Path);
        Field<StringGraphType>("displayName").Resolve(c => c.Source.Entry.Path.Split('/')[^1]);
        Field<StringGraphType>("digest").Resolve(c => c.Source.Entry.Digest);
        Field<StringGraphType>("md5").Resolve(c => c.Source.Entry.IsReference ? null : c.Source.Entry.Digest);
        Field<Int64GraphType>("sizeBytes").Resolve(c => c.Source.Entry.Size ?? 0);
        Field<StringGraphType>("mimetype").Resolve(_ => "application/octet-stream");
        Field<StringGraphType>("storagePath").Resolve(c => c.Source.Entry.Md5Hex is { } hex && !c.Source.Entry.IsReference ? ArtifactService.FileBlob(c.Source.Artifact.Entity, hex) : null);
        Field<StringGraphType>("directUrl").ResolveAsync(async c => await c.Service<ArtifactService>().FileDownloadUrlAsync(c.Source.Artifact.Entity, c.Source.Entry, c.CancellationToken).ConfigureAwait(false));
        Field<StringGraphType>("url").ResolveAsync(async c => await c.Service<ArtifactService>().FileDownloadUrlAsync(c.Source.Artifact.Entity, c.Source.Entry, c.CancellationToken).ConfigureAwait(false));
    }
}

internal sealed class ArtifactFileEdgeGraphType() : NodeEdgeGraphType<ArtifactFileInfo, ArtifactFileGraphType>("ArtifactFileEdge", s => s.Entry.Path);

internal sealed class ArtifactFileConnectionGraphType : ObjectGraphType<ArtifactFilePage>
{
    public ArtifactFileConnectionGraphType()
    {
        Name = "ArtifactFileConnection";
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<ArtifactFileEdgeGraphType>>>>("edges").Resolve(c => c.Source.Files);
        Field<NonNullGraphType<PageInfoType>>("pageInfo").Resolve(c => (c.Source.HasMore && c.Source.Files.Count > 0 ? c.Source.Files[^1].Entry.Path : null, c.Source.HasMore));
    }
}

/// <summary>One answer of <c>createArtifactFiles</c>: where to PUT the content, or no URL when it is already stored.</summary>
internal sealed class ArtifactFileUploadGraphType : ObjectGraphType<ArtifactFileUpload>
{
    public ArtifactFileUploadGraphType()
    {
        Name = "ArtifactFileUpload";
        Field<NonNullGraphType<IdGraphType>>("id").Resolve(c => ArtifactIds.File(c.Source.Artifact.Key, c.Source.Name));
        Field<NonNullGraphType<StringGraphType>>("name").Resolve(c => c.Source.Name);
        Field<NonNullGraphType<StringGraphType>>("displayName").Resolve(c => c.Source.Name.Split('/')[^1]);
        Field<StringGraphType>("md5").Resolve(c => c.Source.Md5);
        Field<StringGraphType>("storagePath").Resolve(c => c.Source.StoragePath);
        Field<StringGraphType>("uploadUrl").Resolve(c => c.Source.UploadUrl);
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<StringGraphType>>>>("uploadHeaders").Resolve(c => c.Source.UploadHeaders);
        Field<UploadMultipartUrlsGraphType>("uploadMultipartUrls").Resolve(c => c.Source.Multipart);
        Field<NonNullGraphType<ArtifactGraphType>>("artifact").Resolve(c => c.Source.Artifact);
    }
}

/// <summary>Multipart upload of one file: null unless multipart uploads are on and the client offered parts.</summary>
internal sealed class UploadMultipartUrlsGraphType : ObjectGraphType<MultipartUpload>
{
    public UploadMultipartUrlsGraphType()
    {
        Name = "UploadMultipartUrls";
        Field<NonNullGraphType<StringGraphType>>("uploadID").Resolve(c => c.Source.UploadId);
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<UploadUrlPartGraphType>>>>("uploadUrlParts").Resolve(c => c.Source.Parts);
    }
}

internal sealed class UploadUrlPartGraphType : ObjectGraphType<(long PartNumber, string UploadUrl)>
{
    public UploadUrlPartGraphType()
    {
        Name = "UploadUrlPart";
        Field<NonNullGraphType<Int64GraphType>>("partNumber").Resolve(c => c.Source.PartNumber);
        Field<NonNullGraphType<StringGraphType>>("uploadUrl").Resolve(c => c.Source.UploadUrl);
    }
}

internal sealed class ArtifactFileUploadEdgeGraphType() : NodeEdgeGraphType<ArtifactFileUpload, ArtifactFileUploadGraphType>("ArtifactFileUploadEdge", s => s.Name);

internal sealed class ArtifactFileUploadConnectionGraphType : ObjectGraphType<IReadOnlyList<ArtifactFileUpload>>
{
    public ArtifactFileUploadConnectionGraphType()
    {
        Name = "ArtifactFileUploadConnection";
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<ArtifactFileUploadEdgeGraphType>>>>("edges").Resolve(c => c.Source);
        Field<NonNullGraphType<PageInfoType>>("pageInfo").Resolve(_ => ((string?)null, false));
    }
}

internal static class ArtifactPaging
{
    public static CollectionPage Collections(IReadOnlyList<CollectionRow> all, string? after, int? first)
    {
        var start = 0;
        if (!string.IsNullOrEmpty(after))
        {
            var index = all.ToList().FindIndex(c => c.Name == after);
            start = index < 0 ? all.Count : index + 1;
        }
        var size = Math.Clamp(first ?? 50, 1, 1000);
        var page = all.Skip(start).Take(size).ToList();
        return new CollectionPage(page, start + page.Count < all.Count, all.Count);
    }

    public static VersionPage Versions(IReadOnlyList<(int Index, ArtifactRow Artifact)> ordered, string? after, int? first)
    {
        var start = 0;
        if (!string.IsNullOrEmpty(after) && int.TryParse(after, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var cursor))
        {
            var index = ordered.ToList().FindIndex(v => v.Index == cursor);
            start = index < 0 ? ordered.Count : index + 1;
        }
        var size = Math.Clamp(first ?? 50, 1, 1000);
        var page = ordered.Skip(start).Take(size).ToList();
        return new VersionPage(page, start + page.Count < ordered.Count, ordered.Count);
    }
}
