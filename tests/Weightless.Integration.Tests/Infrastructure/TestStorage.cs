using Microsoft.Extensions.Options;
using Weightless.Core.Storage;

namespace Weightless.Tests.Infrastructure;

/// <summary>Storage accounts on the shared Azurite, each under its own name prefix.</summary>
internal static class TestStorage
{
    public static StorageAccount NewAccount(StorageMetrics? metrics = null) =>
        new(Options.Create(new StorageOptions { ConnectionString = AzuriteFixture.ConnectionString, TablePrefix = AzuriteFixture.NewPrefix() }), metrics ?? new StorageMetrics());
}
