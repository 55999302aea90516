using System.Text.Json.Nodes;

namespace Weightless.Core.Registry;

/// <summary>
/// What <see cref="RegistryDocumentFilter"/> filters see of a registry, a collection and a version:
/// the field names the W&amp;B clients' filters use (<c>name</c> is the registry's project name
/// <c>wandb-registry-&lt;name&gt;</c>; <c>tag</c>/<c>alias</c> are lists, matched element-wise).
/// </summary>
internal static class RegistryDocuments
{
    public static JsonObject Registry(RegistryView view) => new()
    {
        ["name"] = view.FullName,
        ["description"] = view.Description,
        ["visibility"] = view.Visibility,
        ["access"] = Access(view.Visibility),
        ["artifactTypes"] = Strings(view.ArtifactTypes),
        ["createdAt"] = RegistryDocumentFilter.Timestamp(view.CreatedAt),
        ["updatedAt"] = RegistryDocumentFilter.Timestamp(view.UpdatedAt),
    };

    public static JsonObject Collection(RegistryCollectionView view) => new()
    {
        ["name"] = view.Name,
        ["description"] = view.Description,
        ["type"] = view.Type,
        ["tag"] = Strings(view.Tags),
        ["tags"] = Strings(view.Tags),
        ["createdAt"] = RegistryDocumentFilter.Timestamp(view.CreatedAt),
        ["updatedAt"] = RegistryDocumentFilter.Timestamp(view.UpdatedAt),
    };

    public static JsonObject Version(RegistryVersionView view) => new()
    {
        ["name"] = view.Collection,
        ["version"] = view.Version,
        ["description"] = view.Description,
        ["type"] = view.Type,
        ["tag"] = Strings(view.Tags),
        ["tags"] = Strings(view.Tags),
        ["alias"] = Strings(view.Aliases),
        ["aliases"] = Strings(view.Aliases),
        ["metadata"] = view.Metadata?.DeepClone(),
        ["createdAt"] = RegistryDocumentFilter.Timestamp(view.CreatedAt),
    };

    /// <summary>The W&amp;B wire value of a visibility (<c>PRIVATE</c> is organization-wide).</summary>
    public static string Access(string visibility) => visibility == RegistryVisibility.Restricted ? "RESTRICTED" : "PRIVATE";

    private static JsonArray Strings(IEnumerable<string> values) => new(values.Select(v => (JsonNode?)JsonValue.Create(v)).ToArray());
}
