using System.Buffers.Binary;

namespace Weightless.Core.History;

/// <summary>A value of a metric at a step.</summary>
internal readonly record struct M4Point(long Step, double Value);

/// <summary>
/// M4 summary of one metric over the steps [<see cref="StartStep"/>, <see cref="EndStep"/>):
/// the first, last, minimum and maximum point plus how many values fell in it. NaN and
/// infinities are counted (<see cref="Count"/> and <see cref="NonFiniteCount"/>) but never become
/// first/last/min/max, so a chart never has to draw them; a bucket holding only non-finite values
/// has null points. Ties: the minimum/maximum is the earliest step holding that value.
/// </summary>
internal sealed record M4Bucket(long StartStep, long EndStep, long Count, long NonFiniteCount, M4Point? First, M4Point? Last, M4Point? Min, M4Point? Max);

/// <summary>A mutable M4 aggregate. Adding points and merging aggregates are commutative and associative.</summary>
internal struct M4Accumulator
{
    public long Count;
    public long NonFiniteCount;
    public bool HasPoints;
    public M4Point First;
    public M4Point Last;
    public M4Point Min;
    public M4Point Max;

    public readonly bool IsEmpty => Count == 0;

    public void Add(long step, double value)
    {
        Count++;
        if (!double.IsFinite(value))
        {
            NonFiniteCount++;
            return;
        }
        var point = new M4Point(step, value);
        if (!HasPoints)
        {
            HasPoints = true;
            First = Last = Min = Max = point;
            return;
        }
        MergePoints(point, point, point, point);
    }

    public void Merge(in M4Accumulator other)
    {
        Count += other.Count;
        NonFiniteCount += other.NonFiniteCount;
        if (!other.HasPoints)
        {
            return;
        }
        if (!HasPoints)
        {
            HasPoints = true;
            First = other.First;
            Last = other.Last;
            Min = other.Min;
            Max = other.Max;
            return;
        }
        MergePoints(other.First, other.Last, other.Min, other.Max);
    }

    private void MergePoints(M4Point first, M4Point last, M4Point min, M4Point max)
    {
        if (first.Step < First.Step)
        {
            First = first;
        }
        if (last.Step > Last.Step)
        {
            Last = last;
        }
        if (min.Value < Min.Value || (min.Value == Min.Value && min.Step < Min.Step))
        {
            Min = min;
        }
        if (max.Value > Max.Value || (max.Value == Max.Value && max.Step < Max.Step))
        {
            Max = max;
        }
    }

    public readonly M4Bucket ToBucket(long startStep, long endStep) =>
        HasPoints
            ? new M4Bucket(startStep, endStep, Count, NonFiniteCount, First, Last, Min, Max)
            : new M4Bucket(startStep, endStep, Count, NonFiniteCount, null, null, null, null);
}

/// <summary>
/// Rollup resolutions and query planning.
/// Levels are fixed step widths, stored by level id: ids 0-3 are 16, 256, 4,096 and 65,536 (the
/// level set of runs stored before 2026-11-29, <see cref="LegacyLevelCount"/>); id 4 adds 64, so a
/// run of 64k-256k steps (W&amp;B's guidance is 100,000 points per metric) charted at 1,000 buckets
/// reads width-64 instead of width-16 buckets: 4x fewer. It costs one more page write per metric and
/// post; more intermediate levels (1,024, 16,384) would serve only multi-million-step runs and push
/// a 10-metric post's pages past one 100-entity transaction, which costs the ingest path its page
/// cache (measured: ~30% fewer rows/s). A run's derived state records its level count (<c>Levels</c>), so
/// older runs are planned with the levels they have.
/// Widths are absolute (bucket i of width w covers [i*w, (i+1)*w)), so every level nests exactly
/// in any coarser one and a bucket never changes once its steps are past.
/// Ranges narrower than 16 x the requested buckets are answered from raw rows.
/// </summary>
internal static class M4Levels
{
    public static readonly long[] Widths = [16, 256, 4096, 65536, 64];

    /// <summary>Levels of runs whose state has no level count: ids 0-3.</summary>
    public const int LegacyLevelCount = 4;

    /// <summary>Levels of runs stored now: every id in <see cref="Widths"/>.</summary>
    public const int LevelCount = 5;

    /// <summary>Buckets per stored page entity (64: a page is at most ~4.7 KiB, so an append rewrites little).</summary>
    public const int PageSlots = 64;

    /// <summary>
    /// The query's shape: which level (-1 = raw rows only) and how its cells (level buckets, or single
    /// steps for raw plans) are grouped into <see cref="BucketCount"/> output buckets. The range's cells
    /// [FirstCell, FirstCell + CellCount) are split evenly: output bucket i holds cells
    /// [floor(i*n/B), floor((i+1)*n/B)), so widths differ by at most one cell and every boundary is
    /// cell-aligned — a whole level bucket always lands in exactly one output bucket, which keeps
    /// first/min/max/last exact.
    /// <see cref="NoDataBefore"/> / <see cref="NoDataAfter"/>: the run has no row below MinStep / above
    /// MaxStep, so the level bucket holding MinStep / MaxStep — partly outside the range — holds only
    /// steps inside it and is served from the rollup instead of raw rows.
    /// </summary>
    public readonly record struct Plan(int Level, long LevelWidth, int BucketCount, long FirstCell, long CellCount, long MinStep, long MaxStep, bool NoDataBefore = false, bool NoDataAfter = false)
    {
        public bool IsRaw => Level < 0;

        private long CellWidth => IsRaw ? 1 : LevelWidth;

        /// <summary>The output bucket (0..BucketCount-1) holding <paramref name="step"/> (a step in [MinStep, MaxStep]).</summary>
        public int BucketOf(long step)
        {
            var cell = (Int128)(FloorDiv(step, CellWidth) - FirstCell);
            return (int)(((cell + 1) * BucketCount - 1) / CellCount);
        }

        /// <summary>The steps output bucket <paramref name="bucket"/> covers, clipped to the range: [Start, End).</summary>
        public (long Start, long End) Bounds(int bucket)
        {
            var startCell = FirstCell + (long)((Int128)bucket * CellCount / BucketCount);
            var endCell = FirstCell + (long)((Int128)(bucket + 1) * CellCount / BucketCount);
            return (Math.Max(startCell * CellWidth, MinStep), Math.Min(endCell * CellWidth, MaxStep + 1));
        }

        /// <summary>
        /// The steps served by level buckets: [start, end), the level buckets wholly inside [MinStep, MaxStep]
        /// plus an edge bucket reaching past the range where the run has no data beyond it.
        /// </summary>
        public (long Start, long End) RollupSpan()
        {
            if (IsRaw)
            {
                return (0, 0);
            }
            var start = (NoDataBefore ? FloorDiv(MinStep, LevelWidth) : CeilDiv(MinStep, LevelWidth)) * LevelWidth;
            var end = (NoDataAfter ? FloorDiv(MaxStep, LevelWidth) + 1 : FloorDiv(MaxStep + 1, LevelWidth)) * LevelWidth;
            return start < end ? (start, end) : (0, 0);
        }
    }

    /// <summary>
    /// The coarsest of the first <paramref name="levelCount"/> levels whose width is at most range /
    /// <paramref name="buckets"/> (so the range holds at least that many level buckets), its buckets
    /// merged into exactly <paramref name="buckets"/> output buckets; raw steps when even the finest
    /// level is too coarse (fewer buckets only when the range has fewer steps than requested).
    /// </summary>
    public static Plan PlanQuery(long minStep, long maxStep, int buckets, int levelCount = LevelCount)
    {
        buckets = Math.Max(1, buckets);
        levelCount = Math.Min(levelCount, Widths.Length);
        var span = maxStep - minStep + 1;
        var best = -1;
        for (var level = 0; level < levelCount; level++)
        {
            if (span / Widths[level] >= buckets && (best < 0 || Widths[level] > Widths[best]))
            {
                best = level;
            }
        }
        if (best < 0)
        {
            return new Plan(-1, 1, (int)Math.Min(buckets, span), minStep, span, minStep, maxStep);
        }
        var width = Widths[best];
        var firstCell = FloorDiv(minStep, width);
        var cells = FloorDiv(maxStep, width) - firstCell + 1;
        return new Plan(best, width, buckets, firstCell, cells, minStep, maxStep);
    }

    public static long BucketIndex(long step, int level) => FloorDiv(step, Widths[level]);

    public static long PageIndex(long bucketIndex) => FloorDiv(bucketIndex, PageSlots);

    public static long FloorDiv(long a, long b) => a >= 0 ? a / b : -((-a + b - 1) / b);

    public static long CeilDiv(long a, long b) => -FloorDiv(-a, b);
}

/// <summary>
/// Brute-force and combining M4 over points, shared by the store (edges, raw plans) and the tests
/// (as the reference the rollups must match exactly).
/// </summary>
internal static class M4Compute
{
    /// <summary>M4 of <paramref name="points"/> (ascending steps) in [minStep, maxStep] under <paramref name="plan"/>'s output buckets; empty buckets omitted.</summary>
    public static List<M4Bucket> BruteForce(IEnumerable<M4Point> points, M4Levels.Plan plan)
    {
        var buckets = new M4Accumulator[plan.BucketCount];
        foreach (var point in points)
        {
            if (point.Step < plan.MinStep || point.Step > plan.MaxStep)
            {
                continue;
            }
            buckets[plan.BucketOf(point.Step)].Add(point.Step, point.Value);
        }
        return Finish(buckets, plan);
    }

    /// <summary>
    /// The exact M4 under <paramref name="plan"/> from level buckets (index at the plan's level, aggregate)
    /// and raw points: level buckets count only when wholly inside the range, raw points only outside
    /// the part those cover. This is what the store answers with; the tests hold it to <see cref="BruteForce"/>.
    /// </summary>
    public static List<M4Bucket> Combine(M4Levels.Plan plan, IEnumerable<(long BucketIndex, M4Accumulator Aggregate)> levelBuckets, IEnumerable<M4Point> rawPoints)
    {
        var (rollupStart, rollupEnd) = plan.RollupSpan();
        return Combine(plan, rollupStart, rollupEnd, levelBuckets, rawPoints);
    }

    /// <summary>
    /// As <see cref="Combine(M4Levels.Plan, IEnumerable{ValueTuple{long, M4Accumulator}}, IEnumerable{M4Point})"/>
    /// with level buckets serving steps [rollupStart, rollupEnd) (inside the plan's span): an end inside a level
    /// bucket means that bucket holds only its steps before the end (rollups behind a watermark) and raw points
    /// supply the rest of it.
    /// </summary>
    public static List<M4Bucket> Combine(M4Levels.Plan plan, long rollupStart, long rollupEnd, IEnumerable<(long BucketIndex, M4Accumulator Aggregate)> levelBuckets, IEnumerable<M4Point> rawPoints)
    {
        var result = new M4Accumulator[plan.BucketCount];
        if (rollupStart < rollupEnd)
        {
            var firstBucket = M4Levels.FloorDiv(rollupStart, plan.LevelWidth);
            var lastBucket = M4Levels.FloorDiv(rollupEnd - 1, plan.LevelWidth);
            foreach (var (index, aggregate) in levelBuckets)
            {
                if (index >= firstBucket && index <= lastBucket)
                {
                    result[plan.BucketOf(index * plan.LevelWidth)].Merge(aggregate);
                }
            }
        }
        foreach (var point in rawPoints)
        {
            if (point.Step < plan.MinStep || point.Step > plan.MaxStep || (point.Step >= rollupStart && point.Step < rollupEnd))
            {
                continue;
            }
            result[plan.BucketOf(point.Step)].Add(point.Step, point.Value);
        }
        return Finish(result, plan);
    }

    /// <summary>The non-empty output buckets, in order, with their step bounds.</summary>
    public static List<M4Bucket> Finish(M4Accumulator[] buckets, M4Levels.Plan plan)
    {
        var result = new List<M4Bucket>();
        for (var i = 0; i < buckets.Length; i++)
        {
            if (buckets[i].IsEmpty)
            {
                continue;
            }
            var (start, end) = plan.Bounds(i);
            result.Add(buckets[i].ToBucket(start, end));
        }
        return result;
    }
}

/// <summary>
/// One stored page of level buckets of one metric: up to <see cref="M4Levels.PageSlots"/> buckets,
/// plus the line watermark it has absorbed (rows with a line index below <see cref="AppliedThrough"/>
/// are in it), which is what makes re-applying a re-sent chunk a no-op.
/// Two byte formats, told apart by the page entity's <c>Format</c> property:
/// <see cref="FixedFormat"/> (pages written before 2026-11-29, no property): 83 bytes per bucket;
/// <see cref="CompactFormat"/>: per bucket varints for slot, count and non-finite count, a flags byte,
/// then only the distinct points (a bucket's min and max are often its first or last), each as a
/// varint step offset from the bucket's start and the 8-byte value — 20-45 bytes instead of 83.
/// </summary>
internal sealed class M4Page
{
    public const int FixedFormat = 1;
    public const int CompactFormat = 2;

    private const int FixedEntryBytes = 2 + 8 + 8 + 1 + 4 * 16;

    private const byte HasPointsFlag = 1;
    private const byte LastIsFirst = 2;
    private const byte MinIsFirst = 4;
    private const byte MinIsLast = 8;
    private const byte MaxIsFirst = 16;
    private const byte MaxIsLast = 32;

    public M4Page(long appliedThrough, SortedDictionary<int, M4Accumulator> slots)
    {
        AppliedThrough = appliedThrough;
        Slots = slots;
    }

    public long AppliedThrough { get; set; }

    public SortedDictionary<int, M4Accumulator> Slots { get; }

    public M4Page Clone() => new(AppliedThrough, new SortedDictionary<int, M4Accumulator>(Slots));

    /// <summary>The page's bytes in <paramref name="format"/>; <paramref name="width"/> and <paramref name="pageIndex"/> place its buckets (compact steps are bucket-relative).</summary>
    public byte[] Serialize(int format, long width, long pageIndex)
    {
        if (format == FixedFormat)
        {
            return SerializeFixed();
        }
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(Slots.Count * 32 + 16);
        foreach (var (slot, a) in Slots)
        {
            var bucketStart = (pageIndex * M4Levels.PageSlots + slot) * width;
            LineCodec.WriteVarint(buffer, (ulong)slot);
            LineCodec.WriteVarint(buffer, (ulong)a.Count);
            LineCodec.WriteVarint(buffer, (ulong)a.NonFiniteCount);
            byte flags = 0;
            if (a.HasPoints)
            {
                flags = HasPointsFlag;
                flags |= a.Last.Step == a.First.Step ? LastIsFirst : (byte)0;
                flags |= a.Min.Step == a.First.Step ? MinIsFirst : a.Min.Step == a.Last.Step ? MinIsLast : (byte)0;
                flags |= a.Max.Step == a.First.Step ? MaxIsFirst : a.Max.Step == a.Last.Step ? MaxIsLast : (byte)0;
            }
            buffer.GetSpan(1)[0] = flags;
            buffer.Advance(1);
            if (!a.HasPoints)
            {
                continue;
            }
            WritePoint(buffer, a.First, bucketStart);
            if ((flags & LastIsFirst) == 0)
            {
                WritePoint(buffer, a.Last, bucketStart);
            }
            if ((flags & (MinIsFirst | MinIsLast)) == 0)
            {
                WritePoint(buffer, a.Min, bucketStart);
            }
            if ((flags & (MaxIsFirst | MaxIsLast)) == 0)
            {
                WritePoint(buffer, a.Max, bucketStart);
            }
        }
        return buffer.WrittenSpan.ToArray();

        static void WritePoint(System.Buffers.ArrayBufferWriter<byte> buffer, M4Point point, long bucketStart)
        {
            LineCodec.WriteVarint(buffer, (ulong)(point.Step - bucketStart));
            BinaryPrimitives.WriteDoubleLittleEndian(buffer.GetSpan(8), point.Value);
            buffer.Advance(8);
        }
    }

    private byte[] SerializeFixed()
    {
        var data = new byte[Slots.Count * FixedEntryBytes];
        var span = data.AsSpan();
        foreach (var (slot, a) in Slots)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(span, (ushort)slot);
            BinaryPrimitives.WriteInt64LittleEndian(span[2..], a.Count);
            BinaryPrimitives.WriteInt64LittleEndian(span[10..], a.NonFiniteCount);
            span[18] = a.HasPoints ? (byte)1 : (byte)0;
            var p = span[19..];
            foreach (var point in new[] { a.First, a.Last, a.Min, a.Max })
            {
                BinaryPrimitives.WriteInt64LittleEndian(p, point.Step);
                BinaryPrimitives.WriteDoubleLittleEndian(p[8..], point.Value);
                p = p[16..];
            }
            span = span[FixedEntryBytes..];
        }
        return data;
    }

    public static M4Page Deserialize(int format, long appliedThrough, long width, long pageIndex, ReadOnlySpan<byte> data)
    {
        var slots = new SortedDictionary<int, M4Accumulator>();
        var buckets = new List<(long BucketIndex, M4Accumulator Aggregate)>();
        ReadBuckets(format, width, pageIndex, data, buckets);
        var baseIndex = pageIndex * M4Levels.PageSlots;
        foreach (var (index, aggregate) in buckets)
        {
            slots[(int)(index - baseIndex)] = aggregate;
        }
        return new M4Page(appliedThrough, slots);
    }

    /// <summary>
    /// Appends a stored page's buckets to <paramref name="into"/> as (level bucket index, aggregate)
    /// straight from the bytes — the read path needs neither the watermark nor a sorted copy.
    /// </summary>
    public static void ReadBuckets(int format, long width, long pageIndex, ReadOnlySpan<byte> data, List<(long BucketIndex, M4Accumulator Aggregate)> into)
    {
        var baseIndex = pageIndex * M4Levels.PageSlots;
        if (format == FixedFormat)
        {
            while (data.Length >= FixedEntryBytes)
            {
                var (slot, accumulator) = ReadFixedEntry(data);
                into.Add((baseIndex + slot, accumulator));
                data = data[FixedEntryBytes..];
            }
            return;
        }
        var position = 0;
        while (position < data.Length)
        {
            var index = baseIndex + (long)LineCodec.ReadVarint(data, ref position);
            var bucketStart = index * width;
            var a = new M4Accumulator
            {
                Count = (long)LineCodec.ReadVarint(data, ref position),
                NonFiniteCount = (long)LineCodec.ReadVarint(data, ref position),
            };
            var flags = data[position++];
            if ((flags & HasPointsFlag) != 0)
            {
                a.HasPoints = true;
                a.First = ReadPoint(data, ref position, bucketStart);
                a.Last = (flags & LastIsFirst) != 0 ? a.First : ReadPoint(data, ref position, bucketStart);
                a.Min = (flags & MinIsFirst) != 0 ? a.First : (flags & MinIsLast) != 0 ? a.Last : ReadPoint(data, ref position, bucketStart);
                a.Max = (flags & MaxIsFirst) != 0 ? a.First : (flags & MaxIsLast) != 0 ? a.Last : ReadPoint(data, ref position, bucketStart);
            }
            into.Add((index, a));
        }

        static M4Point ReadPoint(ReadOnlySpan<byte> data, ref int position, long bucketStart)
        {
            var step = bucketStart + (long)LineCodec.ReadVarint(data, ref position);
            var value = BinaryPrimitives.ReadDoubleLittleEndian(data[position..]);
            position += 8;
            return new M4Point(step, value);
        }
    }

    private static (int Slot, M4Accumulator Accumulator) ReadFixedEntry(ReadOnlySpan<byte> data)
    {
        var a = new M4Accumulator
        {
            Count = BinaryPrimitives.ReadInt64LittleEndian(data[2..]),
            NonFiniteCount = BinaryPrimitives.ReadInt64LittleEndian(data[10..]),
            HasPoints = data[18] == 1,
        };
        var p = data[19..];
        a.First = ReadPoint(ref p);
        a.Last = ReadPoint(ref p);
        a.Min = ReadPoint(ref p);
        a.Max = ReadPoint(ref p);
        return (BinaryPrimitives.ReadUInt16LittleEndian(data), a);

        static M4Point ReadPoint(ref ReadOnlySpan<byte> p)
        {
            var point = new M4Point(BinaryPrimitives.ReadInt64LittleEndian(p), BinaryPrimitives.ReadDoubleLittleEndian(p[8..]));
            p = p[16..];
            return point;
        }
    }
}
