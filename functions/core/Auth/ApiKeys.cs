using System.Security.Cryptography;
using System.Text;

namespace Weightless.Core.Auth;

/// <summary>
/// API key format and hashing. Keys are what the W&B clients accept: at least 40 characters of
/// <c>[A-Za-z0-9_]</c>. Only the SHA-256 of a key is ever stored.
/// </summary>
internal static class ApiKeys
{
    public const int MinLength = 40;
    private const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    /// <summary>A new key: <c>wl_</c> and 45 random characters (about 268 bits).</summary>
    public static string Generate() => "wl_" + RandomNumberGenerator.GetString(Alphabet, 45);

    /// <summary>True if <paramref name="key"/> has the shape clients accept (optionally with an on-prem style <c>prefix-</c>).</summary>
    public static bool IsWellFormed(string? key)
    {
        if (string.IsNullOrEmpty(key))
        {
            return false;
        }
        var dash = key.LastIndexOf('-');
        var secret = dash >= 0 ? key[(dash + 1)..] : key;
        return secret.Length >= MinLength && secret.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');
    }

    public static string Hash(string key) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    /// <summary>What a listing shows of a key: its first and last four characters.</summary>
    public static string Preview(string key) => key[..4] + "…" + key[^4..];
}
