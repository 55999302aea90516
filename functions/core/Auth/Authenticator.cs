using System.Net.Http.Headers;
using System.Security.Claims;
using System.Text;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Weightless.Core.Errors;
using Weightless.Core.Tenancy;

namespace Weightless.Core.Auth;

/// <summary>
/// Turns a request's credentials into a <see cref="Principal"/>: an API key as HTTP Basic
/// (<c>api:&lt;key&gt;</c>, what the W&amp;B clients send) or as a bearer token, or an Entra ID
/// access token (a JWT) validated by Microsoft.Identity.Web.
/// </summary>
internal sealed class Authenticator(TenancyService tenancy, IOptions<AuthOptions> options, TimeProvider clock)
{
    private const string ScopeClaim = "scp";
    private const string MappedScopeClaim = "http://schemas.microsoft.com/identity/claims/scope";

    /// <summary>
    /// How long <see cref="AuthenticateStreamingAsync"/> trusts an API key it verified: a revoked key
    /// (or a deleted user) stops streaming within this bound on every instance.
    /// </summary>
    public static readonly TimeSpan StreamingKeyLifetime = TimeSpan.FromSeconds(10);

    // Verified API keys of the streaming path by SHA-256 (the secret itself is not kept).
    private readonly ExpiringCache<string, Principal> _streamingKeys = new(clock, StreamingKeyLifetime);

    /// <summary>
    /// <see cref="AuthenticateAsync"/> for the file_stream hot path: an API key verified less than
    /// <see cref="StreamingKeyLifetime"/> ago is trusted without reading its credential and user
    /// again (two storage reads per post). Entra tokens and failures are never cached.
    /// </summary>
    public async Task<Principal> AuthenticateStreamingAsync(HttpContext context, CancellationToken cancellationToken = default)
    {
        var key = ApiKeyOf(context.Request.Headers.Authorization.ToString());
        if (key is null || !ApiKeys.IsWellFormed(key))
        {
            return await AuthenticateAsync(context, cancellationToken).ConfigureAwait(false);
        }
        var hash = ApiKeys.Hash(key);
        if (_streamingKeys.TryGet(hash, out var cached))
        {
            return cached;
        }
        var principal = await FromApiKeyAsync(key, cancellationToken).ConfigureAwait(false);
        _streamingKeys.Set(hash, principal);
        return principal;
    }

    /// <summary>The API key an Authorization header carries (Basic <c>api:key</c> or a non-JWT bearer), else null.</summary>
    private static string? ApiKeyOf(string header)
    {
        if (string.IsNullOrWhiteSpace(header) || !AuthenticationHeaderValue.TryParse(header, out var value) || string.IsNullOrEmpty(value.Parameter))
        {
            return null;
        }
        if (value.Scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase))
        {
            return value.Parameter.Count(c => c == '.') == 2 ? null : value.Parameter;
        }
        if (!value.Scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }
        try
        {
            var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(value.Parameter));
            var colon = decoded.IndexOf(':', StringComparison.Ordinal);
            return colon >= 0 ? decoded[(colon + 1)..] : decoded;
        }
        catch (FormatException)
        {
            return null;
        }
    }

    public async Task<Principal> AuthenticateAsync(HttpContext context, CancellationToken cancellationToken = default)
    {
        var header = context.Request.Headers.Authorization.ToString();
        if (string.IsNullOrWhiteSpace(header) || !AuthenticationHeaderValue.TryParse(header, out var value) || string.IsNullOrEmpty(value.Parameter))
        {
            throw new UnauthenticatedException("Send an API key as HTTP Basic 'api:<key>' or 'Authorization: Bearer <key or Entra token>'.");
        }
        if (value.Scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase))
        {
            return await FromApiKeyAsync(ApiKeyOf(header) ?? throw new UnauthenticatedException("The Basic credentials are not valid base64."), cancellationToken).ConfigureAwait(false);
        }
        if (value.Scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase))
        {
            return value.Parameter.Count(c => c == '.') == 2
                ? await FromEntraTokenAsync(context, cancellationToken).ConfigureAwait(false)
                : await FromApiKeyAsync(value.Parameter, cancellationToken).ConfigureAwait(false);
        }
        throw new UnauthenticatedException($"Authorization scheme '{value.Scheme}' is not supported; use Basic or Bearer.");
    }

    private async Task<Principal> FromApiKeyAsync(string key, CancellationToken cancellationToken)
    {
        if (!ApiKeys.IsWellFormed(key))
        {
            throw new UnauthenticatedException("That is not a valid API key.");
        }
        var found = await tenancy.FindUserByApiKeyAsync(key, cancellationToken).ConfigureAwait(false)
            ?? throw new UnauthenticatedException("The API key is unknown or has been revoked.");
        return new Principal(Storage.TableKeys.Unescape(found.User.PartitionKey), found.User.IsInstanceAdmin, AuthMethod.ApiKey, found.KeyId);
    }

    private async Task<Principal> FromEntraTokenAsync(HttpContext context, CancellationToken cancellationToken)
    {
        var result = await context.AuthenticateAsync(JwtBearerDefaults.AuthenticationScheme).ConfigureAwait(false);
        if (!result.Succeeded || result.Principal is null)
        {
            var reason = result.Failure?.Message.Split('.')[0] ?? "no valid token";
            throw new UnauthenticatedException($"The bearer token was rejected: {reason}.");
        }
        var claims = result.Principal;
        var scopes = (claims.FindFirst(ScopeClaim) ?? claims.FindFirst(MappedScopeClaim))?.Value.Split(' ', StringSplitOptions.RemoveEmptyEntries) ?? [];
        if (!scopes.Contains(options.Value.RequiredScope, StringComparer.Ordinal))
        {
            throw new ForbiddenException($"The token lacks the '{options.Value.RequiredScope}' scope.");
        }
        var tenantId = Claim(claims, "tid", "http://schemas.microsoft.com/identity/claims/tenantid")
            ?? throw new UnauthenticatedException("The token has no tenant id (tid).");
        var objectId = Claim(claims, "oid", "http://schemas.microsoft.com/identity/claims/objectidentifier")
            ?? throw new UnauthenticatedException("The token has no object id (oid).");
        var user = await tenancy.FindOrProvisionEntraUserAsync(
            tenantId, objectId, Claim(claims, "preferred_username", "name"), Claim(claims, "email", ClaimTypes.Email), cancellationToken).ConfigureAwait(false);
        return new Principal(Storage.TableKeys.Unescape(user.PartitionKey), user.IsInstanceAdmin, AuthMethod.EntraToken);
    }

    private static string? Claim(ClaimsPrincipal claims, string type, string alternative) =>
        (claims.FindFirst(type) ?? claims.FindFirst(alternative))?.Value;
}

/// <summary>
/// A small in-process cache whose entries expire a fixed time after they were set. Bounded: when
/// full it drops everything (the entries are cheap to recompute), so memory never grows with callers.
/// </summary>
internal sealed class ExpiringCache<TKey, TValue>(TimeProvider clock, TimeSpan lifetime, int capacity = 10_000)
    where TKey : notnull
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<TKey, (TValue Value, long SetAt)> _entries = new();

    public bool TryGet(TKey key, out TValue value) => Live(_entries.TryGetValue(key, out var entry), entry, out value);

    public void Set(TKey key, TValue value)
    {
        if (_entries.Count >= capacity)
        {
            _entries.Clear();
        }
        _entries[key] = (value, clock.GetTimestamp());
    }

    /// <summary>Takes a live entry out, so that no other caller gets the same value until it is set again.</summary>
    public bool TryTake(TKey key, out TValue value) => Live(_entries.TryRemove(key, out var entry), entry, out value);

    private bool Live(bool found, (TValue Value, long SetAt) entry, out TValue value)
    {
        var live = found && clock.GetElapsedTime(entry.SetAt) < lifetime;
        value = live ? entry.Value : default!;
        return live;
    }

    public void Remove(TKey key) => _entries.TryRemove(key, out _);
}
