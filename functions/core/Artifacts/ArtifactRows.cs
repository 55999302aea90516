using System.Runtime.Serialization;
using Azure;
using Azure.Data.Tables;
using Weightless.Core.Storage;

namespace Weightless.Core.Artifacts;

internal static class ArtifactStates
{
    public const string Pending = "PENDING";
    public const string Committed = "COMMITTED";
    public const string Deleted = "DELETED";
}

internal static class CollectionKinds
{
    /// <summary>A collection versions are logged into (W&amp;B <c>ArtifactSequence</c>).</summary>
    public const string Sequence = "sequence";

    /// <summary>A collection versions are linked into (W&amp;B <c>ArtifactPortfolio</c>: registries, the model registry).</summary>
    public const string Portfolio = "portfolio";
}

/// <summary>An artifact type of a project (table <c>artifacttypes</c>): partition = <c>entity:project</c>, row = type name.</summary>
internal sealed class ArtifactTypeRow : TableRow
{
    public string Name { get; set; } = "";
    public string? Description { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
}

/// <summary>
/// The header of a collection (table <c>artifacts</c>, partition = <c>entity:project:collection</c>,
/// row <c>c</c>). <see cref="NextVersion"/> is the version counter: a commit reads it, and writes
/// it back +1 with its ETag in the same batch as the version row and the alias rows, so versions
/// are gap-free and every alias move is atomic; a concurrent commit gets 412 and retries.
/// Also indexed by <c>entity:project</c> / <c>coll:&lt;name&gt;</c> for listings.
/// </summary>
internal sealed class CollectionRow : TableRow
{
    public CollectionRow() => RowKey = ArtifactKeys.CollectionRow;

    public string Entity { get; set; } = "";
    public string Project { get; set; } = "";
    public string Name { get; set; } = "";
    public string Type { get; set; } = "";
    public string Kind { get; set; } = CollectionKinds.Sequence;
    public string? Description { get; set; }

    /// <summary>JSON array of strings.</summary>
    public string? Tags { get; set; }
    public int NextVersion { get; set; }
    public int? LatestVersion { get; set; }
    public string? LatestArtifactGuid { get; set; }
    public string? LatestArtifactPartition { get; set; }
    public long? TtlDurationSeconds { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
    public bool Deleted { get; set; }

    [IgnoreDataMember]
    public CollectionKey Key => new(Entity, Project, Name);
}

/// <summary>
/// One artifact version (row <c>a:&lt;guid&gt;</c> in its birth collection's partition). PENDING from
/// <c>createArtifact</c> until <c>commitArtifact</c> reads the uploaded manifest and assigns
/// <see cref="VersionIndex"/>.
/// </summary>
internal sealed class ArtifactRow : TableRow
{
    public string Entity { get; set; } = "";
    public string Project { get; set; } = "";
    public string Collection { get; set; } = "";
    public string Guid { get; set; } = "";
    public string Type { get; set; } = "";
    public string State { get; set; } = ArtifactStates.Pending;

    /// <summary>Hex MD5 artifact digest the client declared at create (checked against the manifest at commit).</summary>
    public string Digest { get; set; } = "";
    public string? Description { get; set; }

    /// <summary>JSON object text (JSONString).</summary>
    public string? Metadata { get; set; }

    /// <summary>JSON array of strings.</summary>
    public string? Tags { get; set; }

    /// <summary>JSON array of the custom aliases to apply at commit.</summary>
    public string? RequestedAliases { get; set; }
    public int? VersionIndex { get; set; }
    public string? ProducerRun { get; set; }
    public string? ProducerProject { get; set; }
    public long? HistoryStep { get; set; }
    public long? TtlDurationSeconds { get; set; }
    public string? ClientId { get; set; }
    public string? SequenceClientId { get; set; }

    /// <summary>Base64 MD5 of the manifest file, as the client declared it; also the manifest upload's Content-MD5.</summary>
    public string? ManifestDigest { get; set; }
    public string? BaseArtifactId { get; set; }
    public int FileCount { get; set; }
    public long Size { get; set; }
    public string? CreatedBy { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
    public DateTimeOffset? CommittedAt { get; set; }
    public DateTimeOffset? DeletedAt { get; set; }

    /// <summary>The state before a soft delete, restored by <c>restore</c>.</summary>
    public string? StateBeforeDelete { get; set; }

    /// <summary>When its TTL deleted it for good (its files are gone; it cannot be restored).</summary>
    public DateTimeOffset? ExpiredAt { get; set; }

    /// <summary>Expired, but the blobs only it used are not deleted yet.</summary>
    public bool? SweepPending { get; set; }

    [IgnoreDataMember]
    public ArtifactKey Key => new(Entity, Project, Collection, Guid);
}

/// <summary>
/// Version <c>N</c> of a collection (row <c>v:&lt;N padded&gt;</c>): points at the artifact row, which
/// for a portfolio lives in another collection's partition.
/// </summary>
internal sealed class VersionRow : TableRow
{
    public int Index { get; set; }
    public string ArtifactPartition { get; set; } = "";
    public string ArtifactGuid { get; set; } = "";
    public string? LinkedBy { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
}

/// <summary>A custom alias or <c>latest</c> (row <c>al:&lt;alias&gt;</c>): unique within the collection by construction.</summary>
internal sealed class AliasRow : TableRow
{
    public string Alias { get; set; } = "";
    public int VersionIndex { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
}

/// <summary>Committed version by artifact digest (row <c>d:&lt;digest&gt;</c>): dedup at create and <c>coll:&lt;digest&gt;</c> lookups.</summary>
internal sealed class DigestRow : TableRow
{
    public int VersionIndex { get; set; }
}

/// <summary>
/// One direction of a lineage edge (table <c>artifactlineage</c>, partition = the entity of the
/// node the row belongs to). Rows: <c>run:&lt;project&gt;:&lt;run&gt;:out|in:&lt;artifact id&gt;</c> and
/// <c>art:&lt;artifact id&gt;:producer|consumer:&lt;entity&gt;:&lt;project&gt;:&lt;run&gt;</c>.
/// </summary>
internal sealed class LineageRow : TableRow
{
    public string RunEntity { get; set; } = "";
    public string RunProject { get; set; } = "";
    public string RunName { get; set; } = "";
    public string ArtifactId { get; set; } = "";

    /// <summary><c>producer</c> (logged by the run) or <c>consumer</c> (used by the run).</summary>
    public string Relation { get; set; } = "";
    public string? UsedAs { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
}
