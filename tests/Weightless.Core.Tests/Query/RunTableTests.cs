using System.Text.Json;
using Weightless.Core.Query;

namespace Weightless.Core.Tests.Query;

/// <summary>The copy-on-write freeze the snapshot save encodes from while queries and changes go on.</summary>
public sealed class RunTableTests
{
    [Fact]
    public void A_frozen_table_keeps_its_version_while_the_live_table_changes_and_encodes_it()
    {
        var random = new Random(5);
        // More runs than one column page (1,024), so changes land on shared and unshared pages.
        var rows = Enumerable.Range(0, 3000).Select(i => GeneratedRuns.Make(random, i)).ToList();
        var table = GeneratedRuns.Table(rows);
        var expected = Describe(table);
        var expectedBytes = RunIndexCodec.Write(table, GeneratedRuns.Epoch, GeneratedRuns.Epoch).ToArray();

        var frozen = table.Freeze();
        // Change runs on several pages, add runs (new pages and a new key), remove runs.
        foreach (var index in new[] { 0, 1023, 1024, 2999 })
        {
            table.Upsert(rows[index] with { State = "killed", Summary = new Dictionary<string, IndexValue> { ["fresh"] = IndexValue.Of(1) } });
        }
        for (var i = 3000; i < 4100; i++)
        {
            table.Upsert(GeneratedRuns.Make(random, i));
        }
        table.Remove(rows[7].Id);

        Assert.Equal(expected, Describe(frozen));
        Assert.Equal(expectedBytes, RunIndexCodec.Write(frozen, GeneratedRuns.Epoch, GeneratedRuns.Epoch).ToArray());
        Assert.True(frozen.TryGetPosition(rows[2999].Id, out _));
        Assert.False(frozen.TryGetPosition("r04000", out _));

        // The live table has every change; a second freeze sees them, the first still does not.
        Assert.Equal(4099, table.LiveCount);
        Assert.True(table.TryGetPosition(rows[1024].Id, out var changed));
        Assert.Equal("killed", table.ToRow(changed).State);
        Assert.Equal(1, table.Freeze().ToRow(changed).Summary["fresh"].Number);
        Assert.Equal(expected, Describe(frozen));
    }

    private static List<string> Describe(RunTable table) =>
        table.LivePositions().Select(p => JsonSerializer.Serialize(new
        {
            Row = table.ToRow(p) with { Config = null!, Summary = null! },
            Config = table.ToRow(p).Config.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}={kv.Value.Kind}:{kv.Value.ToText()}"),
            Summary = table.ToRow(p).Summary.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}={kv.Value.Kind}:{kv.Value.ToText()}"),
        })).ToList();
}
