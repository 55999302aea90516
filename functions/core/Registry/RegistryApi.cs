using System.Text.Json;
using System.Text.Json.Nodes;

namespace Weightless.Core.Registry;

internal sealed record RegistryView(
    string Name,
    string FullName,
    string Organization,
    string? Description,
    string Visibility,
    bool AllowAllTypes,
    IReadOnlyList<string> ArtifactTypes,
    IReadOnlyList<string> ProtectedAliases,
    bool Core,
    string Role,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt);

internal sealed record RegistryMemberView(string Kind, string Name, string Role);

internal sealed record RegistryCollectionView(string Registry, string Name, string Path, string Type, string? Description, IReadOnlyList<string> Tags, int VersionCount, string? LatestVersion, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);

internal sealed record RegistryVersionView(
    string Registry,
    string Collection,
    string Version,
    string Path,
    IReadOnlyList<string> Aliases,
    string ArtifactId,
    string Source,
    string Type,
    string Digest,
    string? Description,
    JsonNode? Metadata,
    IReadOnlyList<string> Tags,
    int FileCount,
    long Size,
    DateTimeOffset CreatedAt);

internal sealed record RegistrySearchView(IReadOnlyList<RegistryView> Registries, IReadOnlyList<RegistryCollectionView> Collections, IReadOnlyList<RegistryVersionView> Versions);

internal sealed record CreateRegistryRequest(string? Name, string? Description, string? Visibility, IReadOnlyList<string>? ArtifactTypes, bool? AllowAllTypes);

internal sealed record EditRegistryRequest(string? Name, string? Description, string? Visibility, IReadOnlyList<string>? ArtifactTypes, bool? AllowAllTypes);

internal sealed record SetRegistryMemberRequest(string? User, string? Team, string? Role);

internal sealed record ProtectedAliasesRequest(IReadOnlyList<string>? Aliases);

internal sealed record CreateRegistryCollectionRequest(string? Name, string? Type, string? Description, IReadOnlyList<string>? Tags);

internal sealed record EditRegistryCollectionRequest(string? Description, IReadOnlyList<string?>? Tags);

/// <summary>What to link: an artifact id, or <c>entity</c>/<c>project</c>/<c>artifact</c> (<c>name:vN|alias</c>).</summary>
internal sealed record LinkRegistryVersionRequest(string? ArtifactId, string? Entity, string? Project, string? Artifact, IReadOnlyList<string?>? Aliases);

internal sealed record SetRegistryAliasRequest(string? Version);

/// <summary>Filters of collection and version listings and of search (all optional, all must match).</summary>
internal sealed record RegistryFilter(string? Query, string? Type, string? Tag, string? Alias, IReadOnlyDictionary<string, string> Metadata)
{
    public static readonly RegistryFilter None = new(null, null, null, null, new Dictionary<string, string>());

    public bool MatchesMetadata(string? metadata)
    {
        if (Metadata.Count == 0)
        {
            return true;
        }
        if (metadata is null)
        {
            return false;
        }
        JsonObject? parsed;
        try
        {
            parsed = JsonNode.Parse(metadata) as JsonObject;
        }
        catch (JsonException)
        {
            return false;
        }
        return parsed is not null && Metadata.All(m => parsed.TryGetPropertyValue(m.Key, out var value) && value is not null && Text(value) == m.Value);
    }

    private static string Text(JsonNode value) => value is JsonValue v && v.TryGetValue<string>(out var s) ? s : value.ToJsonString();
}

/// <summary>A version linked into a registry collection, as the clients' <c>artifactMemberships</c> list it.</summary>
internal sealed record RegistryMembership(Artifacts.CollectionRow Collection, int Index, Artifacts.ArtifactRow Artifact, IReadOnlyList<string> Aliases);
