using Azure.Data.Tables;
using Weightless.Core.Auth;
using Weightless.Core.Storage;

namespace Weightless.Core.Tests.Foundation;

public sealed class StorageRulesTests
{
    [Fact]
    public void Escaping_round_trips_every_character_class_and_never_emits_forbidden_ones()
    {
        var random = new Random(1234);
        for (var i = 0; i < 2000; i++)
        {
            var chars = Enumerable.Range(0, random.Next(0, 40)).Select(_ => (char)random.Next(0, 0x3000)).ToArray();
            var value = new string(chars.Where(c => !char.IsSurrogate(c)).ToArray());
            var escaped = TableKeys.Escape(value);
            Assert.DoesNotContain(escaped, c => c is '/' or '\\' or '#' or '?' or ':' || char.IsControl(c));
            Assert.Equal(value, TableKeys.Unescape(escaped));
        }
    }

    [Fact]
    public void Composite_keys_keep_parts_apart_and_prefix_end_bounds_a_range()
    {
        Assert.NotEqual(TableKeys.Compose("a:b", "c"), TableKeys.Compose("a", "b:c"));
        var prefix = TableKeys.Compose("tenant", "");
        var end = TableKeys.PrefixEnd(prefix);
        Assert.True(string.CompareOrdinal(prefix + "zzzz", end) < 0);
        Assert.True(string.CompareOrdinal("tenanu", end) >= 0);
    }

    [Fact]
    public void Chunks_hold_at_most_100_entities_and_stay_under_4_MiB()
    {
        var small = Enumerable.Range(0, 1001).Select(i => new TableTransactionAction(TableTransactionActionType.UpsertReplace, new TableEntity("p", $"{i}"))).ToList();
        var chunks = TableStore.Chunk(small).ToList();
        Assert.Equal(11, chunks.Count);
        Assert.All(chunks, c => Assert.True(c.Count <= 100));
        Assert.Equal(1001, chunks.Sum(c => c.Count));

        var large = Enumerable.Range(0, 60).Select(i => new TableTransactionAction(TableTransactionActionType.UpsertReplace, new TableEntity("p", $"{i}") { ["D"] = new byte[60_000], ["E"] = new byte[60_000] })).ToList();
        var largeChunks = TableStore.Chunk(large).ToList();
        Assert.True(largeChunks.Count >= 2);
        Assert.All(largeChunks, c => Assert.True(c.Sum(a => TableStore.Validate(a.Entity)) < TableStore.MaxBatchBytes));
    }

    [Fact]
    public void Api_keys_have_the_shape_wandb_clients_accept_and_hash_deterministically()
    {
        var key = ApiKeys.Generate();
        Assert.True(key.Length >= 40);
        Assert.True(ApiKeys.IsWellFormed(key));
        Assert.True(ApiKeys.IsWellFormed("local-" + new string('a', 40)));
        Assert.False(ApiKeys.IsWellFormed(new string('a', 39)));
        Assert.False(ApiKeys.IsWellFormed(new string('a', 40) + "!"));
        Assert.Equal(ApiKeys.Hash(key), ApiKeys.Hash(key));
        Assert.NotEqual(ApiKeys.Hash(key), ApiKeys.Hash(ApiKeys.Generate()));
        Assert.Equal(64, ApiKeys.Hash(key).Length);
    }
}
