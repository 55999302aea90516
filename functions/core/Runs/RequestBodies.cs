using System.Buffers;
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
        using var body = await ReadPooledAsync(request, cancellationToken).ConfigureAwait(false);
        return body.Memory.ToArray();
    }

    /// <summary>
    /// The body in a buffer rented from the shared pool (dispose to return it): a 1,000-line file_stream
    /// post is ~0.5 MB, which read through a growing MemoryStream and copied out cost three large-object
    /// heap arrays per post. The buffer starts at the declared Content-Length (when not compressed) and
    /// doubles as needed.
    /// </summary>
    public static async Task<PooledBody> ReadPooledAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var encoding = request.Headers.ContentEncoding.ToString().Trim();
        Stream source = request.Body;
        var compressed = false;
        if (encoding.Equals("gzip", StringComparison.OrdinalIgnoreCase))
        {
            source = new GZipStream(request.Body, CompressionMode.Decompress, leaveOpen: true);
            compressed = true;
        }
        else if (encoding.Length > 0 && !encoding.Equals("identity", StringComparison.OrdinalIgnoreCase))
        {
            throw new ValidationFailedException($"Content-Encoding '{encoding}' is not supported; send gzip or nothing.", "Content-Encoding");
        }
        var declared = request.ContentLength is { } length and > 0 and <= MaxBytes ? (int)length : 0;
        // A gzip body inflates (history lines ~8x); the declared length is only where to start.
        var body = new PooledBody(ArrayPool<byte>.Shared.Rent((int)Math.Clamp(compressed ? declared * 4L : declared + 1L, 4096L, MaxBytes)));
        try
        {
            while (true)
            {
                if (body.Length >= Math.Min(body.Capacity, MaxBytes))
                {
                    if (body.Length >= MaxBytes)
                    {
                        // One more byte would exceed the cap: find out whether there is one.
                        var probe = new byte[1];
                        if (await source.ReadAsync(probe, cancellationToken).ConfigureAwait(false) > 0)
                        {
                            throw new TooLargeException($"The request body is over {MaxBytes / (1024 * 1024)} MiB.", "body");
                        }
                        break;
                    }
                    body.Grow(MaxBytes);
                }
                var read = await source.ReadAsync(body.Free(MaxBytes), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }
                body.Length += read;
            }
            return body;
        }
        catch (InvalidDataException)
        {
            body.Dispose();
            throw new ValidationFailedException("The request body is not valid gzip.", "body");
        }
        catch
        {
            body.Dispose();
            throw;
        }
        finally
        {
            if (!ReferenceEquals(source, request.Body))
            {
                await source.DisposeAsync().ConfigureAwait(false);
            }
        }
    }
}

/// <summary>A request body in a rented buffer; <see cref="Dispose"/> returns the buffer to the shared pool.</summary>
internal sealed class PooledBody(byte[] buffer) : IDisposable
{
    private byte[]? _buffer = buffer;

    public int Length { get; set; }

    public int Capacity => Buffer.Length;

    public ReadOnlyMemory<byte> Memory => Buffer.AsMemory(0, Length);

    /// <summary>The unused part of the buffer, up to <paramref name="limit"/> bytes of body in all.</summary>
    internal Memory<byte> Free(int limit) => Buffer.AsMemory(Length, Math.Min(Capacity, limit) - Length);

    private byte[] Buffer => _buffer ?? throw new ObjectDisposedException(nameof(PooledBody));

    /// <summary>Doubles the buffer (at most to <paramref name="limit"/>), keeping what was read.</summary>
    internal void Grow(int limit)
    {
        var larger = ArrayPool<byte>.Shared.Rent((int)Math.Min(limit, Math.Max(4096L, Capacity * 2L)));
        Buffer.AsSpan(0, Length).CopyTo(larger);
        ArrayPool<byte>.Shared.Return(Buffer);
        _buffer = larger;
    }

    public void Dispose()
    {
        if (_buffer is { } rented)
        {
            _buffer = null;
            ArrayPool<byte>.Shared.Return(rented);
        }
    }
}
