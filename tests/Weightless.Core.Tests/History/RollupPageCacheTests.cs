using Azure;
using Weightless.Core.History;

namespace Weightless.Core.Tests.History;

public class RollupPageCacheTests
{
    /// <summary>A decoded read of <paramref name="metrics"/> metrics taking about <paramref name="bytes"/> bytes each.</summary>
    private static RollupRead Pages(int metrics, int bytes) =>
        new(Enumerable.Range(0, metrics).Select(_ => Enumerable.Repeat((0L, default(M4Accumulator)), bytes / RollupRead.BucketBytes).ToList()).ToArray(), 0);

    [Fact]
    public void A_read_is_answered_only_under_the_state_etag_it_was_read_with()
    {
        var cache = new RollupPageCache();
        var key = RollupPageCache.Key("pk", 1, 0, 9, ["loss"]);
        var pages = Pages(3, 100);
        cache.Put(key, new ETag("a"), pages);

        Assert.Same(pages, cache.Get(key, new ETag("a")));
        Assert.Null(cache.Get(key, new ETag("b")));
        Assert.Null(cache.Get(RollupPageCache.Key("pk", 1, 0, 9, ["acc"]), new ETag("a")));
        Assert.Null(cache.Get(RollupPageCache.Key("pk", 2, 0, 9, ["loss"]), new ETag("a")));

        var newer = Pages(4, 100);
        cache.Put(key, new ETag("b"), newer);
        Assert.Same(newer, cache.Get(key, new ETag("b")));
        Assert.Null(cache.Get(key, new ETag("a")));
    }

    [Fact]
    public void The_least_recently_used_reads_go_first_when_the_bytes_exceed_the_capacity()
    {
        var cache = new RollupPageCache(capacityBytes: 10_400);
        var etag = new ETag("a");
        for (var i = 0; i < 5; i++)
        {
            cache.Put(RollupPageCache.Key("pk", 0, i, i, null), etag, Pages(1, 2_000));
        }
        // Touch the oldest so the second-oldest is evicted next.
        Assert.NotNull(cache.Get(RollupPageCache.Key("pk", 0, 0, 0, null), etag));
        cache.Put(RollupPageCache.Key("pk", 0, 5, 5, null), etag, Pages(1, 2_000));

        Assert.True(cache.Bytes <= 10_400);
        Assert.NotNull(cache.Get(RollupPageCache.Key("pk", 0, 0, 0, null), etag));
        Assert.Null(cache.Get(RollupPageCache.Key("pk", 0, 1, 1, null), etag));
        Assert.NotNull(cache.Get(RollupPageCache.Key("pk", 0, 5, 5, null), etag));
        // A read larger than a quarter of the capacity is not kept at all.
        cache.Put(RollupPageCache.Key("pk", 0, 6, 6, null), etag, Pages(1, 3_000));
        Assert.Null(cache.Get(RollupPageCache.Key("pk", 0, 6, 6, null), etag));
    }
}
