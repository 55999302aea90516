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
internal sealed class Authenticator(TenancyService tenancy, IOptions<AuthOptions> options)
{
    private const string ScopeClaim = "scp";
    private const string MappedScopeClaim = "http://schemas.microsoft.com/identity/claims/scope";

    public async Task<Principal> AuthenticateAsync(HttpContext context, CancellationToken cancellationToken = default)
    {
        var header = context.Request.Headers.Authorization.ToString();
        if (string.IsNullOrWhiteSpace(header) || !AuthenticationHeaderValue.TryParse(header, out var value) || string.IsNullOrEmpty(value.Parameter))
        {
            throw new UnauthenticatedException("Send an API key as HTTP Basic 'api:<key>' or 'Authorization: Bearer <key or Entra token>'.");
        }
        if (value.Scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase))
        {
            string decoded;
            try
            {
                decoded = Encoding.UTF8.GetString(Convert.FromBase64String(value.Parameter));
            }
            catch (FormatException)
            {
                throw new UnauthenticatedException("The Basic credentials are not valid base64.");
            }
            var colon = decoded.IndexOf(':', StringComparison.Ordinal);
            return await FromApiKeyAsync(colon >= 0 ? decoded[(colon + 1)..] : decoded, cancellationToken).ConfigureAwait(false);
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
