using Microsoft.Extensions.Options;
using Weightless.Core.Errors;
using Weightless.Core.Storage;
using Weightless.Tests.Infrastructure;

namespace Weightless.Integration.Tests.Storage;

/// <summary>Ranged blob reads through the storage choke point against Azurite.</summary>
public sealed class BlobStoreTests
{
    private readonly StorageAccount _account = new(
        Options.Create(new StorageOptions { ConnectionString = AzuriteFixture.ConnectionString, TablePrefix = AzuriteFixture.NewPrefix() }),
        new StorageMetrics());

    [Fact]
    public async Task A_ranged_read_returns_exactly_the_range_or_what_the_blob_holds_of_it()
    {
        var container = await _account.ContainerAsync("ranges");
        var content = Enumerable.Range(0, 3 * 1024 * 1024 + 17).Select(i => (byte)(i * 31 % 251)).ToArray();
        var etag = await container.UploadAsync("blob", BinaryData.FromBytes(content));

        var middle = (await container.DownloadRangeAsync("blob", 1_000_003, 2 * 1024 * 1024, etag))!.Value;
        Assert.Equal(content.AsSpan(1_000_003, 2 * 1024 * 1024).ToArray(), middle.Content.ToArray());
        Assert.Equal(etag, middle.ETag);

        // A range running past the end holds the blob's last bytes only (a cold open asks for 1 MiB of a smaller snapshot).
        var tail = (await container.DownloadRangeAsync("blob", content.Length - 100, 1 << 20))!.Value;
        Assert.Equal(content.AsSpan(content.Length - 100).ToArray(), tail.Content.ToArray());

        Assert.Null(await container.DownloadRangeAsync("missing", 0, 10));
        Assert.Equal(1, _account.Metrics.Snapshot()["blob.download_range.404"]);
    }

    [Fact]
    public async Task A_ranged_read_of_a_replaced_blob_is_a_conflict()
    {
        var container = await _account.ContainerAsync("replaced");
        var first = await container.UploadAsync("blob", BinaryData.FromBytes(new byte[4096]));
        await container.UploadAsync("blob", BinaryData.FromBytes(new byte[8192]));
        await Assert.ThrowsAsync<ConflictException>(() => container.DownloadRangeAsync("blob", 0, 1024, first));
    }
}
