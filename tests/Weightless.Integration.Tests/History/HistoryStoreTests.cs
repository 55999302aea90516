using Weightless.Core.History;
using Weightless.Core.Runs;

namespace Weightless.Integration.Tests.History;

public class HistoryStoreTests
{
    private readonly HistoryTestContext _context = new();

    private HistoryStore History => _context.History;

    private static List<(long Offset, List<string> Lines)> Posts(int posts, int linesPerPost) =>
        Enumerable.Range(0, posts).Select(p => ((long)p * linesPerPost, HistoryTestContext.Lines(p * linesPerPost, linesPerPost))).ToList();

    private async Task<(List<StoredLine> Lines, string Derived)> StateAsync(RunKey run) =>
        (await History.ReadLinesAsync(run, 0, 100_000), await _context.DerivedSnapshotAsync(run));

    [Fact]
    public async Task Resent_shuffled_and_concurrent_posts_give_the_same_history_as_single_sends()
    {
        var posts = Posts(5, 200);
        var once = HistoryTestContext.NewRun();
        foreach (var (offset, lines) in posts)
        {
            await History.AppendHistoryAsync(once, offset, lines);
        }
        var expected = await StateAsync(once);
        Assert.Equal(1000, expected.Lines.Count);
        Assert.Equal(Enumerable.Range(0, 1000).Select(i => HistoryTestContext.Line(i)), expected.Lines.Select(l => l.Text));

        var fiveTimes = HistoryTestContext.NewRun();
        foreach (var (offset, lines) in posts)
        {
            for (var i = 0; i < 5; i++)
            {
                var result = await History.AppendHistoryAsync(fiveTimes, offset, lines);
                Assert.Equal(offset + lines.Count, result.LineCount);
            }
        }
        var shuffled = HistoryTestContext.NewRun();
        var random = new Random(5);
        foreach (var (offset, lines) in Enumerable.Repeat(posts, 5).SelectMany(p => p).OrderBy(_ => random.Next()))
        {
            await History.AppendHistoryAsync(shuffled, offset, lines);
        }
        var concurrent = HistoryTestContext.NewRun();
        await Task.WhenAll(Enumerable.Repeat(posts, 5).SelectMany(p => p).Select(p => Task.Run(() => History.AppendHistoryAsync(concurrent, p.Offset, p.Lines))));

        foreach (var run in new[] { fiveTimes, shuffled, concurrent })
        {
            var actual = await StateAsync(run);
            Assert.Equal(expected.Lines, actual.Lines);
            Assert.Equal(expected.Derived, actual.Derived);
            Assert.Equal(await History.QueryM4Async(once, "loss", 0, 999, 20), await History.QueryM4Async(run, "loss", 0, 999, 20));
        }
        var keys = await History.GetKeysAsync(once);
        Assert.Equal(999, keys.LastStep);
        Assert.Equal(1000, keys.TypeCounts("loss")["number"]);
        Assert.Equal(1000, keys.TypeCounts("nested.grad.norm")["number"]);
    }

    [Fact]
    public async Task A_merged_retry_keeps_one_value_per_line_in_either_order()
    {
        foreach (var order in new[] { new[] { 130, 200 }, new[] { 200, 130 } })
        {
            var run = HistoryTestContext.NewRun();
            foreach (var count in order)
            {
                await History.AppendHistoryAsync(run, 0, HistoryTestContext.Lines(0, count));
            }
            var lines = await History.ReadLinesAsync(run, 0, 1000);
            Assert.Equal(Enumerable.Range(0, 200).Select(i => (long)i), lines.Select(l => l.Index));
            Assert.Equal(200, await History.GetLineCountAsync(run));
            Assert.Equal(200, (await History.GetKeysAsync(run)).TypeCounts("_step")["number"]);
            // The shorter chunk contained in the longer one is removed.
            Assert.Equal([LineStream.ChunkKey(0, 200)], await _context.ChunkKeysAsync(run));
        }
    }

    [Fact]
    public async Task A_post_after_a_gap_waits_and_is_folded_when_the_gap_fills()
    {
        var run = HistoryTestContext.NewRun();
        var early = await History.AppendHistoryAsync(run, 200, HistoryTestContext.Lines(200, 100));
        Assert.Equal(100, early.LineCount);
        Assert.Null(early.LastStep);
        Assert.Equal(0, (await History.GetKeysAsync(run)).Count);
        var filled = await History.AppendHistoryAsync(run, 0, HistoryTestContext.Lines(0, 200));
        Assert.Equal(300, filled.LineCount);
        Assert.Equal(299, filled.LastStep);
        Assert.Equal(300, (await History.GetKeysAsync(run)).TypeCounts("loss")["number"]);
    }

    [Fact]
    public async Task A_large_post_splits_into_several_entities_and_reads_back_verbatim()
    {
        var run = HistoryTestContext.NewRun();
        var random = new Random(3);
        // 3,000 lines with ~1.5 KB of incompressible text each: over the line cap and the size cap of one entity.
        var lines = Enumerable.Range(0, 3000).Select(i =>
            $"{{\"loss\": {i}, \"blob\": \"{Convert.ToBase64String(Enumerable.Range(0, 1100).Select(_ => (byte)random.Next(256)).ToArray())}\", \"_step\": {i}}}").ToList();
        var result = await History.AppendHistoryAsync(run, 0, lines);
        Assert.Equal(3000, result.LineCount);
        Assert.Equal(2999, result.LastStep);
        var chunks = await _context.ChunkKeysAsync(run);
        Assert.True(chunks.Count >= 3, $"expected several entities, got {chunks.Count}");
        Assert.Equal(lines, (await History.ReadLinesAsync(run, 0, 5000)).Select(l => l.Text));
        Assert.Equal(lines.Skip(1234).Take(1000), (await History.ReadLinesAsync(run, 1234, 1000)).Select(l => l.Text));
        Assert.Equal(lines.Count, (await History.AppendHistoryAsync(run, 0, lines)).LineCount);
        Assert.Equal(chunks, await _context.ChunkKeysAsync(run));
    }

    [Fact]
    public async Task A_line_too_large_for_an_entity_spills_to_blob()
    {
        var run = HistoryTestContext.NewRun();
        var random = new Random(9);
        var huge = $"{{\"blob\": \"{Convert.ToBase64String(Enumerable.Range(0, 1_000_000).Select(_ => (byte)random.Next(256)).ToArray())}\", \"_step\": 1}}";
        var lines = new List<string> { HistoryTestContext.Line(0), huge, HistoryTestContext.Line(2) };
        Assert.Equal(3, (await History.AppendHistoryAsync(run, 0, lines)).LineCount);
        Assert.Equal(lines, (await History.ReadLinesAsync(run, 0, 10)).Select(l => l.Text));
    }

    [Fact]
    public async Task Many_small_posts_make_over_a_hundred_chunks_and_match_brute_force()
    {
        var run = HistoryTestContext.NewRun();
        for (var post = 0; post < 150; post++)
        {
            await History.AppendHistoryAsync(run, post * 10, HistoryTestContext.Lines(post * 10, 10));
        }
        Assert.Equal(150, (await _context.ChunkKeysAsync(run)).Count);
        Assert.Equal(1500, await History.GetLineCountAsync(run));
        Assert.Equal(Enumerable.Range(0, 1500).Select(i => HistoryTestContext.Line(i)), (await History.ReadLinesAsync(run, 0, 2000)).Select(l => l.Text));
        var rows = await History.ReadRowsAsync(run, 100, 199);
        Assert.Equal(Enumerable.Range(100, 100).Select(i => (long?)i), rows.Select(r => r.Step));
        await AssertM4MatchesBruteForceAsync(run, "loss", new Random(1), 25);
    }

    [Fact]
    public async Task Lower_steps_are_dropped_from_every_view_but_kept_as_lines()
    {
        var run = HistoryTestContext.NewRun();
        var lines = HistoryTestContext.Lines(0, 100);
        lines.Add(HistoryTestContext.Line(50, 1e9));   // re-logged lower step: dropped
        lines.Add(HistoryTestContext.Line(99, -1e9));  // equal step: dropped
        lines.Add("not json at all");                 // stored, not a row
        lines.Add("{\"loss\": 3}");                    // no step: dropped
        lines.AddRange(HistoryTestContext.Lines(100, 100));
        var result = await History.AppendHistoryAsync(run, 0, lines);
        Assert.Equal(204, result.LineCount);
        Assert.Equal(199, result.LastStep);
        var rows = await History.ReadRowsAsync(run, null, null);
        Assert.Equal(Enumerable.Range(0, 200).Select(i => (long?)i), rows.Select(r => r.Step));
        Assert.DoesNotContain(rows, r => r.Flat["loss"] is double d && Math.Abs(d) >= 1e9);
        Assert.Equal(200, (await History.GetKeysAsync(run)).TypeCounts("loss")["number"]);
        var m4 = await History.QueryM4Async(run, "loss", 0, 199, 5);
        Assert.All(m4, b => Assert.True(b.Max!.Value.Value < 1e9 && b.Min!.Value.Value > -1e9));
        await AssertM4MatchesBruteForceAsync(run, "loss", new Random(2), 15);
        Assert.Equal("not json at all", (await History.ReadLinesAsync(run, 102, 1))[0].Text);
    }

    [Fact]
    public async Task M4_over_stored_rollups_equals_brute_force_for_spiky_series_with_NaN_and_gaps()
    {
        var run = HistoryTestContext.NewRun();
        var random = new Random(77);
        long step = 0;
        var offset = 0L;
        for (var post = 0; post < 12; post++)
        {
            var lines = new List<string>();
            for (var i = 0; i < 1000; i++)
            {
                step += random.Next(0, 20) == 0 ? random.Next(2, 500) : 1;
                var value = random.Next(0, 300) switch
                {
                    0 => double.NaN,
                    1 => double.PositiveInfinity,
                    2 => -1e12,
                    3 => 1e12,
                    _ => random.NextDouble(),
                };
                lines.Add(random.Next(0, 10) == 0
                    ? $"{{\"other\": 1, \"_step\": {step}}}"
                    : HistoryTestContext.Line(step, value));
            }
            await History.AppendHistoryAsync(run, offset, lines);
            offset += lines.Count;
        }
        await AssertM4MatchesBruteForceAsync(run, "loss", random, 60);
        var full = await History.QueryM4Async(run, "loss", 0, step, 100);
        Assert.True(full.Count >= 100);
        Assert.Contains(full, b => b.Max?.Value == 1e12);
        Assert.Contains(full, b => b.Min?.Value == -1e12);
        Assert.Contains(full, b => b.NonFiniteCount > 0);
    }

    private async Task AssertM4MatchesBruteForceAsync(RunKey run, string metric, Random random, int queries)
    {
        var rows = await History.ReadRowsAsync(run, null, null);
        var points = rows.Where(r => r.Flat.TryGetValue(metric, out var v) && HistoryValues.AsNumber(v) is not null)
            .Select(r => new M4Point(r.Step!.Value, HistoryValues.AsNumber(r.Flat[metric])!.Value)).ToList();
        var last = rows[^1].Step!.Value;
        for (var q = 0; q < queries; q++)
        {
            var min = q % 3 == 0 ? 0 : random.NextInt64(0, last);
            var max = q % 4 == 0 ? last + 5 : random.NextInt64(min, last + 1);
            var buckets = random.Next(1, 300);
            var expected = M4Compute.BruteForce(points, M4Levels.PlanQuery(min, max, buckets));
            Assert.Equal(expected, await History.QueryM4Async(run, metric, min, max, buckets));
            // The chart path reads several metrics in one pass; a metric the run never logged answers no buckets.
            var together = await History.QueryM4Async(run, [metric, "never-logged"], min, max, buckets, null, null);
            Assert.Equal(expected, together[metric]);
            Assert.Empty(together["never-logged"]);
        }
    }

    [Fact]
    public async Task Media_values_are_stored_as_references_and_indexed_by_type()
    {
        var run = HistoryTestContext.NewRun();
        var lines = new List<string>
        {
            "{\"img\": {\"_type\": \"image-file\", \"path\": \"media/images/img_0_abc.png\", \"sha256\": \"abc\", \"size\": 10, \"width\": 4, \"height\": 4}, \"caption\": \"first\", \"_step\": 0}",
            "{\"tbl\": {\"_type\": \"table-file\", \"path\": \"media/table/tbl_1.table.json\", \"ncols\": 2, \"nrows\": 2}, \"loss\": Infinity, \"_step\": 1}",
            "{\"img\": {\"_type\": \"image-file\", \"path\": \"media/images/img_2_def.png\"}, \"loss\": -Infinity, \"flag\": true, \"_step\": 2}",
        };
        await History.AppendHistoryAsync(run, 0, lines);
        var keys = await History.GetKeysAsync(run);
        Assert.Equal(2, keys.TypeCounts("img")["image-file"]);
        Assert.Equal(1, keys.TypeCounts("tbl")["table-file"]);
        Assert.Equal(2, keys.TypeCounts("loss")["number"]);
        Assert.Equal(1, keys.TypeCounts("caption")["string"]);
        Assert.Equal(1, keys.TypeCounts("flag")["boolean"]);
        var json = keys.ToHistoryKeys().ToJsonString();
        Assert.Contains("\"img\":{\"typeCounts\":[{\"type\":\"image-file\",\"count\":2}]}", json, StringComparison.Ordinal);
        Assert.Contains("\"lastStep\":2", json, StringComparison.Ordinal);
        var rows = await History.ReadRowsAsync(run, 0, 0);
        Assert.Equal("media/images/img_0_abc.png", rows[0].ToNested()["img"]!["path"]!.GetValue<string>());
        Assert.Equal(lines, (await History.ReadLinesAsync(run, 0, 3)).Select(l => l.Text));
    }

    [Fact]
    public async Task Sampling_returns_rows_with_all_keys_evenly_with_first_and_last()
    {
        var run = HistoryTestContext.NewRun();
        var lines = Enumerable.Range(0, 1000).Select(i => i % 3 == 0
            ? $"{{\"acc\": {i}, \"loss\": {i * 2}, \"_step\": {i}}}"
            : $"{{\"loss\": {i * 2}, \"_step\": {i}}}").ToList();
        await History.AppendHistoryAsync(run, 0, lines);
        var sample = await History.SampleAsync(run, ["acc", "loss"], 10);
        Assert.Equal(10, sample.Count);
        Assert.Equal(0L, sample[0]["_step"]);
        Assert.Equal(999L, sample[^1]["_step"]);
        Assert.All(sample, row => Assert.Equal(["_step", "acc", "loss"], row.Keys.Order()));
        Assert.Equal(334, (await History.SampleAsync(run, ["acc"], 500)).Count);
        Assert.Empty(await History.SampleAsync(run, ["missing"], 500));
    }

    [Fact]
    public async Task Rewind_archives_later_history_and_rebuilds_the_derived_data()
    {
        var run = HistoryTestContext.NewRun();
        foreach (var (offset, lines) in Posts(3, 100))
        {
            await History.AppendHistoryAsync(run, offset, lines);
        }
        var reference = HistoryTestContext.NewRun();
        await History.AppendHistoryAsync(reference, 0, HistoryTestContext.Lines(0, 150));

        var rewind = await History.RewindAsync(run, 149);
        Assert.Equal(150, rewind.LineCount);
        Assert.Equal(150, rewind.ArchivedLines);
        Assert.Equal(150, await History.GetLineCountAsync(run));
        Assert.Equal(149, (await History.GetKeysAsync(run)).LastStep);
        Assert.Equal((await _context.DerivedSnapshotAsync(reference)).Split('\n')[0], (await _context.DerivedSnapshotAsync(run)).Split('\n')[0]);
        Assert.Equal(await History.QueryM4Async(reference, "loss", 0, 400, 10), await History.QueryM4Async(run, "loss", 0, 400, 10));

        var archive = await _context.Storage.TableAsync(HistoryStore.ArchiveTableName);
        var archived = new List<string>();
        await foreach (var entity in archive.QueryPartitionAsync<Azure.Data.Tables.TableEntity>(run.PartitionKey))
        {
            Assert.StartsWith(rewind.ArchiveId + ":history:c:", entity.RowKey, StringComparison.Ordinal);
            archived.AddRange(LineCodec.Decode(LineCodec.ReadData(entity)));
        }
        Assert.Contains(HistoryTestContext.Line(299), archived);

        // The resumed run logs new steps from the kept offset.
        var resumed = await History.AppendHistoryAsync(run, 150, HistoryTestContext.Lines(150, 50));
        Assert.Equal(200, resumed.LineCount);
        Assert.Equal(199, resumed.LastStep);
        Assert.Equal(HistoryTestContext.Lines(0, 200), (await History.ReadLinesAsync(run, 0, 500)).Select(l => l.Text));
    }

    [Fact]
    public async Task Two_instances_with_stale_cached_state_store_the_same_history_as_one()
    {
        // Each HistoryStore keeps the state its last post committed; a second store over the same
        // storage plays a second function instance that advances or rewinds the run behind its back.
        var other = new HistoryStore(_context.Storage, TimeProvider.System);
        var run = HistoryTestContext.NewRun();
        var reference = HistoryTestContext.NewRun();
        var steps = new List<(HistoryStore Store, long Offset, int Count)>
        {
            (History, 0, 300), (History, 300, 300), (other, 600, 500), (History, 1100, 300), (History, 1100, 300), (other, 1400, 100), (History, 1500, 200),
        };
        foreach (var (store, offset, count) in steps)
        {
            var lines = HistoryTestContext.Lines(offset, count);
            Assert.Equal(offset + count, (await store.AppendHistoryAsync(run, offset, lines)).LineCount);
            await History.AppendHistoryAsync(reference, offset, lines);
        }
        Assert.Equal(await _context.DerivedSnapshotAsync(reference), await _context.DerivedSnapshotAsync(run));

        // The other instance rewinds to step 999; this one (its cache still at 1700 lines) gets the
        // resumed run's posts, first one that ends before its cached watermark.
        await other.RewindAsync(run, 999);
        await History.RewindAsync(reference, 999);
        foreach (var (offset, count) in new[] { (1000L, 200), (1200L, 100), (1300L, 600) })
        {
            var lines = HistoryTestContext.Lines(offset, count);
            var appended = await History.AppendHistoryAsync(run, offset, lines);
            Assert.Equal(offset + count, appended.LineCount);
            Assert.Equal(offset + count - 1, appended.LastStep);
            await other.AppendHistoryAsync(reference, offset, lines);
        }
        Assert.Equal(await _context.DerivedSnapshotAsync(reference), await _context.DerivedSnapshotAsync(run));
        Assert.Equal(HistoryTestContext.Lines(0, 1900), (await other.ReadLinesAsync(run, 0, 5000)).Select(l => l.Text));
        Assert.Equal(await other.QueryM4Async(reference, "loss", 0, 1900, 7), await other.QueryM4Async(run, "loss", 0, 1900, 7));
    }

    [Fact]
    public async Task Fork_copies_the_prefix_up_to_a_step_into_a_new_run()
    {
        var source = HistoryTestContext.NewRun("src");
        foreach (var (offset, lines) in Posts(3, 100))
        {
            await History.AppendHistoryAsync(source, offset, lines);
        }
        var fork = HistoryTestContext.NewRun("fork");
        Assert.Equal(201, await History.CopyPrefixAsync(source, fork, 200));
        Assert.Equal(HistoryTestContext.Lines(0, 201), (await History.ReadLinesAsync(fork, 0, 500)).Select(l => l.Text));
        Assert.Equal(200, (await History.GetKeysAsync(fork)).LastStep);
        Assert.Equal(300, await History.GetLineCountAsync(source));
        var continued = await History.AppendHistoryAsync(fork, 201, HistoryTestContext.Lines(201, 99));
        Assert.Equal(300, continued.LineCount);
        Assert.Equal(await History.QueryM4Async(source, "loss", 0, 299, 30), await History.QueryM4Async(fork, "loss", 0, 299, 30));
    }
}
