using System.Diagnostics;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Sas;
using Weightless.Core.Errors;

namespace Weightless.Core.Storage;

/// <summary>
/// One blob container. Clients move bytes directly to and from Blob with short-lived SAS URLs
/// scoped to one blob; functions only mint those URLs and read small JSON documents.
/// </summary>
internal sealed class BlobStore(BlobContainerClient container, BlobServiceClient service, StorageMetrics metrics)
{
    public BlobContainerClient Container => container;

    internal Task CreateIfNotExistsAsync() => Measure("create", () => container.CreateIfNotExistsAsync());

    public async Task<ETag> UploadAsync(string name, BinaryData content, string? contentType = null, ETag? ifMatch = null, CancellationToken cancellationToken = default)
    {
        var options = new BlobUploadOptions
        {
            HttpHeaders = contentType is null ? null : new BlobHttpHeaders { ContentType = contentType },
            Conditions = ifMatch is { } etag ? new BlobRequestConditions { IfMatch = etag } : null,
        };
        var response = await Measure("upload", () => container.GetBlobClient(name).UploadAsync(content, options, cancellationToken)).ConfigureAwait(false);
        return response.Value.ETag;
    }

    public Task<(BinaryData Content, ETag ETag)?> DownloadAsync(string name, CancellationToken cancellationToken = default) =>
        DownloadToBufferAsync("download", name, new BlobDownloadOptions(), cancellationToken);

    /// <summary>Bytes [<paramref name="offset"/>, +<paramref name="length"/>) of a blob, If-Match <paramref name="ifMatch"/> when given (412 → <see cref="ConflictException"/>); null when the blob does not exist.</summary>
    public Task<(BinaryData Content, ETag ETag)?> DownloadRangeAsync(string name, long offset, int length, ETag? ifMatch = null, CancellationToken cancellationToken = default) =>
        DownloadToBufferAsync("download_range", name, new BlobDownloadOptions
        {
            Range = new HttpRange(offset, length),
            Conditions = ifMatch is { } etag ? new BlobRequestConditions { IfMatch = etag } : null,
        }, cancellationToken);

    /// <summary>
    /// A blob (or the range <paramref name="options"/> name) streamed into one buffer of the body's size: the
    /// buffered download copies the body through a growing stream first (a 100,000-run snapshot's filter and
    /// sort columns read ~30 % faster so). Null when the blob does not exist.
    /// </summary>
    private async Task<(BinaryData Content, ETag ETag)?> DownloadToBufferAsync(string operation, string name, BlobDownloadOptions options, CancellationToken cancellationToken)
    {
        try
        {
            return await Measure(operation, async () =>
            {
                var response = await container.GetBlobClient(name).DownloadStreamingAsync(options, cancellationToken).ConfigureAwait(false);
                var bytes = new byte[response.Value.Details.ContentLength];
                await using (var body = response.Value.Content)
                {
                    await body.ReadExactlyAsync(bytes, cancellationToken).ConfigureAwait(false);
                }
                return (BinaryData.FromBytes(bytes), response.Value.Details.ETag);
            }).ConfigureAwait(false);
        }
        catch (NotFoundException)
        {
            return null;
        }
    }

    public async Task<BlobProperties?> GetPropertiesAsync(string name, CancellationToken cancellationToken = default)
    {
        try
        {
            var response = await Measure("properties", () => container.GetBlobClient(name).GetPropertiesAsync(cancellationToken: cancellationToken)).ConfigureAwait(false);
            return response.Value;
        }
        catch (NotFoundException)
        {
            return null;
        }
    }

    public async Task<bool> DeleteAsync(string name, CancellationToken cancellationToken = default)
    {
        var response = await Measure("delete", () => container.GetBlobClient(name).DeleteIfExistsAsync(cancellationToken: cancellationToken)).ConfigureAwait(false);
        return response.Value;
    }

    public async IAsyncEnumerable<BlobItem> ListAsync(string prefix, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var stopwatch = Stopwatch.StartNew();
        await foreach (var item in container.GetBlobsAsync(new GetBlobsOptions { Prefix = prefix }, cancellationToken).ConfigureAwait(false))
        {
            yield return item;
        }
        metrics.Record("blob", "list", "ok", stopwatch.Elapsed.TotalMilliseconds);
    }

    /// <summary>A SAS URL that lets its holder do <paramref name="permissions"/> on one blob until it expires.</summary>
    public async Task<Uri> GetSasUriAsync(string name, BlobSasPermissions permissions, TimeSpan lifetime, CancellationToken cancellationToken = default)
    {
        var blob = container.GetBlobClient(name);
        var expiresOn = DateTimeOffset.UtcNow.Add(lifetime);
        var builder = new BlobSasBuilder(permissions, expiresOn)
        {
            BlobContainerName = container.Name,
            BlobName = name,
            Resource = "b",
            StartsOn = DateTimeOffset.UtcNow.AddMinutes(-5),
        };
        if (blob.CanGenerateSasUri)
        {
            metrics.Record("blob", "sas", "ok", 0);
            return blob.GenerateSasUri(builder);
        }
        // Managed identity: sign with a user delegation key instead of an account key.
        var key = await Measure("delegation_key", () => service.GetUserDelegationKeyAsync(DateTimeOffset.UtcNow.AddMinutes(-5), expiresOn, cancellationToken)).ConfigureAwait(false);
        var uri = new BlobUriBuilder(blob.Uri) { Sas = builder.ToSasQueryParameters(key.Value, service.AccountName) };
        return uri.ToUri();
    }

    private async Task<T> Measure<T>(string operation, Func<Task<T>> call)
    {
        var stopwatch = Stopwatch.StartNew();
        try
        {
            var result = await call().ConfigureAwait(false);
            metrics.Record("blob", operation, "ok", stopwatch.Elapsed.TotalMilliseconds);
            return result;
        }
        catch (RequestFailedException ex)
        {
            metrics.Record("blob", operation, ex.Status.ToString(System.Globalization.CultureInfo.InvariantCulture), stopwatch.Elapsed.TotalMilliseconds);
            throw ex.Status switch
            {
                404 => new NotFoundException("Not found."),
                409 or 412 => new ConflictException("The blob was changed by someone else; read it again and retry.", ex),
                _ => ex,
            };
        }
    }
}
