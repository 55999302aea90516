using Weightless.Core.History;

namespace Weightless.Core.Tests.History;

public class M4Tests
{
    /// <summary>Level buckets as the store builds them: every point added to its bucket at the level, in any order.</summary>
    private static List<(long, M4Accumulator)> LevelBuckets(IEnumerable<M4Point> points, int level, Random random)
    {
        var buckets = new Dictionary<long, M4Accumulator>();
        foreach (var point in points.OrderBy(_ => random.Next()))
        {
            var index = M4Levels.BucketIndex(point.Step, level);
            buckets.TryGetValue(index, out var accumulator);
            accumulator.Add(point.Step, point.Value);
            buckets[index] = accumulator;
        }
        return buckets.Select(kv => (kv.Key, kv.Value)).ToList();
    }

    private static List<M4Point> Series(Random random, int kind, int count)
    {
        var points = new List<M4Point>(count);
        long step = random.Next(0, 5000);
        for (var i = 0; i < count; i++)
        {
            step += kind switch
            {
                2 => random.Next(0, 10) == 0 ? random.Next(1, 3000) : 1, // gaps
                3 => random.Next(1, 200),                               // sparse
                _ => 1,
            };
            var value = kind switch
            {
                1 => random.Next(0, 500) == 0 ? 1e9 * (random.Next(2) * 2 - 1) : Math.Sin(i / 50.0), // spikes
                4 => random.Next(0, 5) switch { 0 => double.NaN, 1 => double.PositiveInfinity, 2 => double.NegativeInfinity, _ => random.NextDouble() }, // mostly non-finite
                5 => random.Next(0, 3),                                 // many ties
                _ => random.NextDouble() * 100 - 50,
            };
            points.Add(new M4Point(step, value));
        }
        return points;
    }

    [Fact]
    public void Rollups_combined_with_raw_edges_equal_brute_force_on_random_and_adversarial_series()
    {
        var random = new Random(20261128);
        var cases = 0;
        for (var trial = 0; trial < 120; trial++)
        {
            var kind = trial % 6;
            var points = Series(random, kind, random.Next(1, 6000));
            var levels = Enumerable.Range(0, M4Levels.Widths.Length).Select(l => LevelBuckets(points, l, random)).ToArray();
            var last = points[^1].Step;
            for (var query = 0; query < 4; query++)
            {
                var min = random.Next(0, 3) == 0 ? 0 : random.NextInt64(0, last + 1);
                var max = random.Next(0, 3) == 0 ? last + random.Next(0, 100) : random.NextInt64(min, last + 200);
                var buckets = random.Next(1, 400);
                var plan = M4Levels.PlanQuery(min, max, buckets);
                var expected = M4Compute.BruteForce(points, plan);
                var actual = M4Compute.Combine(plan, plan.IsRaw ? [] : levels[plan.Level], points);
                Assert.Equal(expected, actual);
                Assert.True(expected.Count <= buckets);
                Assert.Equal(Math.Min(buckets, max - min + 1), plan.BucketCount);
                cases++;
            }
        }
        Assert.Equal(480, cases);
    }

    [Fact]
    public void Spikes_never_vanish_at_any_resolution()
    {
        var points = Enumerable.Range(0, 1_000_000).Select(i => new M4Point(i, i == 654_321 ? 1e6 : 1.0)).ToList();
        var random = new Random(7);
        var levels = Enumerable.Range(0, M4Levels.Widths.Length).Select(l => LevelBuckets(points, l, random)).ToArray();
        foreach (var buckets in new[] { 10, 100, 1000, 5000 })
        {
            var plan = M4Levels.PlanQuery(0, 999_999, buckets);
            var result = M4Compute.Combine(plan, plan.IsRaw ? [] : levels[plan.Level], points);
            Assert.Equal(buckets, result.Count);
            Assert.Contains(result, b => b.Max == new M4Point(654_321, 1e6));
            Assert.Equal(1_000_000, result.Sum(b => b.Count));
        }
    }

    [Fact]
    public void Plans_the_coarsest_level_that_gives_the_requested_resolution()
    {
        var plan = M4Levels.PlanQuery(0, 999_999, 1000);
        Assert.Equal(256, plan.LevelWidth);
        Assert.Equal(1000, plan.BucketCount);
        Assert.Equal(65536, M4Levels.PlanQuery(0, 100_000_000, 1000).LevelWidth);
        var raw = M4Levels.PlanQuery(10, 1000, 1000);
        Assert.True(raw.IsRaw);
        Assert.Equal(991, raw.BucketCount);
        Assert.Equal((10L, 11L), raw.Bounds(0));
        Assert.Equal((0, 0), raw.RollupSpan());
        Assert.Equal((16L, 4096L), M4Levels.PlanQuery(5, 4100, 200).RollupSpan());
    }

    [Theory]
    [InlineData(0, 999_999, 1000)]
    [InlineData(5, 4100, 200)]
    [InlineData(123, 987_654, 777)]
    [InlineData(0, 100_000_000, 1000)]
    [InlineData(17, 50, 7)]
    [InlineData(1_000_000, 1_000_000, 10)]
    public void Output_buckets_tile_the_range_with_level_aligned_boundaries_and_widths_within_one_level_bucket(long min, long max, int buckets)
    {
        var plan = M4Levels.PlanQuery(min, max, buckets);
        var cell = plan.IsRaw ? 1 : plan.LevelWidth;
        Assert.Equal(Math.Min(buckets, max - min + 1), plan.BucketCount);
        var expectedStart = min;
        var widths = new List<long>();
        for (var i = 0; i < plan.BucketCount; i++)
        {
            var (start, end) = plan.Bounds(i);
            Assert.Equal(expectedStart, start);
            Assert.True(end > start);
            Assert.True(start == min || start % cell == 0);
            Assert.True(end == max + 1 || end % cell == 0);
            Assert.Equal(i, plan.BucketOf(start));
            Assert.Equal(i, plan.BucketOf(end - 1));
            if (i > 0 && i < plan.BucketCount - 1)
            {
                widths.Add(end - start);
            }
            expectedStart = end;
        }
        Assert.Equal(max + 1, expectedStart);
        if (widths.Count > 0)
        {
            Assert.True(widths.Max() - widths.Min() <= cell);
        }
    }

    [Fact]
    public void Dense_series_answers_exactly_the_requested_bucket_count_and_matches_brute_force()
    {
        var random = new Random(11);
        var points = Enumerable.Range(3, 200_000).Select(i => new M4Point(i, random.NextDouble())).ToList();
        var levels = Enumerable.Range(0, M4Levels.Widths.Length).Select(l => LevelBuckets(points, l, random)).ToArray();
        foreach (var (min, max, buckets) in new[] { (3L, 200_002L, 1000), (1000L, 150_000L, 333), (77L, 9_000L, 500), (0L, 200_002L, 12_500) })
        {
            var plan = M4Levels.PlanQuery(min, max, buckets);
            var actual = M4Compute.Combine(plan, plan.IsRaw ? [] : levels[plan.Level], points);
            Assert.Equal(buckets, actual.Count);
            Assert.Equal(M4Compute.BruteForce(points, plan), actual);
            Assert.Equal(points.Count(p => p.Step >= min && p.Step <= max), actual.Sum(b => b.Count));
        }
    }

    [Fact]
    public void Non_finite_values_are_counted_but_never_drawn()
    {
        var accumulator = default(M4Accumulator);
        accumulator.Add(1, double.NaN);
        accumulator.Add(2, double.PositiveInfinity);
        Assert.Equal(new M4Bucket(0, 16, 2, 2, null, null, null, null), accumulator.ToBucket(0, 16));
        accumulator.Add(3, 5);
        accumulator.Add(4, -1);
        accumulator.Add(5, 5);
        var bucket = accumulator.ToBucket(0, 16);
        Assert.Equal(5, bucket.Count);
        Assert.Equal(2, bucket.NonFiniteCount);
        Assert.Equal(new M4Point(3, 5), bucket.First);
        Assert.Equal(new M4Point(5, 5), bucket.Last);
        Assert.Equal(new M4Point(4, -1), bucket.Min);
        Assert.Equal(new M4Point(3, 5), bucket.Max); // ties: earliest step
    }

    [Fact]
    public void Merging_is_order_independent()
    {
        var random = new Random(11);
        for (var trial = 0; trial < 200; trial++)
        {
            var points = Series(random, trial % 6, random.Next(1, 300));
            var sequential = default(M4Accumulator);
            foreach (var p in points)
            {
                sequential.Add(p.Step, p.Value);
            }
            var parts = points.OrderBy(_ => random.Next()).Chunk(random.Next(1, 20)).Select(chunk =>
            {
                var part = default(M4Accumulator);
                foreach (var p in chunk)
                {
                    part.Add(p.Step, p.Value);
                }
                return part;
            }).OrderBy(_ => random.Next());
            var merged = default(M4Accumulator);
            foreach (var part in parts)
            {
                merged.Merge(part);
            }
            Assert.Equal(sequential.ToBucket(0, 1), merged.ToBucket(0, 1));
        }
    }

    [Theory]
    [InlineData(M4Page.FixedFormat)]
    [InlineData(M4Page.CompactFormat)]
    public void Pages_round_trip(int format)
    {
        var slots = new SortedDictionary<int, M4Accumulator>();
        var a = default(M4Accumulator);
        a.Add(7 * 16 + 1, 2.5);
        a.Add(7 * 16 + 2, double.NaN);
        a.Add(7 * 16 + 4, -3);
        slots[1] = a;
        var b = default(M4Accumulator);
        b.Add(7 * 16 * 64 + 63 * 16 + 15, double.NegativeInfinity);
        slots[63] = b;
        var bytes = new M4Page(99, slots).Serialize(format, 16, 7);
        var page = M4Page.Deserialize(format, 99, 16, 7, bytes);
        Assert.Equal(99, page.AppliedThrough);
        Assert.Equal(slots.Select(kv => (kv.Key, kv.Value.ToBucket(0, 1))), page.Slots.Select(kv => (kv.Key, kv.Value.ToBucket(0, 1))));
    }

    [Fact]
    public void Compact_pages_round_trip_every_level_bucket_of_random_series_and_are_at_most_half_the_fixed_size()
    {
        var random = new Random(29);
        long compactBytes = 0, fixedBytes = 0;
        for (var trial = 0; trial < 60; trial++)
        {
            var points = Series(random, trial % 6, random.Next(1, 4000));
            for (var level = 0; level < M4Levels.Widths.Length; level++)
            {
                var width = M4Levels.Widths[level];
                foreach (var page in LevelBuckets(points, level, random).GroupBy(b => M4Levels.PageIndex(b.Item1)))
                {
                    var slots = new SortedDictionary<int, M4Accumulator>(page.ToDictionary(b => (int)(b.Item1 - page.Key * M4Levels.PageSlots), b => b.Item2));
                    var stored = new M4Page(5, slots);
                    var compact = stored.Serialize(M4Page.CompactFormat, width, page.Key);
                    compactBytes += compact.Length;
                    fixedBytes += stored.Serialize(M4Page.FixedFormat, width, page.Key).Length;
                    var read = new List<(long, M4Accumulator)>();
                    M4Page.ReadBuckets(M4Page.CompactFormat, width, page.Key, compact, read);
                    Assert.Equal(page.OrderBy(b => b.Item1).Select(b => (b.Item1, b.Item2.ToBucket(0, 1))), read.Select(b => (b.Item1, b.Item2.ToBucket(0, 1))));
                }
            }
        }
        Assert.True(compactBytes * 2 <= fixedBytes, $"compact {compactBytes} B vs fixed {fixedBytes} B");
    }

    /// <summary>
    /// 120 random series of every kind, each with its rollup (not raw) plans for 4 random ranges that reach past
    /// the data's ends (the chart's default range) or cut into it, NoDataBefore/NoDataAfter set as the store sets them.
    /// </summary>
    private static IEnumerable<(List<M4Point> Points, List<M4Levels.Plan> Plans)> RollupCases(Random random)
    {
        for (var trial = 0; trial < 120; trial++)
        {
            var points = Series(random, trial % 6, random.Next(2, 6000));
            var first = points[0].Step;
            var last = points[^1].Step;
            var plans = new List<M4Levels.Plan>();
            for (var query = 0; query < 4; query++)
            {
                var min = random.Next(0, 2) == 0 ? random.NextInt64(0, first + 1) : random.NextInt64(0, last + 1);
                var max = random.Next(0, 2) == 0 ? last + random.Next(0, 100) : random.NextInt64(min, last + 200);
                var plan = M4Levels.PlanQuery(min, max, random.Next(1, 60));
                if (!plan.IsRaw)
                {
                    plans.Add(plan with { NoDataBefore = min <= first, NoDataAfter = max >= last });
                }
            }
            yield return (points, plans);
        }
    }

    [Fact]
    public void Edge_level_buckets_past_the_range_are_served_from_rollups_exactly_when_the_run_has_no_data_beyond()
    {
        var random = new Random(1129);
        var cases = 0;
        foreach (var (points, plans) in RollupCases(random))
        {
            var levels = Enumerable.Range(0, M4Levels.Widths.Length).Select(l => LevelBuckets(points, l, random)).ToArray();
            foreach (var plan in plans)
            {
                var (start, end) = plan.RollupSpan();
                Assert.True(start >= end || ((!plan.NoDataBefore || start <= plan.MinStep) && (!plan.NoDataAfter || end > plan.MaxStep)));
                // Raw points only where the rollup does not reach: none at all when the range encloses the data.
                var raw = points.Where(p => p.Step < start || p.Step >= end).ToList();
                Assert.Equal(M4Compute.BruteForce(points, plan), M4Compute.Combine(plan, levels[plan.Level], raw));
                cases++;
            }
        }
        Assert.True(cases > 150, $"{cases} rollup plans");
    }

    [Fact]
    public void Rollups_behind_a_watermark_combined_with_raw_rows_after_it_equal_brute_force()
    {
        // Pages hold only the points through the rollup watermark's last step (a writer's pending rollups are
        // not written yet): the span ends there, mid-bucket, and raw rows supply every later step.
        var random = new Random(20261129);
        var cases = 0;
        foreach (var (points, plans) in RollupCases(random))
        {
            var watermark = points[random.Next(0, points.Count)].Step;
            var folded = points.Where(p => p.Step <= watermark).ToList();
            var levels = Enumerable.Range(0, M4Levels.Widths.Length).Select(l => LevelBuckets(folded, l, random)).ToArray();
            foreach (var plan in plans)
            {
                var (start, end) = plan.RollupSpan();
                end = Math.Min(end, watermark + 1);
                var raw = points.Where(p => p.Step < start || p.Step >= end).ToList();
                Assert.Equal(M4Compute.BruteForce(points, plan), M4Compute.Combine(plan, start, end, levels[plan.Level], raw));
                cases++;
            }
        }
        Assert.True(cases > 150, $"{cases} rollup plans");
    }

    [Fact]
    public void Runs_with_the_legacy_level_set_are_planned_with_its_widths_only()
    {
        Assert.Equal(64, M4Levels.PlanQuery(0, 99_999, 1000).LevelWidth);
        Assert.Equal(16, M4Levels.PlanQuery(0, 99_999, 1000, M4Levels.LegacyLevelCount).LevelWidth);
        Assert.Equal(64, M4Levels.PlanQuery(0, 255_998, 1000).LevelWidth);
        Assert.Equal(256, M4Levels.PlanQuery(0, 255_999, 1000).LevelWidth);
        Assert.Equal(4096, M4Levels.PlanQuery(0, 20_000_000, 1000).LevelWidth);
        var random = new Random(3);
        for (var buckets = 1; buckets < 5000; buckets = buckets * 3 + 1)
        {
            var plan = M4Levels.PlanQuery(random.Next(0, 1000), random.Next(1000, 50_000_000), buckets, M4Levels.LegacyLevelCount);
            Assert.True(plan.IsRaw || plan.Level < M4Levels.LegacyLevelCount);
        }
    }

    [Fact]
    public void Even_sampling_keeps_first_and_last()
    {
        var items = Enumerable.Range(0, 1000).ToList();
        var sample = HistoryStore.EvenSample(items, 7);
        Assert.Equal([0, 167, 333, 500, 666, 833, 999], sample);
        Assert.Equal(items.Take(5), HistoryStore.EvenSample(items.Take(5).ToList(), 7));
        Assert.Equal(7, HistoryStore.EvenSample(items.Take(8).ToList(), 7).Distinct().Count());
    }
}
