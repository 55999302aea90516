using Azure;
using Azure.Data.Tables;
using Weightless.Core.Storage;

namespace Weightless.Core.Tenancy;

/// <summary>
/// Rows of the <c>entities</c> table. The partition key is always the entity (tenant) name; the
/// row key says what the row is: <c>profile</c>, <c>member:{user}</c> (a team's member),
/// <c>team:{team}</c> (a user's team, the reverse index) or <c>key:{id}</c> (a user's API key).
/// </summary>
internal sealed class EntityRow : TableRow
{
    public const string ProfileRowKey = "profile";

    public EntityRow() => RowKey = ProfileRowKey;

    /// <summary><c>user</c> or <c>team</c>.</summary>
    public string Kind { get; set; } = "user";
    public string? Email { get; set; }
    public string? DisplayName { get; set; }
    public bool IsInstanceAdmin { get; set; }
    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>The entity's stable number (GraphQL ids <c>User:&lt;n&gt;</c> / <c>Entity:&lt;n&gt;</c>), see <see cref="EntityNumbers"/>.</summary>
    public long? Number { get; set; }
}

/// <summary>A membership, stored twice: under the team (<c>member:{user}</c>) and under the user (<c>team:{team}</c>).</summary>
internal sealed class MembershipRow : TableRow
{
    public string Role { get; set; } = "member";
    public DateTimeOffset CreatedAt { get; set; }
}

/// <summary>An API key as its owner lists it (<c>key:{id}</c> under the user); the secret itself is never stored.</summary>
internal sealed class ApiKeyRow : TableRow
{
    public string Hash { get; set; } = "";
    public string? Description { get; set; }
    public string Preview { get; set; } = "";
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset? RevokedAt { get; set; }
}

/// <summary>
/// The authentication index (<c>credentials</c> table): partition = SHA-256 of an API key, or
/// <c>entra~{tid}~{oid}</c> for a signed-in Entra identity. Looked up before the tenant is known,
/// so it is the one table whose partition key is not a tenant; it holds no tenant data.
/// </summary>
internal sealed class CredentialRow : TableRow
{
    public const string RowKeyValue = "credential";

    public CredentialRow() => RowKey = RowKeyValue;

    public string User { get; set; } = "";
    public string? KeyId { get; set; }
    public DateTimeOffset? RevokedAt { get; set; }
}
