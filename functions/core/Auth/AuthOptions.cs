namespace Weightless.Core.Auth;

/// <summary>Bound from the <c>Auth</c> section.</summary>
internal sealed class AuthOptions
{
    public const string Section = "Auth";

    /// <summary>
    /// <c>Entra</c>: bearer tokens are validated against Microsoft Entra ID metadata (production).
    /// <c>Local</c>: the same Microsoft.Identity.Web pipeline, but the signing key is a dev RSA key
    /// and tokens can be minted locally (<c>POST /api/v1/dev/tokens</c>, instance admins only).
    /// </summary>
    public string Mode { get; set; } = "Local";

    /// <summary>The delegated scope a token must carry to use the API.</summary>
    public string RequiredScope { get; set; } = "access_as_user";

    /// <summary>Where the local-mode RSA key is kept (PEM). Empty: a new key each start (tests).</summary>
    public string? DevKeyPath { get; set; }

    public bool IsLocal => string.Equals(Mode, "Local", StringComparison.OrdinalIgnoreCase);
}

/// <summary>Bound from the <c>Admin</c> section: the first-start instance administrator.</summary>
internal sealed class AdminOptions
{
    public const string Section = "Admin";

    public string UserName { get; set; } = "admin";

    /// <summary>The admin's API key (from <c>WEIGHTLESS_ADMIN_KEY</c> or Key Vault). Made valid at start.</summary>
    public string? ApiKey { get; set; }

    /// <summary>If no key is given: a file where a generated key is kept, created once.</summary>
    public string? KeyFile { get; set; }
}
