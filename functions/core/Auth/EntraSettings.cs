namespace Weightless.Core.Auth;

/// <summary>The <c>AzureAd</c> section as Microsoft.Identity.Web reads it, plus local defaults.</summary>
internal sealed class EntraSettings
{
    public const string Section = "AzureAd";

    public string Instance { get; set; } = "https://login.microsoftonline.com/";
    public string TenantId { get; set; } = "11111111-1111-1111-1111-111111111111";
    public string ClientId { get; set; } = "22222222-2222-2222-2222-222222222222";
    public string Audience { get; set; } = "api://weightless";

    public string Issuer(string tenantId) => $"{Instance.TrimEnd('/')}/{tenantId}/v2.0";
}
