using System.Text;

namespace Weightless.Core.Query;

/// <summary>
/// The run index snapshot blob: a compact binary form (keys and repeated strings written once, numbers
/// as 8 bytes, small integers as varints) so a project of 100,000 runs × 40 keys loads in one read.
/// Layout: magic, version, watermark, time of the last full build, string table, then per run its fields and (key, value) pairs.
/// </summary>
internal static class RunIndexCodec
{
    private const uint Magic = 0x49524C57; // "WLRI"
    private const int Version = 1;

    public static byte[] Write(RunTable table, DateTimeOffset watermark, DateTimeOffset builtAt)
    {
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
        var rows = table.LivePositions().Select(table.ToRow).ToList();
        using var body = new MemoryStream();
        using (var writer = new BinaryWriter(body, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write7BitEncodedInt(rows.Count);
            foreach (var row in rows)
            {
                writer.Write(row.Id);
                WriteOptional(writer, row.DisplayName);
                writer.Write7BitEncodedInt(Intern(row.State));
                writer.Write(row.CreatedAt.ToUnixTimeMilliseconds());
                writer.Write(row.HeartbeatAt.ToUnixTimeMilliseconds());
                foreach (var text in new[] { row.User, row.Group, row.JobType, row.Host, row.Sweep })
                {
                    writer.Write7BitEncodedInt(text is null ? 0 : Intern(text) + 1);
                }
                writer.Write(row.Runtime);
                writer.Write(row.Deleted);
                writer.Write7BitEncodedInt(row.Tags.Count);
                foreach (var tag in row.Tags)
                {
                    writer.Write7BitEncodedInt(Intern(tag));
                }
                WriteValues(writer, row.Config, Intern);
                WriteValues(writer, row.Summary, Intern);
            }
        }
        using var output = new MemoryStream();
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
            writer.Write(body.GetBuffer(), 0, (int)body.Length);
        }
        return output.ToArray();
    }

    public static (RunTable Table, DateTimeOffset Watermark, DateTimeOffset BuiltAt)? Read(ReadOnlyMemory<byte> data)
    {
        using var stream = new MemoryStream(data.ToArray(), writable: false);
        using var reader = new BinaryReader(stream, Encoding.UTF8);
        if (data.Length < 16 || reader.ReadUInt32() != Magic || reader.ReadInt32() != Version)
        {
            return null;
        }
        var watermark = new DateTimeOffset(reader.ReadInt64(), TimeSpan.Zero);
        var builtAt = new DateTimeOffset(reader.ReadInt64(), TimeSpan.Zero);
        var strings = new string[reader.Read7BitEncodedInt()];
        for (var i = 0; i < strings.Length; i++)
        {
            strings[i] = reader.ReadString();
        }
        var table = new RunTable();
        var count = reader.Read7BitEncodedInt();
        for (var i = 0; i < count; i++)
        {
            var id = reader.ReadString();
            var displayName = ReadOptional(reader);
            var state = strings[reader.Read7BitEncodedInt()];
            var created = DateTimeOffset.FromUnixTimeMilliseconds(reader.ReadInt64());
            var heartbeat = DateTimeOffset.FromUnixTimeMilliseconds(reader.ReadInt64());
            var texts = new string?[5];
            for (var t = 0; t < texts.Length; t++)
            {
                var index = reader.Read7BitEncodedInt();
                texts[t] = index == 0 ? null : strings[index - 1];
            }
            var runtime = reader.ReadDouble();
            var deleted = reader.ReadBoolean();
            var tags = new string[reader.Read7BitEncodedInt()];
            for (var t = 0; t < tags.Length; t++)
            {
                tags[t] = strings[reader.Read7BitEncodedInt()];
            }
            table.Upsert(new RunIndexRow
            {
                Id = id,
                DisplayName = displayName,
                State = state,
                CreatedAt = created,
                HeartbeatAt = heartbeat,
                User = texts[0],
                Group = texts[1],
                JobType = texts[2],
                Host = texts[3],
                Sweep = texts[4],
                Runtime = runtime,
                Deleted = deleted,
                Tags = tags,
                Config = ReadValues(reader, strings),
                Summary = ReadValues(reader, strings),
            });
        }
        return (table, watermark, builtAt);
    }

    private static void WriteValues(BinaryWriter writer, IReadOnlyDictionary<string, IndexValue> values, Func<string, int> intern)
    {
        writer.Write7BitEncodedInt(values.Count);
        foreach (var (key, value) in values)
        {
            writer.Write7BitEncodedInt(intern(key));
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
                case IndexValueKind.Json:
                    writer.Write(value.Text!);
                    break;
            }
        }
    }

    private static Dictionary<string, IndexValue> ReadValues(BinaryReader reader, string[] strings)
    {
        var count = reader.Read7BitEncodedInt();
        var values = new Dictionary<string, IndexValue>(count, StringComparer.Ordinal);
        for (var i = 0; i < count; i++)
        {
            var key = strings[reader.Read7BitEncodedInt()];
            var kind = (IndexValueKind)reader.ReadByte();
            values[key] = kind switch
            {
                IndexValueKind.Number => IndexValue.Of(reader.ReadDouble()),
                IndexValueKind.Bool => IndexValue.Of(reader.ReadBoolean()),
                IndexValueKind.String => IndexValue.Of(reader.ReadString()),
                IndexValueKind.Json => IndexValue.OfJson(reader.ReadString()),
                _ => IndexValue.Null,
            };
        }
        return values;
    }

    private static void WriteOptional(BinaryWriter writer, string? text)
    {
        writer.Write(text is not null);
        if (text is not null)
        {
            writer.Write(text);
        }
    }

    private static string? ReadOptional(BinaryReader reader) => reader.ReadBoolean() ? reader.ReadString() : null;
}
