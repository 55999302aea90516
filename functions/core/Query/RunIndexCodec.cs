using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;

namespace Weightless.Core.Query;

/// <summary>A decoded snapshot: the table, the watermark it was saved with and the time of its last full build.</summary>
internal sealed record RunIndexSnapshot(RunTable Table, DateTimeOffset Watermark, DateTimeOffset BuiltAt);

/// <summary>
/// A snapshot's runs segment scanned but for the ids: tags and deleted flags decoded, each id left in
/// <see cref="Segment"/> at <see cref="IdOffsets"/> until <see cref="Id"/> decodes it.
/// </summary>
internal sealed record RunIndexRuns(ReadOnlyMemory<byte> Segment, int[] IdOffsets, string[][] Tags, bool[] Deleted)
{
    public string Id(int position)
    {
        var span = Segment.Span[IdOffsets[position]..];
        var length = 0;
        var shift = 0;
        int read;
        for (read = 0; ; read++)
        {
            var b = span[read];
            length |= (b & 0x7F) << shift;
            shift += 7;
            if (b < 0x80)
            {
                break;
            }
        }
        return Encoding.UTF8.GetString(span.Slice(read + 1, length));
    }
}

/// <summary>Where one column's segment lies in a version 3 snapshot blob.</summary>
internal sealed record RunIndexSegment(RunFieldKind Kind, string Name, long Offset, int Length);

/// <summary>The header of a version 3 or 4 snapshot: everything but the runs, versions and column segments.</summary>
internal sealed record RunIndexHeader(
    DateTimeOffset Watermark, DateTimeOffset BuiltAt, long BaseReadTicks, int Count, long RunsOffset, int RunsLength,
    IReadOnlyList<RunIndexSegment> Columns, IReadOnlyList<KeyValuePair<string, RunReadMark>> Marks, int VersionsLength = 0)
{
    /// <summary>The versions segment (version 4) follows the runs segment; empty in version 3.</summary>
    public long VersionsOffset => RunsOffset + RunsLength;
}

/// <summary>
/// The run index snapshot blob, version 4: segments a reader fetches with ranged reads, so a cold query
/// downloads and decodes the runs and the few columns it names, not all 40 keys × 100,000 runs.
/// Layout: magic, version, header length; the header (watermark, last full build, base read time, run
/// count, the runs segment's length, the versions segment's length, per column its kind, name and
/// segment length, the recent read marks); the runs segment (tag sets written once, then per run its
/// id, deleted flag and tag set); the versions segment (per run the 8-byte row version it was read at,
/// <see cref="RunVersion"/>; read only when a change-log entry needs matching against it); then each
/// column's segment (its own string dictionary, one kind byte per run, then the payloads: 8-byte
/// doubles, bool bytes, dictionary ids). Version 3 (no versions segment) opens the same way with every
/// version unknown; version 2 (one column-major body) still loads whole.
/// </summary>
internal static class RunIndexCodec
{
    private const uint Magic = 0x49524C57; // "WLRI"
    private const int Version = 4;

    /// <summary>Bytes before the header: magic, version, header length.</summary>
    public const int PreambleLength = 12;

    /// <summary>Read marks older than this before the watermark are left out of a snapshot (a cold reader's change-log window is shorter).</summary>
    private static readonly TimeSpan MarkWindow = TimeSpan.FromMinutes(10);

    /// <summary>Encodes the table's live runs; safe on a <see cref="RunTable.Freeze"/>d copy from any thread.</summary>
    public static ReadOnlyMemory<byte> Write(RunTable table, DateTimeOffset watermark, DateTimeOffset builtAt)
    {
        var live = table.LivePositions().ToArray();
        var columns = new List<(RunFieldKind Kind, string Name, IndexColumn Column)>();
        columns.AddRange(table.FixedColumns.Where(c => c.Key != RunField.RunName.Name).Select(c => (RunFieldKind.Column, c.Key, c.Value)));
        columns.AddRange(table.ConfigColumns.Select(c => (RunFieldKind.Config, c.Key, c.Value)));
        columns.AddRange(table.SummaryColumns.Select(c => (RunFieldKind.Summary, c.Key, c.Value)));

        var runs = WriteRuns(table, live);
        var versions = new byte[live.Length * sizeof(ulong)];
        for (var i = 0; i < live.Length; i++)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(versions.AsSpan(i * sizeof(ulong)), table.VersionAt(live[i]));
        }
        var segments = columns.Select(c => WriteColumn(c.Column, live)).ToList();
        var marks = table.ReadMarks.Where(m => m.Value.ReadTicks >= (watermark - MarkWindow).UtcTicks || m.Value.SeenTicks >= (watermark - MarkWindow).UtcTicks).ToList();

        var header = new MemoryStream();
        using (var writer = new BinaryWriter(header, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(watermark.UtcTicks);
            writer.Write(builtAt.UtcTicks);
            writer.Write(table.BaseReadTicks);
            writer.Write7BitEncodedInt(live.Length);
            writer.Write7BitEncodedInt(runs.Length);
            writer.Write7BitEncodedInt(versions.Length);
            writer.Write7BitEncodedInt(columns.Count);
            for (var i = 0; i < columns.Count; i++)
            {
                writer.Write((byte)columns[i].Kind);
                writer.Write(columns[i].Name);
                writer.Write7BitEncodedInt(segments[i].Length);
            }
            writer.Write7BitEncodedInt(marks.Count);
            foreach (var (id, mark) in marks)
            {
                writer.Write(id);
                writer.Write(mark.SeenTicks);
                writer.Write(mark.ReadTicks);
            }
        }
        var output = new MemoryStream((int)(PreambleLength + header.Length + runs.Length + versions.Length + segments.Sum(s => (long)s.Length)));
        using (var writer = new BinaryWriter(output, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(Magic);
            writer.Write(Version);
            writer.Write((int)header.Length);
            writer.Write(header.GetBuffer(), 0, (int)header.Length);
            writer.Write(runs);
            writer.Write(versions);
            foreach (var segment in segments)
            {
                writer.Write(segment);
            }
        }
        return output.GetBuffer().AsMemory(0, (int)output.Length);
    }

    /// <summary>Decodes a whole snapshot blob (any supported version) into a loaded table; null for an unknown layout.</summary>
    public static RunIndexSnapshot? Read(ReadOnlyMemory<byte> data)
    {
        if (data.Length < PreambleLength || BinaryPrimitives.ReadUInt32LittleEndian(data.Span) != Magic)
        {
            return null;
        }
        if (BinaryPrimitives.ReadInt32LittleEndian(data.Span[4..]) == 2)
        {
            return ReadVersion2(data);
        }
        if (ReadHeader(data.Span, out _) is not { } header)
        {
            return null;
        }
        var (ids, tags, deleted) = ReadRuns(data.Slice((int)header.RunsOffset, header.RunsLength), header.Count);
        var table = RunTable.Create(ids, tags, deleted, ReadVersions(data.Span.Slice((int)header.VersionsOffset, header.VersionsLength), header.Count));
        foreach (var segment in header.Columns)
        {
            table.Install(segment.Kind, segment.Name, ReadColumnPages(data.Span.Slice((int)segment.Offset, segment.Length), header.Count));
        }
        Restore(table, header);
        return new RunIndexSnapshot(table, header.Watermark, header.BuiltAt);
    }

    /// <summary>
    /// The header of a version 3 or 4 snapshot from the blob's first bytes; null when the blob has another
    /// layout or <paramref name="prefix"/> is too short (<paramref name="needed"/> then says how many bytes the header takes).
    /// </summary>
    public static RunIndexHeader? ReadHeader(ReadOnlySpan<byte> prefix, out int needed)
    {
        needed = 0;
        if (prefix.Length < PreambleLength || BinaryPrimitives.ReadUInt32LittleEndian(prefix) != Magic)
        {
            return null;
        }
        var layout = BinaryPrimitives.ReadInt32LittleEndian(prefix[4..]);
        if (layout is not (3 or Version))
        {
            return null;
        }
        var headerLength = BinaryPrimitives.ReadInt32LittleEndian(prefix[8..]);
        if (prefix.Length < PreambleLength + headerLength)
        {
            needed = PreambleLength + headerLength;
            return null;
        }
        var reader = new SpanReader(prefix.Slice(PreambleLength, headerLength));
        var watermark = new DateTimeOffset(reader.ReadInt64(), TimeSpan.Zero);
        var builtAt = new DateTimeOffset(reader.ReadInt64(), TimeSpan.Zero);
        var baseRead = reader.ReadInt64();
        var count = reader.Read7BitInt();
        var runsLength = reader.Read7BitInt();
        var versionsLength = layout >= 4 ? reader.Read7BitInt() : 0;
        var offset = (long)PreambleLength + headerLength + runsLength + versionsLength;
        var columns = new RunIndexSegment[reader.Read7BitInt()];
        for (var i = 0; i < columns.Length; i++)
        {
            var kind = (RunFieldKind)reader.ReadByte();
            var name = reader.ReadString();
            var length = reader.Read7BitInt();
            columns[i] = new RunIndexSegment(kind, name, offset, length);
            offset += length;
        }
        var marks = new KeyValuePair<string, RunReadMark>[reader.Read7BitInt()];
        for (var i = 0; i < marks.Length; i++)
        {
            var id = reader.ReadString();
            marks[i] = new(id, new RunReadMark(reader.ReadInt64(), reader.ReadInt64()));
        }
        return new RunIndexHeader(watermark, builtAt, baseRead, count, PreambleLength + headerLength, runsLength, columns, marks, versionsLength);
    }

    /// <summary>Carries a snapshot's read marks over to a table decoded from it.</summary>
    public static void Restore(RunTable table, RunIndexHeader header)
    {
        table.BaseReadTicks = header.BaseReadTicks;
        foreach (var (id, mark) in header.Marks)
        {
            table.MarkRead(id, mark.SeenTicks, mark.ReadTicks);
        }
    }

    /// <summary>The runs segment: ids, tags and deleted flags in position order.</summary>
    public static (string[] Ids, string[][] Tags, bool[] Deleted) ReadRuns(ReadOnlyMemory<byte> segment, int count)
    {
        var runs = ScanRuns(segment, count);
        var ids = new string[count];
        for (var i = 0; i < count; i++)
        {
            ids[i] = runs.Id(i);
        }
        return (ids, runs.Tags, runs.Deleted);
    }

    /// <summary>The runs segment with tags and deleted flags decoded and the ids only located (a cold open decodes the few it needs).</summary>
    public static RunIndexRuns ScanRuns(ReadOnlyMemory<byte> segment, int count)
    {
        var reader = new SpanReader(segment.Span);
        var tagSets = new string[reader.Read7BitInt()][];
        for (var i = 0; i < tagSets.Length; i++)
        {
            var set = new string[reader.Read7BitInt()];
            for (var t = 0; t < set.Length; t++)
            {
                set[t] = reader.ReadString();
            }
            tagSets[i] = set;
        }
        var offsets = new int[count];
        var tags = new string[count][];
        var deleted = new bool[count];
        for (var i = 0; i < count; i++)
        {
            offsets[i] = reader.Offset;
            reader.Skip(reader.Read7BitInt());
            deleted[i] = reader.ReadByte() != 0;
            tags[i] = tagSets[reader.Read7BitInt()];
        }
        return new RunIndexRuns(segment, offsets, tags, deleted);
    }

    /// <summary>The versions segment: one row version per run in position order; null when the snapshot kept none (version 3).</summary>
    public static ulong[]? ReadVersions(ReadOnlySpan<byte> segment, int count)
    {
        if (segment.Length < count * sizeof(ulong))
        {
            return null;
        }
        var versions = new ulong[count];
        for (var i = 0; i < count; i++)
        {
            versions[i] = BinaryPrimitives.ReadUInt64LittleEndian(segment[(i * sizeof(ulong))..]);
        }
        return versions;
    }

    /// <summary>
    /// One column segment decoded straight into <see cref="IndexColumn"/> pages (no whole-column array to
    /// copy from; a page whose runs hold no value stays unallocated). The values in position order.
    /// </summary>
    public static IndexColumn ReadColumnPages(ReadOnlySpan<byte> segment, int count)
    {
        var reader = new SpanReader(segment);
        var dictionary = new string[reader.Read7BitInt()];
        for (var i = 0; i < dictionary.Length; i++)
        {
            dictionary[i] = reader.ReadString();
        }
        var kinds = reader.ReadBytes(count);
        var pages = new IndexValue[]?[(count + IndexColumn.PageSize - 1) >> IndexColumn.PageShift];
        for (var page = 0; page < pages.Length; page++)
        {
            var start = page << IndexColumn.PageShift;
            var pageKinds = kinds.Slice(start, Math.Min(IndexColumn.PageSize, count - start));
            if (!pageKinds.ContainsAnyExcept((byte)IndexValueKind.Missing))
            {
                continue;
            }
            var values = new IndexValue[IndexColumn.PageSize];
            for (var i = 0; i < pageKinds.Length; i++)
            {
                values[i] = (IndexValueKind)pageKinds[i] switch
                {
                    IndexValueKind.Missing => default,
                    IndexValueKind.Number => IndexValue.Of(reader.ReadDouble()),
                    IndexValueKind.Bool => IndexValue.Of(reader.ReadByte() != 0),
                    IndexValueKind.String => IndexValue.Of(dictionary[reader.Read7BitInt()]),
                    IndexValueKind.Json => IndexValue.OfJson(dictionary[reader.Read7BitInt()]),
                    _ => IndexValue.Null,
                };
            }
            pages[page] = values;
        }
        return IndexColumn.FromPages(pages);
    }

    private static byte[] WriteRuns(RunTable table, int[] live)
    {
        var output = new MemoryStream(live.Length * 12);
        using var writer = new BinaryWriter(output, Encoding.UTF8);
        // Runs share a handful of tag sets: each is written once and named by number.
        var sets = new Dictionary<string, int>(StringComparer.Ordinal);
        var order = new List<IReadOnlyList<string>>();
        var setOf = new int[live.Length];
        for (var i = 0; i < live.Length; i++)
        {
            var tags = table.Tags(live[i]);
            var key = string.Join("\u0001", tags);
            if (!sets.TryGetValue(key, out var id))
            {
                id = order.Count;
                sets[key] = id;
                order.Add(tags);
            }
            setOf[i] = id;
        }
        writer.Write7BitEncodedInt(order.Count);
        foreach (var set in order)
        {
            writer.Write7BitEncodedInt(set.Count);
            foreach (var tag in set)
            {
                writer.Write(tag);
            }
        }
        for (var i = 0; i < live.Length; i++)
        {
            writer.Write(table.Id(live[i]));
            writer.Write(table.IsDeleted(live[i]));
            writer.Write7BitEncodedInt(setOf[i]);
        }
        writer.Flush();
        return output.ToArray();
    }

    private static byte[] WriteColumn(IndexColumn column, int[] live)
    {
        var dictionary = new Dictionary<string, int>(StringComparer.Ordinal);
        var order = new List<string>();
        var kinds = new byte[live.Length];
        var payload = new MemoryStream(live.Length * 8);
        using (var writer = new BinaryWriter(payload, Encoding.UTF8, leaveOpen: true))
        {
            for (var i = 0; i < live.Length; i++)
            {
                var value = column[live[i]];
                kinds[i] = (byte)value.Kind;
                switch (value.Kind)
                {
                    case IndexValueKind.Number:
                        writer.Write(value.Number);
                        break;
                    case IndexValueKind.Bool:
                        writer.Write(value.Bool);
                        break;
                    case IndexValueKind.String or IndexValueKind.Json:
                        if (!dictionary.TryGetValue(value.Text!, out var id))
                        {
                            id = order.Count;
                            dictionary[value.Text!] = id;
                            order.Add(value.Text!);
                        }
                        writer.Write7BitEncodedInt(id);
                        break;
                }
            }
        }
        var output = new MemoryStream((int)payload.Length + kinds.Length + 16);
        using (var writer = new BinaryWriter(output, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write7BitEncodedInt(order.Count);
            foreach (var text in order)
            {
                writer.Write(text);
            }
            writer.Write(kinds);
            writer.Write(payload.GetBuffer(), 0, (int)payload.Length);
        }
        return output.ToArray();
    }

    private static RunIndexSnapshot? ReadVersion2(ReadOnlyMemory<byte> data)
    {
        using var stream = MemoryMarshal.TryGetArray(data, out var segment)
            ? new MemoryStream(segment.Array!, segment.Offset, segment.Count, writable: false)
            : new MemoryStream(data.ToArray(), writable: false);
        using var reader = new BinaryReader(stream, Encoding.UTF8);
        if (reader.ReadUInt32() != Magic || reader.ReadInt32() != 2)
        {
            // Another layout: the caller rebuilds from the runs.
            return null;
        }
        var watermark = new DateTimeOffset(reader.ReadInt64(), TimeSpan.Zero);
        var builtAt = new DateTimeOffset(reader.ReadInt64(), TimeSpan.Zero);
        var strings = new string[reader.Read7BitEncodedInt()];
        for (var i = 0; i < strings.Length; i++)
        {
            strings[i] = reader.ReadString();
        }
        var count = reader.Read7BitEncodedInt();
        var ids = new string[count];
        var tags = new string[count][];
        var deleted = new bool[count];
        for (var i = 0; i < count; i++)
        {
            ids[i] = reader.ReadString();
            deleted[i] = reader.ReadBoolean();
            var runTags = new string[reader.Read7BitEncodedInt()];
            for (var t = 0; t < runTags.Length; t++)
            {
                runTags[t] = strings[reader.Read7BitEncodedInt()];
            }
            tags[i] = runTags;
        }
        var table = RunTable.Create(ids, tags, deleted);
        foreach (var kind in new[] { RunFieldKind.Column, RunFieldKind.Config, RunFieldKind.Summary })
        {
            var columns = reader.Read7BitEncodedInt();
            for (var c = 0; c < columns; c++)
            {
                var name = strings[reader.Read7BitEncodedInt()];
                var values = new IndexValue[count];
                for (var position = 0; position < count; position++)
                {
                    values[position] = ReadValue(reader, strings);
                }
                table.Install(kind, name, values);
            }
        }
        return new RunIndexSnapshot(table, watermark, builtAt);
    }

    private static IndexValue ReadValue(BinaryReader reader, string[] strings) => (IndexValueKind)reader.ReadByte() switch
    {
        IndexValueKind.Missing => IndexValue.Missing,
        IndexValueKind.Number => IndexValue.Of(reader.ReadDouble()),
        IndexValueKind.Bool => IndexValue.Of(reader.ReadBoolean()),
        IndexValueKind.String => IndexValue.Of(strings[reader.Read7BitEncodedInt()]),
        IndexValueKind.Json => IndexValue.OfJson(reader.ReadString()),
        _ => IndexValue.Null,
    };

    /// <summary>Reads what <see cref="BinaryWriter"/> wrote, from a span, without a stream per segment.</summary>
    private ref struct SpanReader(ReadOnlySpan<byte> data)
    {
        private readonly ReadOnlySpan<byte> _data = data;
        private int _offset;

        public byte ReadByte() => _data[_offset++];

        public readonly int Offset => _offset;

        public void Skip(int count) => _offset += count;

        public long ReadInt64()
        {
            var value = BinaryPrimitives.ReadInt64LittleEndian(_data[_offset..]);
            _offset += 8;
            return value;
        }

        public double ReadDouble()
        {
            var value = BinaryPrimitives.ReadDoubleLittleEndian(_data[_offset..]);
            _offset += 8;
            return value;
        }

        public int Read7BitInt()
        {
            var result = 0;
            for (var shift = 0; shift < 35; shift += 7)
            {
                var b = _data[_offset++];
                result |= (b & 0x7F) << shift;
                if (b < 0x80)
                {
                    return result;
                }
            }
            throw new FormatException("Bad 7-bit encoded integer in a run index snapshot.");
        }

        public ReadOnlySpan<byte> ReadBytes(int count)
        {
            var bytes = _data.Slice(_offset, count);
            _offset += count;
            return bytes;
        }

        public string ReadString()
        {
            var length = Read7BitInt();
            var text = Encoding.UTF8.GetString(_data.Slice(_offset, length));
            _offset += length;
            return text;
        }
    }
}
