using System.Security.Claims;
using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Weightless.Core.Auth;

/// <summary>
/// Local mode's stand-in for Entra's signing keys: one RSA key (kept on disk when a path is
/// configured) that signs Entra-shaped v2.0 tokens (iss, aud, tid, oid, scp, name). Only the
/// key source differs from production; validation still runs through Microsoft.Identity.Web.
/// </summary>
internal sealed class DevTokenIssuer
{
    private readonly EntraSettings _entra;

    public DevTokenIssuer(IOptions<AuthOptions> auth, IOptions<EntraSettings> entra)
    {
        _entra = entra.Value;
        var rsa = RSA.Create(2048);
        var path = auth.Value.DevKeyPath;
        if (!string.IsNullOrEmpty(path))
        {
            if (File.Exists(path))
            {
                rsa.ImportFromPem(File.ReadAllText(path));
            }
            else
            {
                Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
                File.WriteAllText(path, rsa.ExportRSAPrivateKeyPem());
            }
        }
        SigningKey = new RsaSecurityKey(rsa) { KeyId = "weightless-dev" };
    }

    public RsaSecurityKey SigningKey { get; }

    public string Issuer => _entra.Issuer(_entra.TenantId);

    /// <summary>Mints a token. Tests pass other keys, tenants or lifetimes to cover the failure cases.</summary>
    public string Mint(string objectId, string name, IEnumerable<string> scopes, TimeSpan lifetime, string? tenantId = null, SecurityKey? signWith = null, DateTime? notBefore = null)
    {
        var tid = tenantId ?? _entra.TenantId;
        var now = notBefore ?? DateTime.UtcNow;
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = _entra.Issuer(tid),
            Audience = _entra.Audience,
            NotBefore = now,
            IssuedAt = now,
            Expires = now.Add(lifetime),
            Subject = new ClaimsIdentity(
            [
                new Claim("oid", objectId),
                new Claim("tid", tid),
                new Claim("sub", objectId),
                new Claim("name", name),
                new Claim("preferred_username", name),
                new Claim("ver", "2.0"),
                new Claim("azp", _entra.ClientId),
                new Claim("scp", string.Join(' ', scopes)),
            ]),
            SigningCredentials = new SigningCredentials(signWith ?? SigningKey, SecurityAlgorithms.RsaSha256),
        };
        return new JsonWebTokenHandler().CreateToken(descriptor);
    }
}
