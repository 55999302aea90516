using System.IO;
using System.Text;
using System.Text.Json;
using Weightless.Core.Query;

namespace Weightless.Core.Tests.Query;

/// <summary>The version 4 snapshot opened lazily (columns decoded when a query names them), version 2 snapshots, read marks and row versions.</summary>
public sealed class RunIndexSnapshotTests
{
    private static readonly DateTimeOffset Watermark = new(2026, 11, 28, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task A_lazily_opened_snapshot_decodes_only_the_columns_a_query_names_and_answers_like_the_whole_table()
    {
        var random = new Random(21);
        var rows = Enumerable.Range(0, 2500).Select(i => GeneratedRuns.Make(random, i) with { Deleted = i % 11 == 0 }).ToList();
        var table = GeneratedRuns.Table(rows);
        table.Remove("r00004");
        var data = RunIndexCodec.Write(table, Watermark, Watermark.AddHours(-1));
        var (lazy, loader) = Open(data, rows);

        var spec = new RunQuerySpec(RunFilter.Parse("{\"$and\": [{\"config.lr\": {\"$gt\": 0.002}}, {\"state\": {\"$in\": [\"finished\", \"crashed\"]}}]}"), RunQueryEngine.ParseSort(["-summary_metrics.loss"]), 50, null);
        await lazy.EnsureColumnsAsync(RunFilter.Fields(spec.Filter).Concat(spec.Sort.Select(k => k.Field)), CancellationToken.None);
        Assert.Equal(["column:state", "config:lr", "summary:loss"], loader.Loaded.Order(StringComparer.Ordinal));
        Assert.False(lazy.IsLoaded);
        Assert.Throws<InvalidOperationException>(() => lazy.Column(RunField.Parse("summary_metrics.acc", "f")));

        var expected = RunQueryEngine.Execute(table, spec);
        var page = RunQueryEngine.Execute(lazy, spec);
        Assert.Equal(expected.Total, page.Total);
        Assert.Equal(expected.NextCursor, page.NextCursor);
        Assert.Equal(expected.Positions.Select(table.Id), page.Positions.Select(lazy.Id));
        // Ids stay in the snapshot until asked for; a filter and a sort by name build the name column from them.
        var byName = new RunQuerySpec(RunFilter.Parse("{\"name\": {\"$regex\": \"^r0001\"}}"), RunQueryEngine.ParseSort(["-name"]), 5, null);
        Assert.Equal(RunQueryEngine.Execute(table, byName).Positions.Select(table.Id), RunQueryEngine.Execute(lazy, byName).Positions.Select(lazy.Id));
        // The page's rows are point reads (the loader answers from the original rows here), started
        // ahead (a cold start does so while the change-log tail is read) and read once.
        lazy.PrefetchRows(page.Positions, CancellationToken.None);
        var pageRows = await lazy.RowsAsync(page.Positions, CancellationToken.None);
        Assert.Equal(expected.Positions.Select(p => Describe(table.ToRow(p))), pageRows.Select(Describe));
        Assert.Equal(50, loader.PointReads);

        // A change while columns are still in the snapshot, then the rest decoded: the change wins.
        var changed = rows[7] with { State = "killed", Summary = new Dictionary<string, IndexValue> { ["fresh"] = IndexValue.Of(2) } };
        var added = GeneratedRuns.Make(random, 9000);
        foreach (var target in new[] { table, lazy })
        {
            target.Upsert(changed);
            target.Upsert(added);
        }
        Assert.True(lazy.TryGetPosition(changed.Id, out var position));
        Assert.Equal("killed", (await lazy.RowsAsync([position], CancellationToken.None)).Single().State);
        await lazy.EnsureLoadedAsync(CancellationToken.None);
        Assert.True(lazy.IsLoaded);
        Assert.Equal(table.LivePositions().Select(p => Describe(table.ToRow(p))).Order(), lazy.LivePositions().Select(p => Describe(lazy.ToRow(p))).Order());
        // Once loaded it freezes and encodes like any table.
        Assert.Equal(table.LiveCount, RunIndexCodec.Read(RunIndexCodec.Write(lazy.Freeze(), Watermark, Watermark))!.Table.LiveCount);
    }

    [Fact]
    public void A_version_2_snapshot_still_loads_whole()
    {
        var random = new Random(3);
        var rows = Enumerable.Range(0, 40).Select(i => GeneratedRuns.Make(random, i)).ToList();
        var snapshot = RunIndexCodec.Read(WriteVersion2(rows, Watermark));
        Assert.NotNull(snapshot);
        Assert.Equal(Watermark, snapshot.Watermark);
        Assert.True(snapshot.Table.IsLoaded);
        // No read marks in version 2: every change-log entry after the watermark's window is re-read.
        Assert.Equal(0, snapshot.Table.BaseReadTicks);
        var table = GeneratedRuns.Table(rows);
        Assert.Equal(table.LivePositions().Select(p => Describe(table.ToRow(p))), snapshot.Table.LivePositions().Select(p => Describe(snapshot.Table.ToRow(p))));
    }

    [Fact]
    public void Read_marks_say_which_change_log_entries_the_table_already_holds_and_survive_a_snapshot()
    {
        var table = GeneratedRuns.Table(Enumerable.Range(0, 3).Select(i => GeneratedRuns.Make(new Random(i), i)));
        var margin = TimeSpan.FromSeconds(5);
        var t = Watermark.UtcTicks;
        table.BaseReadTicks = t;
        // Entries well before the full read are covered; one within the margin, or whose lease reaches past it, is not.
        Assert.True(table.Covers(new RunChange("k", "r00000", t - TimeSpan.FromSeconds(6).Ticks), margin));
        Assert.False(table.Covers(new RunChange("k", "r00000", t - TimeSpan.FromSeconds(4).Ticks), margin));
        Assert.False(table.Covers(new RunChange("k", "r00000", t - TimeSpan.FromSeconds(10).Ticks, RunChangeLog.Lease), margin));
        // Entries of old writers (no time parsed) are never covered.
        Assert.False(table.Covers(new RunChange("k", "r00000", 0), margin));

        // A run read after an entry was seen: that exact entry is covered at once; a leased one only a lease (and margin) after it.
        var entry = t + TimeSpan.FromSeconds(30).Ticks;
        table.MarkRead("r00001", entry, entry + TimeSpan.FromSeconds(1).Ticks);
        Assert.True(table.Covers(new RunChange("k", "r00001", entry), margin));
        Assert.False(table.Covers(new RunChange("k", "r00001", entry + 1), margin));
        Assert.False(table.Covers(new RunChange("k", "r00001", entry, RunChangeLog.Lease), margin));
        table.MarkRead("r00001", entry, entry + (RunChangeLog.Lease + margin).Ticks);
        Assert.True(table.Covers(new RunChange("k", "r00001", entry, RunChangeLog.Lease), margin));
        // A run the table has never read is covered only by the full read.
        Assert.False(table.Covers(new RunChange("k", "new-run", entry), margin));

        var copy = RunIndexCodec.Read(RunIndexCodec.Write(table, new DateTimeOffset(entry, TimeSpan.Zero), Watermark))!.Table;
        Assert.Equal(t, copy.BaseReadTicks);
        Assert.True(copy.Covers(new RunChange("k", "r00001", entry, RunChangeLog.Lease), margin));
        Assert.False(copy.Covers(new RunChange("k", "r00001", entry + TimeSpan.FromSeconds(16).Ticks), margin));
    }

    [Fact]
    public async Task Row_versions_say_which_unleased_change_log_entries_the_table_holds_exactly_and_load_lazily_from_a_snapshot()
    {
        var rows = Enumerable.Range(0, 3).Select(i => GeneratedRuns.Make(new Random(i), i) with { Version = 100UL + (ulong)i }).ToList();
        var table = GeneratedRuns.Table(rows);
        var t = Watermark.UtcTicks;
        // Recent entries (no read mark, after the last full read): only an unleased entry naming the version read is held.
        Assert.True(table.HoldsVersion(new RunChange("k", "r00000", t, TimeSpan.Zero, 100)));
        Assert.False(table.HoldsVersion(new RunChange("k", "r00000", t, TimeSpan.Zero, 999)));
        Assert.False(table.HoldsVersion(new RunChange("k", "r00000", t, RunChangeLog.Lease, 100)));
        Assert.False(table.HoldsVersion(new RunChange("k", "r00000", t, TimeSpan.Zero, 0)));
        Assert.False(table.HoldsVersion(new RunChange("k", "new-run", t, TimeSpan.Zero, 100)));
        // A newer version read (or written by this index) replaces the old one; a removed run holds none.
        table.Upsert(rows[1] with { Version = 555 });
        Assert.True(table.HoldsVersion(new RunChange("k", "r00001", t, TimeSpan.Zero, 555)));
        Assert.False(table.HoldsVersion(new RunChange("k", "r00001", t, TimeSpan.Zero, 101)));
        table.Remove("r00002");
        Assert.False(table.HoldsVersion(new RunChange("k", "r00002", t, TimeSpan.Zero, 102)));

        // A snapshot keeps them; a lazily opened table loads them on demand, and a version set since the open wins.
        var data = RunIndexCodec.Write(table, Watermark, Watermark);
        Assert.Equal(555UL, RunIndexCodec.Read(data)!.Table.VersionAt(1));
        var (lazy, _) = Open(data, rows);
        Assert.Throws<InvalidOperationException>(() => lazy.HoldsVersion(new RunChange("k", "r00000", t, TimeSpan.Zero, 100)));
        lazy.Upsert(rows[0] with { Version = 777 });
        await lazy.EnsureVersionsAsync(CancellationToken.None);
        Assert.True(lazy.HoldsVersion(new RunChange("k", "r00000", t, TimeSpan.Zero, 777)));
        Assert.True(lazy.HoldsVersion(new RunChange("k", "r00001", t, TimeSpan.Zero, 555)));
        Assert.False(lazy.HoldsVersion(new RunChange("k", "r00001", t, TimeSpan.Zero, 101)));
    }

    private static string Describe(RunIndexRow row) => JsonSerializer.Serialize(new
    {
        Row = row with { Config = null!, Summary = null! },
        Config = row.Config.Where(kv => kv.Value.IsPresent).OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}={kv.Value.Kind}:{kv.Value.ToText()}"),
        Summary = row.Summary.Where(kv => kv.Value.IsPresent).OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}={kv.Value.Kind}:{kv.Value.ToText()}"),
    });

    /// <summary>Opens <paramref name="data"/> the way a cold start does, with a loader that decodes from the bytes and counts what it was asked for.</summary>
    private static (RunTable Table, BytesLoader Loader) Open(ReadOnlyMemory<byte> data, IReadOnlyList<RunIndexRow> rows)
    {
        var header = RunIndexCodec.ReadHeader(data.Span, out _)!;
        var loader = new BytesLoader(data, header, rows);
        var table = RunTable.Open(RunIndexCodec.ScanRuns(data.Slice((int)header.RunsOffset, header.RunsLength), header.Count), header.Columns.Select(c => (c.Kind, c.Name)), loader);
        RunIndexCodec.Restore(table, header);
        return (table, loader);
    }

    private sealed class BytesLoader(ReadOnlyMemory<byte> data, RunIndexHeader header, IReadOnlyList<RunIndexRow> rows) : IRunTableLoader
    {
        public List<string> Loaded { get; } = [];

        public int PointReads { get; private set; }

        public Task<IndexColumn> LoadColumnAsync(RunFieldKind kind, string name, CancellationToken cancellationToken)
        {
            lock (Loaded)
            {
                Loaded.Add(kind.ToString().ToLowerInvariant() + ":" + name);
            }
            var segment = header.Columns.Single(c => c.Kind == kind && c.Name == name);
            return Task.FromResult(RunIndexCodec.ReadColumnPages(data.Span.Slice((int)segment.Offset, segment.Length), header.Count));
        }

        public Task<ulong[]?> LoadVersionsAsync(CancellationToken cancellationToken) =>
            Task.FromResult(RunIndexCodec.ReadVersions(data.Span.Slice((int)header.VersionsOffset, header.VersionsLength), header.Count));

        public Task<RunIndexDelta> ReadRunsAsync(IReadOnlyCollection<string> runIds, CancellationToken cancellationToken)
        {
            PointReads += runIds.Count;
            var wanted = runIds.ToHashSet();
            return Task.FromResult(new RunIndexDelta(rows.Where(r => wanted.Contains(r.Id)).ToList(), []));
        }
    }

    /// <summary>The version 2 layout (one column-major body behind a global string table), as earlier releases wrote it.</summary>
    private static byte[] WriteVersion2(IReadOnlyList<RunIndexRow> rows, DateTimeOffset watermark)
    {
        var table = GeneratedRuns.Table(rows);
        var live = table.LivePositions().ToArray();
        var groups = new[]
        {
            table.FixedColumns.Where(c => c.Key != RunField.RunName.Name).ToList(),
            table.ConfigColumns.ToList(),
            table.SummaryColumns.ToList(),
        };
        var strings = new List<string>();
        int Intern(string s)
        {
            var id = strings.IndexOf(s);
            if (id < 0)
            {
                strings.Add(s);
                id = strings.Count - 1;
            }
            return id;
        }
        foreach (var position in live)
        {
            foreach (var tag in table.Tags(position))
            {
                Intern(tag);
            }
        }
        foreach (var (name, column) in groups.SelectMany(g => g))
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
        var output = new MemoryStream();
        using (var writer = new BinaryWriter(output, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(0x49524C57u);
            writer.Write(2);
            writer.Write(watermark.UtcTicks);
            writer.Write(watermark.UtcTicks);
            writer.Write7BitEncodedInt(strings.Count);
            strings.ForEach(writer.Write);
            writer.Write7BitEncodedInt(live.Length);
            foreach (var position in live)
            {
                writer.Write(table.Id(position));
                writer.Write(table.IsDeleted(position));
                writer.Write7BitEncodedInt(table.Tags(position).Count);
                foreach (var tag in table.Tags(position))
                {
                    writer.Write7BitEncodedInt(Intern(tag));
                }
            }
            foreach (var group in groups)
            {
                writer.Write7BitEncodedInt(group.Count);
                foreach (var (name, column) in group)
                {
                    writer.Write7BitEncodedInt(Intern(name));
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
                                writer.Write7BitEncodedInt(Intern(value.Text!));
                                break;
                            case IndexValueKind.Json:
                                writer.Write(value.Text!);
                                break;
                        }
                    }
                }
            }
        }
        return output.ToArray();
    }
}
