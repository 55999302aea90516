using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Weightless.Core.Auth;
using Weightless.Core.Errors;

namespace Weightless.Core.Tenancy;

/// <summary>
/// Makes sure the instance administrator exists on every start, and that the configured admin
/// key (or, without one, a key generated once and kept in <see cref="AdminOptions.KeyFile"/>) works.
/// </summary>
internal sealed class AdminBootstrapper(TenancyService tenancy, IOptions<AdminOptions> options, ILogger<AdminBootstrapper> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var admin = options.Value;
        if (await tenancy.GetEntityAsync(admin.UserName, cancellationToken).ConfigureAwait(false) is null)
        {
            try
            {
                await tenancy.CreateUserAsync(admin.UserName, null, isInstanceAdmin: true, cancellationToken).ConfigureAwait(false);
                logger.LogInformation("Created the instance administrator '{User}'", admin.UserName);
            }
            catch (ConflictException)
            {
                // Another instance created it at the same moment.
            }
        }
        var key = admin.ApiKey;
        if (string.IsNullOrEmpty(key) && !string.IsNullOrEmpty(admin.KeyFile))
        {
            if (File.Exists(admin.KeyFile))
            {
                key = (await File.ReadAllTextAsync(admin.KeyFile, cancellationToken).ConfigureAwait(false)).Trim();
            }
            else
            {
                key = ApiKeys.Generate();
                Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(admin.KeyFile))!);
                await File.WriteAllTextAsync(admin.KeyFile, key + "\n", cancellationToken).ConfigureAwait(false);
            }
        }
        if (string.IsNullOrEmpty(key))
        {
            return;
        }
        if (!ApiKeys.IsWellFormed(key))
        {
            throw new InvalidOperationException("The admin API key must be at least 40 characters of A–Z, a–z, 0–9 and '_'.");
        }
        if (await tenancy.FindUserByApiKeyAsync(key, cancellationToken).ConfigureAwait(false) is null)
        {
            try
            {
                await tenancy.CreateApiKeyAsync(admin.UserName, "first-start admin key", key, cancellationToken).ConfigureAwait(false);
            }
            catch (ConflictException)
            {
                // Either another instance registered it, or it was revoked: a revoked key stays revoked.
            }
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
