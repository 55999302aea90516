namespace Weightless.Core.Artifacts;

/// <summary>Bound from the <c>Artifacts</c> section.</summary>
internal sealed class ArtifactsOptions
{
    public const string Section = "Artifacts";

    /// <summary>How long an upload or download URL for an artifact file or manifest stays valid.</summary>
    public TimeSpan UrlLifetime { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How many blob existence checks one request runs at once (dedup, commit verification).</summary>
    public int BlobCheckParallelism { get; set; } = 16;

    /// <summary>How old an unpublished outbox row must be before the timer publishes it (younger ones are still being dispatched by their writer).</summary>
    public TimeSpan OutboxRetryAfter { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How long a republishing timer holds an outbox row.</summary>
    public TimeSpan OutboxClaim { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// Whether <c>createArtifactFiles</c> answers <c>uploadMultipartUrls</c> (one Put Block URL per
    /// part) when a client offers parts. Off by default: Azure's Put Block answer carries no ETag
    /// header, which the Python client reads from every part; a single PUT takes up to 5000 MiB.
    /// </summary>
    public bool MultipartUploads { get; set; }
}

/// <summary><c>createArtifact</c>, both variable styles folded into one.</summary>
internal sealed record CreateArtifactCommand
{
    public string? Entity { get; init; }
    public string? Project { get; init; }
    public string? RunName { get; init; }
    public string? Type { get; init; }
    public string? Collection { get; init; }
    public string? Digest { get; init; }
    public string? Description { get; init; }
    public string? Metadata { get; init; }

    /// <summary>(collection, alias) pairs as the clients send them, <c>latest</c> included.</summary>
    public IReadOnlyList<(string? Collection, string? Alias)> Aliases { get; init; } = [];
    public IReadOnlyList<string> Tags { get; init; } = [];
    public long? HistoryStep { get; init; }
    public long? TtlDurationSeconds { get; init; }
    public string? ClientId { get; init; }
    public string? SequenceClientId { get; init; }
    public bool EnableDigestDeduplication { get; init; }
}

/// <summary>One requested file of <c>createArtifactFiles</c>.</summary>
internal sealed record ArtifactFileSpec(string? ArtifactId, string? Name, string? Md5, IReadOnlyList<UploadPart>? Parts = null);

/// <summary>
/// The answer for one requested file: where the content lives (<see cref="StoragePath"/>, the
/// tenant's content address), and an upload URL with headers — or none when the content is
/// already stored (dedup).
/// </summary>
internal sealed record ArtifactFileUpload(ArtifactRow Artifact, string Name, string Md5, string StoragePath, string? UploadUrl, IReadOnlyList<string> UploadHeaders, MultipartUpload? Multipart = null);

/// <summary>A file of a committed version, for listings and downloads.</summary>
internal sealed record ArtifactFileInfo(ArtifactKey Artifact, ManifestEntry Entry);

/// <summary>An alias of a version as clients see it: which collection, which name.</summary>
internal sealed record ArtifactAliasInfo(CollectionKey Collection, string Alias);

/// <summary>Edits of a version (REST and <c>updateArtifact</c>): null leaves a field as it is.</summary>
internal sealed record UpdateArtifactCommand
{
    public string? Description { get; init; }
    public string? Metadata { get; init; }
    public IReadOnlyList<string>? Tags { get; init; }
    public IReadOnlyList<string>? TagsToAdd { get; init; }
    public IReadOnlyList<string>? TagsToDelete { get; init; }
    public long? TtlDurationSeconds { get; init; }
}
