using Weightless.Core.Errors;

namespace Weightless.Core.Registry;

/// <summary>How registries are named and found: project <c>wandb-registry-&lt;name&gt;</c> of the organization entity.</summary>
internal static partial class RegistryNames
{
    public const string ProjectPrefix = "wandb-registry-";

    /// <summary>The legacy model registry's project in a team entity; governed by that organization's <c>model</c> registry.</summary>
    public const string LegacyModelProject = "model-registry";

    public const string Model = "model";
    public const string Dataset = "dataset";

    public static readonly IReadOnlyList<string> CoreRegistries = [Model, Dataset];

    public static bool IsCore(string name) => name is Model or Dataset;

    public static bool IsRegistryProject(string project) => project.StartsWith(ProjectPrefix, StringComparison.Ordinal) && project.Length > ProjectPrefix.Length;

    /// <summary>Projects whose collections the registry's roles and protected aliases govern.</summary>
    public static bool IsGoverned(string project) => IsRegistryProject(project) || project == LegacyModelProject;

    public static string Project(string registry) => ProjectPrefix + registry;

    /// <summary>The registry a governed project belongs to.</summary>
    public static string RegistryOf(string project) => project == LegacyModelProject ? Model : project[ProjectPrefix.Length..];

    /// <summary>A registry name, with or without the <c>wandb-registry-</c> prefix.</summary>
    public static string Validate(string? name, string field = "name")
    {
        var trimmed = name?.Trim() ?? "";
        if (trimmed.StartsWith(ProjectPrefix, StringComparison.Ordinal))
        {
            trimmed = trimmed[ProjectPrefix.Length..];
        }
        if (!NamePattern().IsMatch(trimmed))
        {
            throw new ValidationFailedException("A registry name is 1–100 letters, digits, '-', '_' or '.'.", field);
        }
        return trimmed;
    }

    [System.Text.RegularExpressions.GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")]
    private static partial System.Text.RegularExpressions.Regex NamePattern();
}
