using Weightless.Core.History;

namespace Weightless.Core.Tests.History;

public class LineStorageTests
{
    private static LineStream.ChunkRef Chunk(long start, long end) => new(start, end, LineStream.ChunkKey(start, end));

    [Fact]
    public void Codec_round_trips_any_text()
    {
        var lines = new List<string> { "", "{\"loss\": NaN}", "line\nwith newline\r", new('é', 70000), "\u0000tab\t" };
        Assert.Equal(lines, LineCodec.Decode(LineCodec.Encode(lines, 0, lines.Count)));
        Assert.Equal(lines.Skip(1).Take(2), LineCodec.Decode(LineCodec.Encode(lines, 1, 2)));
    }

    [Fact]
    public void Blocks_compressed_with_earlier_codec_settings_still_decode()
    {
        // Chunks stored before the codec moved to quality 1 / window 18 were quality 2 / window 22 (and 4 before that).
        var lines = new List<string> { "{\"loss\": 0.5, \"_step\": 0}", "{\"loss\": Infinity, \"_step\": 1}", new('x', 300_000) };
        var framed = LineCodec.Frame(lines, 0, lines.Count);
        foreach (var (quality, window) in new[] { (2, 22), (4, 22), (LineCodec.BrotliQuality, LineCodec.BrotliWindow) })
        {
            Assert.Equal(lines, LineCodec.Decode(LineCodec.Compress(framed, quality, window)));
        }
        Assert.Equal(framed, LineCodec.Decompress(LineCodec.Encode(lines, 0, lines.Count)));
    }

    [Fact]
    public void Chunk_keys_parse_back_and_sort_by_start()
    {
        var key = LineStream.ChunkKey(130, 200);
        Assert.Equal("c:000000000130:000000000200", key);
        Assert.Equal(Chunk(130, 200), LineStream.ChunkRef.Parse(key));
        Assert.True(string.CompareOrdinal(LineStream.ChunkKey(99, 5000), LineStream.ChunkKey(100, 101)) < 0);
    }

    [Fact]
    public void Overlap_rule_prefers_earlier_start_then_longer_chunk()
    {
        // A merged retry: 0..129 then 0..199; plus a duplicate and a later chunk.
        var chunks = new[] { Chunk(0, 130), Chunk(0, 200), Chunk(0, 130), Chunk(150, 260), Chunk(300, 310) };
        var (segments, redundant) = LineStream.Resolve(chunks, 0);
        Assert.Equal([(0L, 200L, Chunk(0, 200)), (200L, 260L, Chunk(150, 260)), (300L, 310L, Chunk(300, 310))], segments.Select(s => (s.From, s.To, s.Chunk)));
        Assert.Equal([Chunk(0, 130), Chunk(0, 130)], redundant);
    }

    [Fact]
    public void Overlap_rule_does_not_depend_on_arrival_order()
    {
        var random = new Random(42);
        for (var trial = 0; trial < 300; trial++)
        {
            var chunks = Enumerable.Range(0, random.Next(1, 12)).Select(_ =>
            {
                var start = random.Next(0, 100);
                return Chunk(start, start + random.Next(1, 40));
            }).ToList();
            var expected = LineStream.Resolve(chunks, 0).Segments;
            var shuffled = LineStream.Resolve(chunks.OrderBy(_ => random.Next()).ToList(), 0).Segments;
            Assert.Equal(expected, shuffled);
            // Every covered index appears exactly once, from the first chunk (start asc, length desc) covering it.
            var owner = new Dictionary<long, LineStream.ChunkRef>();
            foreach (var chunk in chunks.OrderBy(c => c.Start).ThenByDescending(c => c.Length))
            {
                for (var i = chunk.Start; i < chunk.End; i++)
                {
                    owner.TryAdd(i, chunk);
                }
            }
            var resolved = expected.SelectMany(s => Enumerable.Range((int)s.From, (int)(s.To - s.From)).Select(i => ((long)i, s.Chunk))).ToList();
            Assert.Equal(owner.OrderBy(kv => kv.Key).Select(kv => (kv.Key, kv.Value)), resolved);
            // Removing the redundant chunks changes nothing.
            var (segmentsWithAll, redundant) = LineStream.Resolve(chunks, 0);
            var pruned = chunks.ToList();
            foreach (var r in redundant)
            {
                pruned.Remove(r);
            }
            Assert.Equal(segmentsWithAll, LineStream.Resolve(pruned, 0).Segments);
        }
    }

    [Fact]
    public void Metric_row_keys_are_safe_and_bounded()
    {
        Assert.Equal("m:2:000000000007:nested.grad.norm", LineStream.PageKey(2, 7, "nested.grad.norm"));
        Assert.DoesNotContain('/', LineStream.MetricKey("train/loss"));
        Assert.StartsWith("~H", LineStream.MetricKey(new string('k', 900)), StringComparison.Ordinal);
    }
}
