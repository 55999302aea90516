using Azure;
using Azure.Data.Tables;
using Weightless.Core.History;
using Weightless.Core.Runs;

namespace Weightless.Core.Tests.History;

public class RollupSnapshotTests
{
    private static readonly RunKey Run = new("team-a", "proj", "run1");

    private static TableEntity Page(int level, long pageIndex, int format, long applied, int buckets)
    {
        var slots = new SortedDictionary<int, M4Accumulator>();
        for (var slot = 0; slot < buckets; slot++)
        {
            var a = default(M4Accumulator);
            var start = (pageIndex * M4Levels.PageSlots + slot) * M4Levels.Widths[level];
            a.Add(start, slot * 0.5);
            a.Add(start + 1, double.NaN);
            a.Add(start + 2, -slot);
            slots[slot] = a;
        }
        var entity = new TableEntity(Run.PartitionKey, LineStream.PageKey(level, pageIndex, "loss"))
        {
            ["Applied"] = applied,
            ["Metric"] = "loss",
            ["Level"] = level,
            ["Page"] = pageIndex,
        };
        if (format == M4Page.CompactFormat)
        {
            entity["Format"] = format;
        }
        LineCodec.WriteData(entity, new M4Page(applied, slots).Serialize(format, M4Levels.Widths[level], pageIndex));
        return entity;
    }

    private static string Describe(IEnumerable<TableEntity> pages) =>
        string.Join("\n", pages.Select(p =>
            $"{p.RowKey} page={p.GetInt64("Page")} applied={p.GetInt64("Applied")} format={LineStream.PageFormat(p)} " +
            string.Join(";", LineStream.DecodePage(p).Slots.Select(kv => kv.Key + "=" + kv.Value.ToBucket(0, 0)))));

    [Fact]
    public void A_snapshot_gives_back_the_pages_it_was_built_from_in_both_formats_and_only_the_asked_range()
    {
        // Stored pages of both formats (a run stored before the compact format, grown since), given out of order.
        var pages = new[] { Page(1, 2, M4Page.CompactFormat, 900, 10), Page(1, 0, M4Page.FixedFormat, 300, 64), Page(1, 1, M4Page.CompactFormat, 900, 64) };
        var snapshot = RollupSnapshot.Build(Run, 1, "loss", new ETag("\"e1\""), pages)!;
        Assert.Equal(RollupSnapshot.RowKey(1, "loss"), snapshot.RowKey);
        Assert.True(RollupSnapshot.IsCurrent(snapshot, new ETag("\"e1\"")));
        Assert.False(RollupSnapshot.IsCurrent(snapshot, new ETag("\"e2\"")));

        var ordered = pages.OrderBy(p => p.GetInt64("Page")).ToList();
        Assert.Equal(Describe(ordered), Describe(RollupSnapshot.Pages(snapshot, 0, 10)));
        Assert.Equal(Describe(ordered.Skip(1).Take(1)), Describe(RollupSnapshot.Pages(snapshot, 1, 1)));
        Assert.Empty(RollupSnapshot.Pages(snapshot, 3, 9));

        // No pages at the level: an empty snapshot, which answers "none".
        Assert.Empty(RollupSnapshot.Pages(RollupSnapshot.Build(Run, 1, "loss", new ETag("\"e1\""), [])!, 0, 10));
    }

    [Fact]
    public void Buckets_read_straight_from_a_snapshot_equal_those_of_its_pages_with_the_last_pages_watermark()
    {
        var pages = new[] { Page(1, 2, M4Page.CompactFormat, 900, 10), Page(1, 0, M4Page.FixedFormat, 300, 64), Page(1, 1, M4Page.CompactFormat, 800, 64) };
        var snapshot = RollupSnapshot.Build(Run, 1, "loss", new ETag("\"e1\""), pages)!;
        foreach (var (first, last, watermark) in new[] { (0L, 10L, 0L), (0L, 2L, 900L), (1L, 1L, 800L), (0L, 0L, 300L), (3L, 9L, 0L) })
        {
            var expected = new List<(long, M4Accumulator)>();
            foreach (var page in RollupSnapshot.Pages(snapshot, first, last))
            {
                M4Page.ReadBuckets(LineStream.PageFormat(page), M4Levels.Widths[1], page.GetInt64("Page")!.Value, LineCodec.ReadData(page), expected);
            }
            var actual = new List<(long, M4Accumulator)>();
            Assert.Equal(watermark, RollupSnapshot.ReadBuckets(snapshot, 1, first, last, actual));
            Assert.Equal(expected, actual);
        }
    }

    [Fact]
    public void Pages_larger_than_the_cap_are_not_snapshotted()
    {
        var many = Enumerable.Range(0, 400).Select(i => Page(0, i, M4Page.FixedFormat, 1, 64)).ToList();
        Assert.True(many.Sum(p => LineCodec.ReadData(p).Length) > RollupSnapshot.MaxBytes);
        Assert.Null(RollupSnapshot.Build(Run, 0, "loss", new ETag("\"e1\""), many));
    }

    [Fact]
    public void A_read_covers_the_run_only_from_its_first_to_its_last_steps_page()
    {
        // Level 4 (width 64): 4,096 steps a page.
        var extent = new M4RunExtent(5000, 20000, 100, M4Levels.LevelCount);
        Assert.True(RollupSnapshot.Covers(extent, 4, 1, 4));
        Assert.True(RollupSnapshot.Covers(extent, 4, 0, 9));
        Assert.False(RollupSnapshot.Covers(extent, 4, 2, 4));
        Assert.False(RollupSnapshot.Covers(extent, 4, 1, 3));
        // First step unknown (a state stored before it was recorded): only from page 0.
        Assert.False(RollupSnapshot.Covers(extent with { FirstStep = null }, 4, 1, 4));
        Assert.True(RollupSnapshot.Covers(extent with { FirstStep = null }, 4, 0, 4));
        // No data yet: nothing to snapshot.
        Assert.False(RollupSnapshot.Covers(new M4RunExtent(null, null, 0, M4Levels.LevelCount), 4, 0, 4));
    }
}
