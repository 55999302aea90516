namespace Weightless.Core.Storage;

/// <summary>Where and how Weightless stores its data. Bound from the <c>Storage</c> configuration section.</summary>
internal sealed class StorageOptions
{
    public const string Section = "Storage";

    /// <summary>
    /// Connection string (Azurite locally: <c>UseDevelopmentStorage=true</c> or explicit endpoints).
    /// Ignored when <see cref="AccountName"/> is set, which selects managed identity (production).
    /// </summary>
    public string ConnectionString { get; set; } = "UseDevelopmentStorage=true";

    /// <summary>Storage account name for identity-based access in Azure (no secrets).</summary>
    public string? AccountName { get; set; }

    /// <summary>
    /// Prefix for every table, container and queue name (lowercase letters and digits), so
    /// parallel test runs and side-by-side stamps on one account never collide.
    /// </summary>
    public string TablePrefix { get; set; } = "";

    /// <summary>How often a transient fault (timeouts, 408/429/5xx) is retried by the SDK pipeline.</summary>
    public int MaxRetries { get; set; } = 5;
}
