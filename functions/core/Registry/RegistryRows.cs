using Weightless.Core.Storage;

namespace Weightless.Core.Registry;

internal static class RegistryVisibility
{
    /// <summary>Every member of the organization sees it (W&amp;B's <c>PRIVATE</c> on the wire).</summary>
    public const string Organization = "organization";

    /// <summary>Only invited members (and organization admins) see it.</summary>
    public const string Restricted = "restricted";

    public static string Parse(string? value, string field) => value?.Trim().ToLowerInvariant() switch
    {
        "organization" or "private" => Organization,
        "restricted" => Restricted,
        _ => throw new Errors.ValidationFailedException("'visibility' is 'organization' or 'restricted'.", field),
    };
}

internal static class RegistryMemberKinds
{
    public const string User = "user";
    public const string Team = "team";
}

/// <summary>
/// A registry of an organization (table <c>registries</c>, partition = the organization entity,
/// row <c>r:&lt;name&gt;</c>). Its collections live in project <c>wandb-registry-&lt;name&gt;</c> of
/// that entity, as W&amp;B keeps them. The core registries <c>model</c> and <c>dataset</c> exist
/// without a row until one is edited.
/// </summary>
internal sealed class RegistryRow : TableRow
{
    public string Organization { get; set; } = "";
    public string Name { get; set; } = "";
    public string? Description { get; set; }
    public string Visibility { get; set; } = RegistryVisibility.Organization;
    public bool AllowAllTypes { get; set; }

    /// <summary>JSON array of accepted artifact types (when not <see cref="AllowAllTypes"/>).</summary>
    public string? ArtifactTypes { get; set; }

    /// <summary>JSON array of aliases only registry admins may set, move or remove.</summary>
    public string? ProtectedAliases { get; set; }
    public bool Core { get; set; }
    public string? CreatedBy { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
}

/// <summary>A user's or a team's role in a registry (row <c>m:&lt;registry&gt;:&lt;kind&gt;:&lt;name&gt;</c>).</summary>
internal sealed class RegistryMemberRow : TableRow
{
    public string Registry { get; set; } = "";
    public string Kind { get; set; } = RegistryMemberKinds.User;
    public string Member { get; set; } = "";
    public string Role { get; set; } = "viewer";
    public DateTimeOffset CreatedAt { get; set; }
}

internal static class RegistryKeys
{
    public static string RegistryRow(string name) => "r" + TableKeys.Separator + TableKeys.Escape(name);

    public static readonly string RegistryPrefix = "r" + TableKeys.Separator;

    public static string MemberPrefix(string registry) => TableKeys.Compose("m", registry) + TableKeys.Separator;

    public static string MemberRow(string registry, string kind, string member) => TableKeys.Compose("m", registry, kind, member);
}
