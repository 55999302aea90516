using System.IO.Compression;
using Microsoft.AspNetCore.Http;
using Weightless.Core.Errors;

namespace Weightless.Core.Runs;

/// <summary>Request bodies of the W&amp;B endpoints: optionally gzip-compressed (<c>Content-Encoding: gzip</c>), size-capped.</summary>
internal static class RequestBodies
{
    /// <summary>Go core caps file_stream requests near 10 MiB; leave room for that and for big GraphQL variables.</summary>
    public const int MaxBytes = 32 * 1024 * 1024;

    public static async Task<byte[]> ReadAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var encoding = request.Headers.ContentEncoding.ToString().Trim();
        Stream source = request.Body;
        if (encoding.Equals("gzip", StringComparison.OrdinalIgnoreCase))
        {
            source = new GZipStream(request.Body, CompressionMode.Decompress, leaveOpen: true);
        }
        else if (encoding.Length > 0 && !encoding.Equals("identity", StringComparison.OrdinalIgnoreCase))
        {
            throw new ValidationFailedException($"Content-Encoding '{encoding}' is not supported; send gzip or nothing.", "Content-Encoding");
        }
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        try
        {
            int read;
            while ((read = await source.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
            {
                if (buffer.Length + read > MaxBytes)
                {
                    throw new TooLargeException($"The request body is over {MaxBytes / (1024 * 1024)} MiB.", "body");
                }
                buffer.Write(chunk, 0, read);
            }
        }
        catch (InvalidDataException)
        {
            throw new ValidationFailedException("The request body is not valid gzip.", "body");
        }
        finally
        {
            if (!ReferenceEquals(source, request.Body))
            {
                await source.DisposeAsync().ConfigureAwait(false);
            }
        }
        return buffer.ToArray();
    }
}
