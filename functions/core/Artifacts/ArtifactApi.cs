using System.Text.Json;
using System.Text.Json.Nodes;
using Weightless.Core.Auth;
using Weightless.Core.Errors;
using Weightless.Core.Runs;
using Weightless.Core.Tenancy;

namespace Weightless.Core.Artifacts;

/// <summary>A collection; <c>TtlDurationSeconds</c> is the default TTL its inheriting versions follow (null: none).</summary>
internal sealed record ArtifactCollectionView(string Name, string Type, string Kind, string? Description, IReadOnlyList<string> Tags, string? LatestVersion, int VersionCount, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, long? TtlDurationSeconds);

/// <summary>PATCH of a collection: null leaves a field as it is; <c>ttlDurationSeconds</c> -1 or -2 clears the default TTL.</summary>
internal sealed record ArtifactCollectionEditRequest(string? Description, IReadOnlyList<string?>? Tags, long? TtlDurationSeconds);

internal sealed record ArtifactVersionView(
    string Id,
    string Collection,
    string Version,
    string Type,
    string State,
    string Digest,
    string? Description,
    JsonNode? Metadata,
    IReadOnlyList<string> Tags,
    IReadOnlyList<string> Aliases,
    int FileCount,
    long Size,
    string? ProducerRun,
    long? TtlDurationSeconds,
    bool TtlIsInherited,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt);

internal sealed record ArtifactFileView(string Path, string Digest, long? Size, string? Ref, string? DownloadUrl);

internal sealed record ArtifactVersionDetail(ArtifactVersionView Version, IReadOnlyList<ArtifactFileView> Files, string? NextCursor);

internal sealed record ArtifactEditRequest(string? Description, JsonElement? Metadata, IReadOnlyList<string>? Tags, long? TtlDurationSeconds);

internal sealed record ArtifactAliasRequest(string? Version);

internal sealed record LineageNodeView(string Id, string Kind, string Label);

internal sealed record LineageEdgeView(string From, string To, string Relation);

internal sealed record LineageGraphView(IReadOnlyList<LineageNodeView> Nodes, IReadOnlyList<LineageEdgeView> Edges, bool Truncated);

/// <summary>The REST view of artifacts (<c>/api/v1/entities/{entity}/projects/{project}/artifacts/...</c>): access checks and mapping.</summary>
internal sealed class ArtifactApi(ArtifactService artifacts)
{
    public async Task<IReadOnlyList<ArtifactCollectionView>> ListCollectionsAsync(Principal principal, string entity, string project, string? type, CancellationToken cancellationToken)
    {
        await artifacts.AuthorizeAsync(principal, entity, Role.Viewer, cancellationToken).ConfigureAwait(false);
        var rows = await artifacts.ListCollectionsAsync(entity, EntityNames.ValidateProject(project), type, cancellationToken).ConfigureAwait(false);
        return rows.Select(CollectionView).ToList();
    }

    public async Task<ArtifactCollectionView> EditCollectionAsync(Principal principal, string entity, string project, string collection, ArtifactCollectionEditRequest request, CancellationToken cancellationToken)
    {
        var key = new CollectionKey(EntityNames.ValidateEntity(entity, "entity"), EntityNames.ValidateProject(project), ArtifactIds.ValidateCollection(collection, "collection"));
        return CollectionView(await artifacts.EditCollectionAsync(principal, key, request.Description, request.Tags, request.TtlDurationSeconds, cancellationToken).ConfigureAwait(false));
    }

    private static ArtifactCollectionView CollectionView(CollectionRow c) =>
        new(c.Name, c.Type, c.Kind, c.Description, Tags(c.Tags), c.LatestVersion is { } l ? $"v{l}" : null, c.NextVersion, c.CreatedAt, c.UpdatedAt, c.TtlDurationSeconds);

    public async Task<IReadOnlyList<ArtifactVersionView>> ListVersionsAsync(Principal principal, string entity, string project, string collection, bool includeDeleted, CancellationToken cancellationToken)
    {
        var key = await CollectionAsync(principal, entity, project, collection, Role.Viewer, cancellationToken).ConfigureAwait(false);
        var views = new List<ArtifactVersionView>();
        var sources = new Dictionary<CollectionKey, CollectionRow?>();
        foreach (var (index, artifact) in await artifacts.ListVersionsAsync(key, includeDeleted, cancellationToken).ConfigureAwait(false))
        {
            views.Add(await ViewAsync(key, index, artifact, cancellationToken, sources).ConfigureAwait(false));
        }
        return views;
    }

    public async Task<ArtifactVersionDetail> GetVersionAsync(Principal principal, string entity, string project, string collection, string version, string? after, int? first, CancellationToken cancellationToken)
    {
        var (key, index, artifact) = await VersionAsync(principal, entity, project, collection, version, Role.Viewer, includeDeleted: true, cancellationToken).ConfigureAwait(false);
        var size = Math.Clamp(first ?? 1000, 1, 10_000);
        var (files, hasMore) = await artifacts.ListFilesAsync(artifact, after, size, null, cancellationToken).ConfigureAwait(false);
        var views = new List<ArtifactFileView>(files.Count);
        foreach (var file in files)
        {
            views.Add(new ArtifactFileView(file.Entry.Path, file.Entry.Digest, file.Entry.Size, file.Entry.Ref, await artifacts.FileDownloadUrlAsync(artifact.Entity, file.Entry, cancellationToken).ConfigureAwait(false)));
        }
        return new ArtifactVersionDetail(await ViewAsync(key, index, artifact, cancellationToken).ConfigureAwait(false), views, hasMore ? views[^1].Path : null);
    }

    public async Task<ArtifactVersionView> EditAsync(Principal principal, string entity, string project, string collection, string version, ArtifactEditRequest request, CancellationToken cancellationToken)
    {
        var (key, index, artifact) = await VersionAsync(principal, entity, project, collection, version, Role.Member, includeDeleted: false, cancellationToken).ConfigureAwait(false);
        string? metadata = null;
        if (request.Metadata is { } m)
        {
            if (m.ValueKind != JsonValueKind.Object)
            {
                throw new ValidationFailedException("'metadata' must be a JSON object.", "metadata");
            }
            metadata = m.GetRawText();
        }
        var updated = await artifacts.UpdateAsync(principal, artifact.Key, new UpdateArtifactCommand { Description = request.Description, Metadata = metadata, Tags = request.Tags, TtlDurationSeconds = request.TtlDurationSeconds }, cancellationToken).ConfigureAwait(false);
        return await ViewAsync(key, index, updated, cancellationToken).ConfigureAwait(false);
    }

    public async Task<ArtifactVersionView> SetAliasAsync(Principal principal, string entity, string project, string collection, string alias, ArtifactAliasRequest request, CancellationToken cancellationToken)
    {
        var (key, index, _) = await VersionAsync(principal, entity, project, collection, RequestBodyVersion(request.Version), Role.Member, includeDeleted: false, cancellationToken).ConfigureAwait(false);
        await artifacts.AddAliasAsync(principal, key, index, alias, cancellationToken).ConfigureAwait(false);
        var (_, _, artifact) = await VersionAsync(principal, entity, project, collection, $"v{index}", Role.Viewer, includeDeleted: false, cancellationToken).ConfigureAwait(false);
        return await ViewAsync(key, index, artifact, cancellationToken).ConfigureAwait(false);
    }

    public async Task RemoveAliasAsync(Principal principal, string entity, string project, string collection, string alias, CancellationToken cancellationToken)
    {
        var key = await CollectionAsync(principal, entity, project, collection, Role.Member, cancellationToken).ConfigureAwait(false);
        if (!await artifacts.RemoveAliasAsync(principal, key, alias, cancellationToken).ConfigureAwait(false))
        {
            throw new NotFoundException($"Alias '{alias}' not found in '{collection}'.");
        }
    }

    public async Task<ArtifactVersionView> SetDeletedAsync(Principal principal, string entity, string project, string collection, string version, bool deleted, CancellationToken cancellationToken)
    {
        var (key, index, artifact) = await VersionAsync(principal, entity, project, collection, version, Role.Member, includeDeleted: true, cancellationToken).ConfigureAwait(false);
        var changed = deleted
            ? await artifacts.DeleteAsync(principal, artifact.Key, cancellationToken).ConfigureAwait(false)
            : await artifacts.RestoreAsync(principal, artifact.Key, cancellationToken).ConfigureAwait(false);
        return await ViewAsync(key, index, changed, cancellationToken).ConfigureAwait(false);
    }

    public async Task<LineageGraphView> VersionLineageAsync(Principal principal, string entity, string project, string collection, string version, string? direction, int? depth, CancellationToken cancellationToken)
    {
        var (_, _, artifact) = await VersionAsync(principal, entity, project, collection, version, Role.Viewer, includeDeleted: true, cancellationToken).ConfigureAwait(false);
        return View(await artifacts.GraphAsync(principal, "artifact", artifact.Key.Id, direction ?? "both", depth ?? 3, cancellationToken).ConfigureAwait(false));
    }

    public async Task<LineageGraphView> RunLineageAsync(Principal principal, string entity, string project, string run, string? direction, int? depth, CancellationToken cancellationToken)
    {
        EntityNames.ValidateProject(project);
        RunService.ValidateRunId(run, "run");
        return View(await artifacts.GraphAsync(principal, "run", $"{entity}/{project}/{run}", direction ?? "both", depth ?? 3, cancellationToken).ConfigureAwait(false));
    }

    private static LineageGraphView View(LineageGraph graph) =>
        new(graph.Nodes.Select(n => new LineageNodeView(n.Id, n.Kind, n.Label)).ToList(), graph.Edges.Select(e => new LineageEdgeView(e.From, e.To, e.Relation)).ToList(), graph.Truncated);

    private static string RequestBodyVersion(string? version) =>
        string.IsNullOrWhiteSpace(version) ? throw new ValidationFailedException("'version' (e.g. \"v3\") is required.", "version") : version.Trim();

    private async Task<CollectionKey> CollectionAsync(Principal principal, string entity, string project, string collection, Role role, CancellationToken cancellationToken)
    {
        await artifacts.AuthorizeAsync(principal, entity, role, cancellationToken).ConfigureAwait(false);
        var key = new CollectionKey(entity, EntityNames.ValidateProject(project), ArtifactIds.ValidateCollection(collection, "collection"));
        _ = await artifacts.FindCollectionAsync(key, cancellationToken).ConfigureAwait(false) ?? throw new NotFoundException($"Artifact '{collection}' not found in {entity}/{project}.");
        return key;
    }

    /// <summary>A version by <c>vN</c> (deleted ones too when asked), alias or digest.</summary>
    private async Task<(CollectionKey Key, int Index, ArtifactRow Artifact)> VersionAsync(Principal principal, string entity, string project, string collection, string version, Role role, bool includeDeleted, CancellationToken cancellationToken)
    {
        var key = await CollectionAsync(principal, entity, project, collection, role, cancellationToken).ConfigureAwait(false);
        if (includeDeleted && ArtifactIds.IsVersionAlias(version) && int.TryParse(version.AsSpan(1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var index)
            && await artifacts.ResolveVersionAsync(key, index, cancellationToken).ConfigureAwait(false) is { State: not ArtifactStates.Pending } row)
        {
            return (key, index, row);
        }
        var found = await artifacts.FindByNameAsync(entity, key.Project, $"{collection}:{version}", cancellationToken).ConfigureAwait(false)
            ?? throw new NotFoundException($"Version '{version}' of '{collection}' not found.");
        return (key, found.Index, found.Artifact);
    }

    private async Task<ArtifactVersionView> ViewAsync(CollectionKey collection, int index, ArtifactRow artifact, CancellationToken cancellationToken, Dictionary<CollectionKey, CollectionRow?>? sources = null)
    {
        var aliases = (await artifacts.AliasesAsync(artifact, cancellationToken).ConfigureAwait(false))
            .Where(a => a.Collection == collection && !ArtifactIds.IsVersionAlias(a.Alias))
            .Select(a => a.Alias)
            .ToList();
        var ttl = await artifacts.EffectiveTtlSecondsAsync(artifact, sources, cancellationToken).ConfigureAwait(false);
        return new ArtifactVersionView(artifact.Key.Id, collection.Collection, $"v{index}", artifact.Type, artifact.State, artifact.Digest, artifact.Description, Metadata(artifact.Metadata), ArtifactService.Tags(artifact), aliases, artifact.FileCount, artifact.Size, artifact.ProducerRun, ttl, ArtifactTtl.Inherits(artifact.TtlDurationSeconds), artifact.CreatedAt, artifact.UpdatedAt);
    }

    /// <summary>Metadata as JSON; text the strict parser refuses (Python's NaN) is returned as a string rather than dropped.</summary>
    internal static JsonNode? Metadata(string? metadata)
    {
        if (metadata is null)
        {
            return null;
        }
        try
        {
            return JsonNode.Parse(metadata);
        }
        catch (JsonException)
        {
            return JsonValue.Create(metadata);
        }
    }

    private static IReadOnlyList<string> Tags(string? json) =>
        string.IsNullOrEmpty(json) ? [] : JsonSerializer.Deserialize<List<string>>(json) ?? [];
}
