namespace Weightless.Core.Tenancy;

/// <summary>What a member may do in an entity. Ordered: a higher role includes the lower ones.</summary>
internal enum Role
{
    Viewer = 1,
    Member = 2,
    Admin = 3,
}

internal static class RoleNames
{
    public static string ToWire(this Role role) => role switch
    {
        Role.Viewer => "viewer",
        Role.Member => "member",
        Role.Admin => "admin",
        _ => throw new ArgumentOutOfRangeException(nameof(role)),
    };

    public static Role Parse(string? value, string field) => value?.Trim().ToLowerInvariant() switch
    {
        "viewer" => Role.Viewer,
        "member" => Role.Member,
        "admin" => Role.Admin,
        _ => throw new Errors.ValidationFailedException("Role must be one of admin, member, viewer.", field),
    };
}
