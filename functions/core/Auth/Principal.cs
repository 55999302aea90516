namespace Weightless.Core.Auth;

/// <summary>How the caller proved who they are.</summary>
internal enum AuthMethod
{
    ApiKey,
    EntraToken,
}

/// <summary>An authenticated caller: always a user of this stamp.</summary>
internal sealed record Principal(string UserName, bool IsInstanceAdmin, AuthMethod Method, string? KeyId = null);
