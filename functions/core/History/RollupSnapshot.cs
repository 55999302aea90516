using System.Buffers;
using System.Globalization;
using Azure;
using Azure.Data.Tables;
using Weightless.Core.Runs;

namespace Weightless.Core.History;

/// <summary>
/// A stored copy of all of one metric's rollup pages at one level, row key <c>n:{level}:{metric}</c> in the
/// run's history partition, tagged with the ETag of the run's derived state it was read under. It is what
/// <see cref="RollupPageCache"/> is in memory, kept in the table: every history change (a post, a rewind, a
/// rebuild) commits a new state ETag after writing its pages, so a snapshot is used only while the state still
/// carries its ETag, and then holds exactly the pages a range query would return.
/// Why: on Azurite every table query scans the whole table (its cost grows with everything stored next to the
/// run), while a point read is indexed; a chart of finished runs thus costs one point read per run and metric
/// instead of one range query per run. On Azure it also saves the query (billed per call, slower than a point
/// read) and costs one small write per metric on the first cold read after a change.
/// Data: per page, ascending: varint page index, varint page watermark (<c>Applied</c>), varint page format,
/// varint byte length, the page's stored bytes (unchanged, so both page formats travel as they are).
/// </summary>
internal static class RollupSnapshot
{
    /// <summary>
    /// Snapshot bytes at most: a metric whose pages at a level are larger (millions of steps at the finest
    /// levels) is not snapshotted. Azure allows 1 MiB per entity; Azurite counts binary properties base64-encoded.
    /// </summary>
    public const int MaxBytes = 512 * 1024;

    public static string RowKey(int level, string metric) =>
        "n:" + level.ToString(CultureInfo.InvariantCulture) + ":" + LineStream.MetricKey(metric);

    /// <summary>Whether <paramref name="snapshot"/> was taken under the state ETag the reader holds.</summary>
    public static bool IsCurrent(TableEntity snapshot, ETag stateETag) =>
        string.Equals(snapshot.GetString("StateETag"), stateETag.ToString(), StringComparison.Ordinal);

    /// <summary>
    /// Whether pages [firstPage, lastPage] hold all of a run's pages at <paramref name="level"/> (its first to its
    /// last step per <paramref name="extent"/>; from page 0 when the first step is unknown).
    /// </summary>
    public static bool Covers(M4RunExtent extent, int level, long firstPage, long lastPage) =>
        extent.LastStep is { } last
        && firstPage <= M4Levels.PageIndex(M4Levels.BucketIndex(extent.FirstStep ?? 0, level))
        && lastPage >= M4Levels.PageIndex(M4Levels.BucketIndex(last, level));

    /// <summary>The snapshot of <paramref name="pages"/> (one metric's pages at one level; none when the metric has none there), or null when too large.</summary>
    public static TableEntity? Build(RunKey run, int level, string metric, ETag stateETag, IEnumerable<TableEntity> pages)
    {
        var buffer = new ArrayBufferWriter<byte>();
        foreach (var page in pages.OrderBy(p => p.GetInt64("Page") ?? 0))
        {
            var data = LineCodec.ReadData(page);
            LineCodec.WriteVarint(buffer, (ulong)(page.GetInt64("Page") ?? 0));
            LineCodec.WriteVarint(buffer, (ulong)(page.GetInt64("Applied") ?? 0));
            LineCodec.WriteVarint(buffer, (ulong)LineStream.PageFormat(page));
            LineCodec.WriteVarint(buffer, (ulong)data.Length);
            buffer.Write(data);
            if (buffer.WrittenCount > MaxBytes)
            {
                return null;
            }
        }
        var entity = new TableEntity(run.PartitionKey, RowKey(level, metric))
        {
            ["Metric"] = metric,
            ["Level"] = level,
            ["StateETag"] = stateETag.ToString(),
        };
        LineCodec.WriteData(entity, buffer.WrittenSpan.ToArray());
        return entity;
    }

    /// <summary>
    /// Adds the level buckets of the snapshot's pages in [firstPage, lastPage] to <paramref name="into"/>, decoded
    /// straight from its bytes (what <see cref="Pages"/> and decoding each page gives, without the page entities);
    /// returns the watermark of page <paramref name="lastPage"/> (0 when the snapshot has no such page).
    /// </summary>
    public static long ReadBuckets(TableEntity snapshot, int level, long firstPage, long lastPage, List<(long BucketIndex, M4Accumulator Aggregate)> into)
    {
        var data = LineCodec.ReadData(snapshot);
        var width = M4Levels.Widths[level];
        long lastPageApplied = 0;
        foreach (var entry in Entries(data, firstPage, lastPage))
        {
            M4Page.ReadBuckets(entry.Format, width, entry.Page, data.AsSpan(entry.Offset, entry.Length), into);
            if (entry.Page == lastPage)
            {
                lastPageApplied = entry.Applied;
            }
        }
        return lastPageApplied;
    }

    /// <summary>The snapshot's pages in [firstPage, lastPage], as page entities (what a range query returns).</summary>
    public static IEnumerable<TableEntity> Pages(TableEntity snapshot, long firstPage, long lastPage)
    {
        var metric = snapshot.GetString("Metric");
        var level = snapshot.GetInt32("Level") ?? 0;
        var data = LineCodec.ReadData(snapshot);
        var pages = new List<TableEntity>();
        foreach (var entry in Entries(data, firstPage, lastPage))
        {
            var entity = new TableEntity(snapshot.PartitionKey, LineStream.PageKey(level, entry.Page, metric ?? ""))
            {
                ["Applied"] = entry.Applied,
                ["Metric"] = metric,
                ["Level"] = level,
                ["Page"] = entry.Page,
                ["Format"] = entry.Format,
            };
            LineCodec.WriteData(entity, data.AsSpan(entry.Offset, entry.Length).ToArray());
            pages.Add(entity);
        }
        return pages;
    }

    /// <summary>The entries of snapshot bytes for pages in [firstPage, lastPage] (pages are stored ascending), each with where its page bytes are.</summary>
    private static List<(long Page, long Applied, int Format, int Offset, int Length)> Entries(byte[] data, long firstPage, long lastPage)
    {
        var entries = new List<(long, long, int, int, int)>();
        var position = 0;
        while (position < data.Length)
        {
            var page = (long)LineCodec.ReadVarint(data, ref position);
            var applied = (long)LineCodec.ReadVarint(data, ref position);
            var format = (int)LineCodec.ReadVarint(data, ref position);
            var length = (int)LineCodec.ReadVarint(data, ref position);
            if (page > lastPage)
            {
                break;
            }
            if (page >= firstPage)
            {
                entries.Add((page, applied, format, position, length));
            }
            position += length;
        }
        return entries;
    }
}
