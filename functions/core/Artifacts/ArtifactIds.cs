using System.Text;
using System.Text.RegularExpressions;
using Weightless.Core.Errors;
using Weightless.Core.Storage;

namespace Weightless.Core.Artifacts;

/// <summary>Where an artifact version lives: its birth collection and its own id within it.</summary>
internal sealed record ArtifactKey(string Entity, string Project, string Collection, string Guid)
{
    /// <summary>The collection's partition: everything about one collection is one partition, so commits are atomic batches.</summary>
    public string PartitionKey => ArtifactKeys.CollectionPartition(Entity, Project, Collection);

    public string RowKey => ArtifactKeys.ArtifactRow(Guid);

    public string Id => ArtifactIds.Artifact(this);

    public override string ToString() => $"{Entity}/{Project}/{Collection}@{Guid}";
}

/// <summary>A collection (W&amp;B "artifact sequence", or a "portfolio" that versions are linked into).</summary>
internal sealed record CollectionKey(string Entity, string Project, string Collection)
{
    public string PartitionKey => ArtifactKeys.CollectionPartition(Entity, Project, Collection);

    public override string ToString() => $"{Entity}/{Project}/{Collection}";
}

/// <summary>Table keys of the artifact tables. Every partition key starts with the entity.</summary>
internal static class ArtifactKeys
{
    public const string CollectionRow = "c";
    public const string ArtifactPrefix = "a:";
    public const string VersionPrefix = "v:";
    public const string AliasPrefix = "al:";
    public const string DigestPrefix = "d:";

    public static string CollectionPartition(string entity, string project, string collection) => TableKeys.Compose(entity, project, collection);

    public static string ProjectPartition(string entity, string project) => TableKeys.Compose(entity, project);

    public static string ArtifactRow(string guid) => ArtifactPrefix + guid;

    /// <summary>Zero-padded so that row-key order is version order.</summary>
    public static string VersionRow(int index) => VersionPrefix + index.ToString("D10", System.Globalization.CultureInfo.InvariantCulture);

    public static string AliasRow(string alias) => AliasPrefix + TableKeys.Escape(alias);

    public static string DigestRow(string digest) => DigestPrefix + TableKeys.Escape(digest);
}

/// <summary>
/// The opaque ids clients see: standard base64 of <c>Type:v1:…</c> text (Python turns artifact ids
/// into <c>wandb-artifact://&lt;hex of the decoded bytes&gt;/path</c>, so they must decode). Artifact
/// ids carry their key, so <c>artifact(id)</c> reads one row of the right tenant's partition.
/// Entity, project and collection names cannot contain ':', so parts are split from the right.
/// </summary>
internal static partial class ArtifactIds
{
    private const string ArtifactPrefix = "Artifact:v1:";
    private const string SequencePrefix = "ArtifactSequence:v1:";
    private const string ManifestPrefix = "ArtifactManifest:v1:";
    private const string TypePrefix = "ArtifactType:v1:";
    private const string FilePrefix = "ArtifactFile:v1:";

    [GeneratedRegex("^[A-Za-z0-9_.-]{1,128}$")]
    private static partial Regex CollectionPattern();

    [GeneratedRegex("^[A-Za-z0-9_.-]{1,128}$")]
    private static partial Regex TypePattern();

    [GeneratedRegex("^[^/:\\p{Cc}]{1,128}$")]
    private static partial Regex AliasPattern();

    [GeneratedRegex("^v[0-9]+$")]
    private static partial Regex VersionAliasPattern();

    public static string Artifact(ArtifactKey key) => Encode($"{ArtifactPrefix}{key.Guid}:{key.Collection}:{key.Project}:{key.Entity}");

    public static string Sequence(CollectionKey key) => Encode($"{SequencePrefix}{key.Collection}:{key.Project}:{key.Entity}");

    public static string Manifest(ArtifactKey key) => Encode($"{ManifestPrefix}{key.Guid}:{key.Collection}:{key.Project}:{key.Entity}");

    public static string Type(string entity, string project, string type) => Encode($"{TypePrefix}{type}:{project}:{entity}");

    public static string File(ArtifactKey key, string path) => Encode($"{FilePrefix}{Artifact(key)}:{path}");

    public static string Alias(CollectionKey key, string alias) => Encode($"ArtifactAlias:v1:{alias}:{key.Collection}:{key.Project}:{key.Entity}");

    public static ArtifactKey ParseArtifact(string? id, string field = "artifactID") => ParseFour(id, ArtifactPrefix, field, "artifact");

    public static ArtifactKey ParseManifest(string? id, string field = "artifactManifestID") => ParseFour(id, ManifestPrefix, field, "artifact manifest");

    public static CollectionKey ParseSequence(string? id, string field = "id")
    {
        var parts = Decode(id, SequencePrefix, field, "artifact collection", 3);
        return new CollectionKey(parts[2], parts[1], parts[0]);
    }

    public static string ValidateCollection(string? name, string field = "artifactCollectionName")
    {
        if (string.IsNullOrWhiteSpace(name) || !CollectionPattern().IsMatch(name))
        {
            throw new ValidationFailedException("An artifact name is 1–128 letters, digits, '-', '_' or '.'.", field);
        }
        return name;
    }

    public static string ValidateType(string? name, string field = "artifactTypeName")
    {
        if (string.IsNullOrWhiteSpace(name) || !TypePattern().IsMatch(name))
        {
            throw new ValidationFailedException("An artifact type is 1–128 letters, digits, '-', '_' or '.'.", field);
        }
        return name;
    }

    /// <summary>A custom alias: not a version alias (those are assigned), no '/' or ':'.</summary>
    public static string ValidateAlias(string? alias, string field = "aliases")
    {
        if (string.IsNullOrWhiteSpace(alias) || !AliasPattern().IsMatch(alias))
        {
            throw new ValidationFailedException($"'{alias}' is not a valid alias: 1–128 characters without '/' or ':'.", field);
        }
        if (IsVersionAlias(alias))
        {
            throw new ValidationFailedException($"'{alias}' is a version alias; versions are assigned when an artifact is committed.", field);
        }
        return alias;
    }

    public static bool IsVersionAlias(string alias) => VersionAliasPattern().IsMatch(alias);

    private static ArtifactKey ParseFour(string? id, string prefix, string field, string what)
    {
        var parts = Decode(id, prefix, field, what, 4);
        return new ArtifactKey(parts[3], parts[2], parts[1], parts[0]);
    }

    /// <summary>Splits the decoded text after <paramref name="prefix"/> into <paramref name="count"/> ':'-separated parts.</summary>
    private static string[] Decode(string? id, string prefix, string field, string what, int count)
    {
        string text;
        try
        {
            text = Encoding.UTF8.GetString(Convert.FromBase64String(id ?? ""));
        }
        catch (FormatException)
        {
            throw new ValidationFailedException($"'{id}' is not a valid {what} id.", field);
        }
        if (!text.StartsWith(prefix, StringComparison.Ordinal))
        {
            throw new ValidationFailedException($"'{id}' is not a valid {what} id.", field);
        }
        var parts = text[prefix.Length..].Split(':');
        if (parts.Length != count || parts.Any(string.IsNullOrEmpty))
        {
            throw new ValidationFailedException($"'{id}' is not a valid {what} id.", field);
        }
        return parts;
    }

    private static string Encode(string value) => Convert.ToBase64String(Encoding.UTF8.GetBytes(value));
}
