using System.Buffers;
using System.IO.Compression;
using System.Text;
using Azure.Data.Tables;
using Weightless.Core.Storage;

namespace Weightless.Core.History;

/// <summary>
/// How line blocks are stored: each line as a varint byte length plus its UTF-8 text (so any text,
/// newlines included, round-trips verbatim), the whole block Brotli-compressed and cut into binary
/// properties <c>Data0..DataN</c> of at most 64 KiB (Azure's binary property limit).
/// Brotli quality 1 with a 64 KiB window (2^16): measured on 1,000-line blocks of 10-metric rows
/// (min of 7 runs each), quality 1 costs 1.4 us/row CPU with window 16 against 4.5 us/row with window 18
/// (the encoder's tables outgrow the caches), and compresses slightly better (104 vs 109 bytes/row);
/// window 15 is no cheaper and 25% larger, quality 2 almost 3x the CPU for no gain.
/// History rows of 10 full-precision floats still compress ~3x (~105 bytes/row, ~600 rows per 64 KiB
/// property). Reading does not depend on the quality or window, so chunks written with any earlier
/// setting decode unchanged. Buffers come from the shared pool: a 1,000-line block is ~300 KB, which
/// would otherwise be two fresh large-object-heap arrays per chunk.
/// </summary>
internal static class LineCodec
{
    public const string DataPrefix = "Data";
    public const int PropertyBytes = TableStore.MaxBinaryBytes;
    public const int BrotliQuality = 1;
    public const int BrotliWindow = 16;

    public static byte[] Encode(IReadOnlyList<string> lines, int start, int count)
    {
        var raw = ArrayPool<byte>.Shared.Rent(FrameCapacity(lines, start, count));
        try
        {
            return Compress(raw.AsSpan(0, Frame(lines, start, count, raw)));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(raw);
        }
    }

    /// <summary>The uncompressed block: each line as a varint byte length plus its UTF-8 bytes.</summary>
    public static byte[] Frame(IReadOnlyList<string> lines, int start, int count)
    {
        var raw = new byte[FrameCapacity(lines, start, count)];
        return raw.AsSpan(0, Frame(lines, start, count, raw)).ToArray();
    }

    /// <summary>An upper bound of the framed size: 3 UTF-8 bytes per char plus the longest varint.</summary>
    private static int FrameCapacity(IReadOnlyList<string> lines, int start, int count)
    {
        long bytes = 16;
        for (var i = start; i < start + count; i++)
        {
            bytes += lines[i].Length * 3L + 5;
        }
        return (int)Math.Min(bytes, Array.MaxLength);
    }

    private static int Frame(IReadOnlyList<string> lines, int start, int count, Span<byte> into)
    {
        var position = 0;
        for (var i = start; i < start + count; i++)
        {
            var line = lines[i];
            var length = Encoding.UTF8.GetByteCount(line);
            position += WriteVarint(into[position..], (ulong)length);
            position += Encoding.UTF8.GetBytes(line, into[position..]);
        }
        return position;
    }

    public static List<string> Decode(ReadOnlySpan<byte> compressed)
    {
        var (buffer, length) = DecompressPooled(compressed);
        try
        {
            var raw = buffer.AsSpan(0, length);
            var lines = new List<string>();
            var position = 0;
            while (position < raw.Length)
            {
                var size = (int)ReadVarint(raw, ref position);
                lines.Add(Encoding.UTF8.GetString(raw.Slice(position, size)));
                position += size;
            }
            return lines;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public static byte[] Compress(ReadOnlySpan<byte> raw) => Compress(raw, BrotliQuality, BrotliWindow);

    public static byte[] Compress(ReadOnlySpan<byte> raw, int quality, int window)
    {
        var output = ArrayPool<byte>.Shared.Rent(BrotliEncoder.GetMaxCompressedLength(raw.Length));
        try
        {
            if (!BrotliEncoder.TryCompress(raw, output, out var written, quality, window))
            {
                throw new InvalidOperationException("Brotli compression failed.");
            }
            return output.AsSpan(0, written).ToArray();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(output);
        }
    }

    public static byte[] Decompress(ReadOnlySpan<byte> compressed)
    {
        var (buffer, length) = DecompressPooled(compressed);
        try
        {
            return buffer.AsSpan(0, length).ToArray();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Decompresses into a buffer rented from the shared pool (the caller returns it) and gives the
    /// decompressed length: no stream objects, and the buffer grows (doubling) only for blocks that
    /// compressed better than the first guess.
    /// </summary>
    private static (byte[] Buffer, int Length) DecompressPooled(ReadOnlySpan<byte> compressed)
    {
        var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Clamp(compressed.Length * 8L, 256, Array.MaxLength));
        var written = 0;
        using var decoder = new BrotliDecoder();
        try
        {
            while (true)
            {
                var status = decoder.Decompress(compressed, buffer.AsSpan(written), out var consumed, out var produced);
                compressed = compressed[consumed..];
                written += produced;
                switch (status)
                {
                    case OperationStatus.Done:
                        return (buffer, written);
                    case OperationStatus.DestinationTooSmall:
                        if (buffer.Length >= Array.MaxLength)
                        {
                            throw new InvalidDataException("A compressed block is too large to decode.");
                        }
                        var larger = ArrayPool<byte>.Shared.Rent((int)Math.Min(buffer.Length * 2L, Array.MaxLength));
                        buffer.AsSpan(0, written).CopyTo(larger);
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = larger;
                        break;
                    case OperationStatus.NeedMoreData when written == 0 && consumed == 0 && compressed.IsEmpty:
                        // No data at all (an entity without parts): nothing, as a stream reader gives.
                        return (buffer, 0);
                    default:
                        throw new InvalidDataException("A compressed block is not valid Brotli data.");
                }
            }
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
    }

    /// <summary>Stores <paramref name="data"/> in <c>Data0..DataN</c> (and a <c>DataParts</c> count).</summary>
    public static void WriteData(TableEntity entity, byte[] data)
    {
        if (data.Length <= PropertyBytes)
        {
            // One part: the array itself (callers hand over a buffer they no longer change).
            entity[DataPrefix + "0"] = data;
            entity["DataParts"] = 1;
            return;
        }
        var parts = 0;
        for (var offset = 0; offset < data.Length || parts == 0; offset += PropertyBytes)
        {
            var length = Math.Min(PropertyBytes, data.Length - offset);
            entity[DataPrefix + parts] = data.AsSpan(offset, length).ToArray();
            parts++;
        }
        entity["DataParts"] = parts;
    }

    public static byte[] ReadData(TableEntity entity)
    {
        var parts = entity.GetInt32("DataParts") ?? 0;
        if (parts == 1)
        {
            return entity.GetBinary(DataPrefix + "0") ?? [];
        }
        var total = 0;
        for (var i = 0; i < parts; i++)
        {
            total += entity.GetBinary(DataPrefix + i)?.Length ?? 0;
        }
        var data = new byte[total];
        var offset = 0;
        for (var i = 0; i < parts; i++)
        {
            if (entity.GetBinary(DataPrefix + i) is { } part)
            {
                part.CopyTo(data, offset);
                offset += part.Length;
            }
        }
        return data;
    }

    /// <summary>Writes <paramref name="value"/> as a LEB128 varint; returns the bytes written.</summary>
    public static int WriteVarint(Span<byte> into, ulong value)
    {
        var i = 0;
        while (value >= 0x80)
        {
            into[i++] = (byte)(value | 0x80);
            value >>= 7;
        }
        into[i++] = (byte)value;
        return i;
    }

    /// <summary>Appends <paramref name="value"/> as a LEB128 varint (at most 10 bytes).</summary>
    public static void WriteVarint(IBufferWriter<byte> writer, ulong value) => writer.Advance(WriteVarint(writer.GetSpan(10), value));

    public static ulong ReadVarint(ReadOnlySpan<byte> data, ref int position)
    {
        ulong result = 0;
        var shift = 0;
        while (true)
        {
            var b = data[position++];
            result |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return result;
            }
            shift += 7;
        }
    }
}
