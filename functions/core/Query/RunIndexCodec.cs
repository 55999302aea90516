using System.Runtime.InteropServices;
using System.Text;

namespace Weightless.Core.Query;

/// <summary>
/// The run index snapshot blob, stored by column like <see cref="RunTable"/> so encode and decode move
/// whole columns (no per-run dictionaries): a project of 100,000 runs × 40 keys loads in one read.
/// Layout: magic, version, watermark, time of the last full build, string table (keys, states, tags and
/// string values written once), the run count, per run its id, deleted flag and tags, then every fixed
/// column, config column and summary column as (name, one kind-tagged value per run).
/// </summary>
internal static class RunIndexCodec
{
    private const uint Magic = 0x49524C57; // "WLRI"
    private const int Version = 2;

    /// <summary>Encodes the table's live runs; safe on a <see cref="RunTable.Freeze"/>d copy from any thread.</summary>
    public static ReadOnlyMemory<byte> Write(RunTable table, DateTimeOffset watermark, DateTimeOffset builtAt)
    {
        var live = table.LivePositions().ToArray();
        var fixedColumns = table.FixedColumns.Where(c => c.Key != RunField.RunName.Name).ToList();
        var strings = new Dictionary<string, int>(StringComparer.Ordinal);
        var order = new List<string>();
        int Intern(string s)
        {
            if (!strings.TryGetValue(s, out var id))
            {
                id = order.Count;
                strings[s] = id;
                order.Add(s);
            }
            return id;
        }
        // First pass: every interned string, so the table precedes the body in one buffer.
        foreach (var position in live)
        {
            foreach (var tag in table.Tags(position))
            {
                Intern(tag);
            }
        }
        foreach (var columns in new[] { fixedColumns, table.ConfigColumns.ToList(), table.SummaryColumns.ToList() })
        {
            foreach (var (name, column) in columns)
            {
                Intern(name);
                foreach (var position in live)
                {
                    if (column[position] is { Kind: IndexValueKind.String, Text: { } text })
                    {
                        Intern(text);
                    }
                }
            }
        }

        var output = new MemoryStream();
        using (var writer = new BinaryWriter(output, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(Magic);
            writer.Write(Version);
            writer.Write(watermark.UtcTicks);
            writer.Write(builtAt.UtcTicks);
            writer.Write7BitEncodedInt(order.Count);
            foreach (var s in order)
            {
                writer.Write(s);
            }
            writer.Write7BitEncodedInt(live.Length);
            foreach (var position in live)
            {
                writer.Write(table.Id(position));
                writer.Write(table.IsDeleted(position));
                var tags = table.Tags(position);
                writer.Write7BitEncodedInt(tags.Count);
                foreach (var tag in tags)
                {
                    writer.Write7BitEncodedInt(strings[tag]);
                }
            }
            WriteColumns(writer, fixedColumns, live, strings);
            WriteColumns(writer, table.ConfigColumns.ToList(), live, strings);
            WriteColumns(writer, table.SummaryColumns.ToList(), live, strings);
        }
        return output.GetBuffer().AsMemory(0, (int)output.Length);
    }

    public static (RunTable Table, DateTimeOffset Watermark, DateTimeOffset BuiltAt)? Read(ReadOnlyMemory<byte> data)
    {
        if (data.Length < 16)
        {
            return null;
        }
        using var stream = MemoryMarshal.TryGetArray(data, out var segment)
            ? new MemoryStream(segment.Array!, segment.Offset, segment.Count, writable: false)
            : new MemoryStream(data.ToArray(), writable: false);
        using var reader = new BinaryReader(stream, Encoding.UTF8);
        if (reader.ReadUInt32() != Magic || reader.ReadInt32() != Version)
        {
            // Another layout (an older version): the caller rebuilds from the runs.
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
                var column = table.LoadColumn(kind, strings[reader.Read7BitEncodedInt()]);
                for (var position = 0; position < count; position++)
                {
                    column.Set(position, ReadValue(reader, strings));
                }
            }
        }
        return (table, watermark, builtAt);
    }

    private static void WriteColumns(BinaryWriter writer, List<KeyValuePair<string, IndexColumn>> columns, int[] live, Dictionary<string, int> strings)
    {
        writer.Write7BitEncodedInt(columns.Count);
        foreach (var (name, column) in columns)
        {
            writer.Write7BitEncodedInt(strings[name]);
            foreach (var position in live)
            {
                var value = column[position];
                writer.Write((byte)value.Kind);
                switch (value.Kind)
                {
                    case IndexValueKind.Number:
                        writer.Write(value.Number);
                        break;
                    case IndexValueKind.Bool:
                        writer.Write(value.Bool);
                        break;
                    case IndexValueKind.String:
                        writer.Write7BitEncodedInt(strings[value.Text!]);
                        break;
                    case IndexValueKind.Json:
                        writer.Write(value.Text!);
                        break;
                }
            }
        }
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
}
