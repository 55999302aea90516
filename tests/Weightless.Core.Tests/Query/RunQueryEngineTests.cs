using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Weightless.Core.Errors;
using Weightless.Core.Query;

namespace Weightless.Core.Tests.Query;

public sealed class RunQueryEngineTests
{
    private static readonly string[] Paths =
    [
        "config.lr", "config.lr.value", "config.optimizer", "config.layers", "config.dropout", "config.net.width", "config.net.value.width",
        "config.flag", "config.mixed", "config.absent", "summary_metrics.loss", "summary_metrics.acc", "summary_metrics.best",
        "state", "displayName", "display_name", "createdAt", "created_at", "heartbeatAt", "username", "jobType", "job_type", "group", "host", "sweep", "name", "runtime", "tags",
    ];

    private static JsonNode? Operand(Random random, string path)
    {
        return path switch
        {
            "config.lr" or "config.lr.value" => random.Next(0, 7) / 1000.0,
            "config.optimizer" => GeneratedRuns.Pick(random, [.. GeneratedRuns.Optimizers, "ADAM"]),
            "config.layers" => random.Next(0, 6),
            "config.dropout" => random.NextDouble() < 0.2 ? null : random.Next(0, 5) / 10.0,
            "config.net.width" or "config.net.value.width" => random.Next(0, 5) * 64,
            "config.flag" => random.Next(2) == 0,
            "config.mixed" => random.Next(2) == 0 ? "0.5" : 0.5,
            "config.absent" => random.Next(3),
            "summary_metrics.loss" => Math.Round(random.NextDouble() * 3, 1),
            "summary_metrics.acc" => random.Next(0, 11) / 10.0,
            "summary_metrics.best" => GeneratedRuns.Pick(random, ["yes", "no"]),
            "state" => GeneratedRuns.Pick(random, [.. GeneratedRuns.States, "FINISHED"]),
            "displayName" or "display_name" => random.NextDouble() < 0.1 ? null : $"run-{random.Next(0, 50)}",
            "createdAt" or "created_at" or "heartbeatAt" => random.Next(2) == 0
                ? GeneratedRuns.Epoch.AddMinutes(random.Next(0, 10_000)).ToString("yyyy-MM-ddTHH:mm:ss", CultureInfo.InvariantCulture)
                : GeneratedRuns.Epoch.AddMinutes(random.Next(0, 10_000)).ToString("O", CultureInfo.InvariantCulture),
            "username" => GeneratedRuns.Pick(random, GeneratedRuns.Users),
            "jobType" or "job_type" => random.NextDouble() < 0.2 ? null : GeneratedRuns.Pick(random, ["train", "eval"]),
            "group" => random.NextDouble() < 0.2 ? null : GeneratedRuns.Pick(random, GeneratedRuns.Groups),
            "host" => GeneratedRuns.Pick(random, ["gpu-1", "gpu-2"]),
            "sweep" => random.NextDouble() < 0.3 ? null : "sw1",
            "name" => $"r{random.Next(0, 300):D5}",
            "runtime" => random.Next(0, 1000),
            "tags" => GeneratedRuns.Pick(random, GeneratedRuns.Tags),
            _ => throw new InvalidOperationException(path),
        };
    }

    private static JsonNode Leaf(Random random)
    {
        var path = GeneratedRuns.Pick(random, Paths);
        var ops = path == "tags"
            ? new[] { "", "$eq", "$ne", "$in", "$nin", "$exists", "$regex" }
            : ["", "$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$exists", "$regex"];
        var op = GeneratedRuns.Pick(random, ops);
        JsonNode? condition = op switch
        {
            "" => Operand(random, path),
            "$in" or "$nin" => new JsonObject { [op] = new JsonArray(Enumerable.Range(0, random.Next(0, 4)).Select(_ => Operand(random, path)).ToArray()) },
            "$exists" => new JsonObject { [op] = random.Next(2) == 0 },
            "$regex" => new JsonObject { [op] = GeneratedRuns.Pick(random, ["^a", "d", "run-1", "^exp", "gpu-[12]$", "e"]) },
            _ => new JsonObject { [op] = Operand(random, path) },
        };
        if (path == "tags" && condition is null)
        {
            condition = "keep";
        }
        if (op is "$gt" or "$gte" or "$lt" or "$lte" && condition![op] is null)
        {
            condition = new JsonObject { [op] = 1 };
        }
        if (op == "" && condition is JsonValue v && random.NextDouble() < 0.2 && path != "tags")
        {
            // Two operators on one field: an implicit AND.
            condition = new JsonObject { ["$ne"] = v.DeepClone(), ["$exists"] = true };
        }
        return new JsonObject { [path] = condition };
    }

    private static JsonNode Filter(Random random, int depth)
    {
        if (depth == 0 || random.NextDouble() < 0.35)
        {
            if (random.NextDouble() < 0.15)
            {
                var merged = new JsonObject();
                foreach (var leaf in new[] { Leaf(random), Leaf(random) })
                {
                    foreach (var (key, value) in leaf.AsObject())
                    {
                        merged[key] = value?.DeepClone();
                    }
                }
                return merged;
            }
            return Leaf(random);
        }
        var op = GeneratedRuns.Pick(random, ["$and", "$or", "$nor"]);
        return new JsonObject { [op] = new JsonArray(Enumerable.Range(0, random.Next(1, 4)).Select(_ => Filter(random, depth - 1)).ToArray()) };
    }

    [Fact]
    public void Filters_match_a_brute_force_evaluator_over_generated_runs()
    {
        var random = new Random(20261128);
        var rows = Enumerable.Range(0, 300).Select(i => GeneratedRuns.Make(random, i)).ToList();
        var table = GeneratedRuns.Table(rows);
        var nonTrivial = 0;
        for (var i = 0; i < 600; i++)
        {
            var filter = Filter(random, 3).ToJsonString();
            using var document = JsonDocument.Parse(filter);
            var expected = rows.Where(r => BruteForce.Matches(r, document.RootElement)).Select(r => r.Id).ToList();
            var actual = RunQueryEngine.Match(table, RunFilter.Parse(filter), includeDeleted: false).Select(table.Id).ToList();
            Assert.True(expected.SequenceEqual(actual), $"filter {filter}: expected {expected.Count} runs, got {actual.Count}");
            if (expected.Count > 0 && expected.Count < rows.Count)
            {
                nonTrivial++;
            }
        }
        // The generator must exercise selective filters, not only all-or-nothing ones.
        Assert.True(nonTrivial > 300, $"only {nonTrivial} selective filters");
    }

    [Theory]
    [InlineData("{\"config.lr\": {\"$gtt\": 1}}", "filter.config.lr.$gtt")]
    [InlineData("{\"$and\": [{\"state\": \"finished\"}, {\"bogus\": 1}]}", "filter.$and[1].bogus")]
    [InlineData("{\"$or\": {\"state\": 1}}", "filter.$or")]
    [InlineData("{\"config.lr\": {\"$in\": 3}}", "filter.config.lr.$in")]
    [InlineData("{\"createdAt\": {\"$gt\": \"yesterday\"}}", "filter.createdAt.$gt")]
    [InlineData("{\"displayName\": {\"$regex\": \"(\"}}", "filter.displayName.$regex")]
    [InlineData("{\"state\": ", "filter")]
    [InlineData("[1]", "filter")]
    public void Bad_filters_are_400s_naming_the_path(string filter, string field)
    {
        var error = Assert.Throws<ValidationFailedException>(() => RunFilter.Parse(filter));
        Assert.Equal(field, error.Field);
    }

    private static List<string> BruteSort(IEnumerable<RunIndexRow> rows, Func<RunIndexRow, double?> key, bool descending) =>
        rows.OrderBy(r => key(r) is null ? 1 : 0)
            .ThenBy(r => key(r) is { } k ? (descending ? -k : k) : 0)
            .ThenBy(r => r.Id, StringComparer.Ordinal)
            .Select(r => r.Id).ToList();

    [Fact]
    public void Sort_orders_by_keys_with_missing_last_and_ties_by_id()
    {
        var random = new Random(7);
        var rows = Enumerable.Range(0, 400).Select(i => GeneratedRuns.Make(random, i)).ToList();
        var table = GeneratedRuns.Table(rows);
        var cases = new (string Sort, Func<RunIndexRow, double?> Key, bool Descending)[]
        {
            ("-created_at", r => r.CreatedAt.ToUnixTimeMilliseconds(), true),
            ("+heartbeat_at", r => r.HeartbeatAt.ToUnixTimeMilliseconds(), false),
            ("config.dropout.value", r => r.Config.TryGetValue("dropout", out var v) && v.Kind == IndexValueKind.Number ? v.Number : null, false),
            ("-summary_metrics.loss", r => r.Summary.TryGetValue("loss", out var v) && v.Kind == IndexValueKind.Number && !double.IsNaN(v.Number) ? v.Number : null, true),
            ("runtime", r => r.Runtime, false),
        };
        foreach (var (sort, key, descending) in cases)
        {
            var expected = BruteSort(rows, key, descending);
            var all = RunQueryEngine.ExecuteAll(table, null, RunQueryEngine.ParseSort([sort]), false).Select(table.Id).ToList();
            Assert.Equal(expected, all);
            var page = RunQueryEngine.Execute(table, new RunQuerySpec(null, RunQueryEngine.ParseSort([sort]), 50, null));
            Assert.Equal(expected.Take(50), page.Positions.Select(table.Id));
            Assert.Equal(400, page.Total);
        }
    }

    [Fact]
    public void The_total_counts_every_match_whatever_the_page_size()
    {
        var random = new Random(7);
        foreach (var count in new[] { 1, 2, 3, 50, 51, 52, 201, 203 })
        {
            var table = GeneratedRuns.Table(Enumerable.Range(0, count).Select(i => GeneratedRuns.Make(random, i)).ToList());
            foreach (var limit in new[] { 1, count - 2, count - 1, count, count + 1, 50 }.Where(l => l >= 1))
            {
                var seen = new List<int>();
                string? cursor = null;
                do
                {
                    var page = RunQueryEngine.Execute(table, new RunQuerySpec(null, RunQueryEngine.ParseSort(["-created_at"]), limit, cursor));
                    Assert.Equal(count, page.Total);
                    Assert.Equal(Math.Min(limit, count - seen.Count), page.Positions.Count);
                    seen.AddRange(page.Positions);
                    cursor = page.NextCursor;
                }
                while (cursor is not null);
                Assert.Equal(count, seen.Distinct().Count());
            }
        }
    }

    [Fact]
    public void Pages_return_every_run_exactly_once_while_runs_are_added()
    {
        var random = new Random(99);
        var rows = Enumerable.Range(0, 1000).Select(i => GeneratedRuns.Make(random, i)).ToList();
        var table = GeneratedRuns.Table(rows);
        var next = 100_000;
        foreach (var sort in new[] { "-created_at", "config.lr,-summary_metrics.acc", "display_name", "+created_at", "-summary_metrics.loss" })
        {
            var spec = RunQueryEngine.ParseSort([sort]);
            var filter = RunFilter.Parse("{\"state\": {\"$ne\": \"crashed\"}}");
            var expected = rows.Where(r => r.State != "crashed").Select(r => r.Id).ToHashSet();
            var seen = new List<string>();
            string? cursor = null;
            do
            {
                var page = RunQueryEngine.Execute(table, new RunQuerySpec(filter, spec, 37, cursor));
                seen.AddRange(page.Positions.Select(table.Id));
                cursor = page.NextCursor;
                // New runs arrive between pages, some sorting before the cursor and some after.
                for (var i = 0; i < 5; i++)
                {
                    var added = GeneratedRuns.Make(random, next++) with { Id = "n" + next };
                    table.Upsert(added);
                }
            }
            while (cursor is not null);
            Assert.Equal(seen.Count, seen.Distinct().Count());
            Assert.Subset(seen.ToHashSet(), expected);
        }
    }

    [Fact]
    public void Groups_count_like_brute_force()
    {
        var random = new Random(3);
        var rows = Enumerable.Range(0, 500).Select(i => GeneratedRuns.Make(random, i)).ToList();
        var table = GeneratedRuns.Table(rows);
        var groups = RunQueryEngine.Group(table, null, [RunField.Parse("config.optimizer", "by"), RunField.Parse("group", "by")], false);
        var expected = rows.GroupBy(r => (r.Config["optimizer"].Text, r.Group)).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(expected.Count, groups.Count);
        foreach (var group in groups)
        {
            Assert.Equal(expected[(group.Values[0].Text, group.Values[1].Kind == IndexValueKind.Null ? null : group.Values[1].Text)], group.Count);
        }
        Assert.Equal(rows.Count, groups.Sum(g => g.Count));
        var byTag = RunQueryEngine.Group(table, RunFilter.Parse("{\"state\": \"finished\"}"), [RunField.Tags], false);
        var finished = rows.Where(r => r.State == "finished").ToList();
        Assert.Equal(finished.Sum(r => Math.Max(1, r.Tags.Count)), byTag.Sum(g => g.Count));
    }

    [Fact]
    public void Deleted_runs_are_hidden_unless_asked_for()
    {
        var random = new Random(5);
        var rows = Enumerable.Range(0, 20).Select(i => GeneratedRuns.Make(random, i) with { Deleted = i % 4 == 0 }).ToList();
        var table = GeneratedRuns.Table(rows);
        Assert.Equal(15, RunQueryEngine.Match(table, null, false).Count);
        Assert.Equal(20, RunQueryEngine.Match(table, null, true).Count);
        table.Remove("r00001");
        Assert.Equal(19, RunQueryEngine.Match(table, null, true).Count);
    }

    [Fact]
    public void A_cursor_from_another_sort_or_garbage_is_a_400()
    {
        var table = GeneratedRuns.Table(Enumerable.Range(0, 10).Select(i => GeneratedRuns.Make(new Random(i), i)));
        var page = RunQueryEngine.Execute(table, new RunQuerySpec(null, RunQueryEngine.DefaultSort, 3, null));
        Assert.NotNull(page.NextCursor);
        var other = Assert.Throws<ValidationFailedException>(() => RunQueryEngine.Execute(table, new RunQuerySpec(null, RunQueryEngine.ParseSort(["name"]), 3, page.NextCursor)));
        Assert.Equal("cursor", other.Field);
        Assert.Throws<ValidationFailedException>(() => RunQueryEngine.Execute(table, new RunQuerySpec(null, RunQueryEngine.DefaultSort, 3, "%%%")));
        Assert.Equal("sort", Assert.Throws<ValidationFailedException>(() => RunQueryEngine.ParseSort(["-nonsense"])).Field);
    }

    [Fact]
    public void Snapshot_codec_round_trips_every_field()
    {
        var random = new Random(11);
        var rows = Enumerable.Range(0, 200).Select(i => GeneratedRuns.Make(random, i) with { Deleted = i % 7 == 0 }).ToList();
        var table = GeneratedRuns.Table(rows);
        table.Remove("r00003");
        var watermark = new DateTimeOffset(2026, 11, 28, 12, 0, 0, TimeSpan.Zero);
        var data = RunIndexCodec.Write(table, watermark, watermark.AddHours(-1));
        var (copy, readWatermark, builtAt) = RunIndexCodec.Read(data)!;
        Assert.Equal(watermark, readWatermark);
        Assert.Equal(watermark.AddHours(-1), builtAt);
        Assert.Equal(199, copy.LiveCount);
        foreach (var position in table.LivePositions())
        {
            var expected = table.ToRow(position);
            Assert.True(copy.TryGetPosition(expected.Id, out var other));
            var actual = copy.ToRow(other);
            Assert.Equal(JsonSerializer.Serialize(Normal(expected)), JsonSerializer.Serialize(Normal(actual)));
        }
        Assert.Null(RunIndexCodec.Read(new byte[] { 1, 2, 3 }));

        static object Normal(RunIndexRow row) => new
        {
            row.Id, row.DisplayName, row.State, row.CreatedAt, row.HeartbeatAt, row.User, row.Tags, row.Group, row.JobType, row.Host, row.Sweep, row.Runtime, row.Deleted,
            Config = row.Config.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}={kv.Value.Kind}:{kv.Value.ToText()}").ToList(),
            Summary = row.Summary.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}={kv.Value.Kind}:{kv.Value.ToText()}").ToList(),
        };
    }

    [Fact]
    public void Config_is_unwrapped_and_flattened_for_the_index()
    {
        var flat = RunStoreIndexSource.Flatten("{\"lr\": {\"desc\": null, \"value\": 0.1}, \"net\": {\"value\": {\"width\": 64, \"act\": \"relu\"}}, \"_wandb\": {\"value\": {\"x\": 1}}, \"bad\": {\"value\": NaN}, \"layers\": {\"value\": [1, 2]}}", unwrap: true);
        Assert.Equal(0.1, flat["lr"].Number);
        Assert.Equal(64, flat["net.width"].Number);
        Assert.Equal("relu", flat["net.act"].Text);
        Assert.False(flat.ContainsKey("_wandb"));
        Assert.True(double.IsNaN(flat["bad"].Number));
        Assert.Equal(IndexValueKind.Json, flat["layers"].Kind);
        var table = GeneratedRuns.Table([new RunIndexRow { Id = "a", Config = flat }]);
        Assert.Single(RunQueryEngine.Match(table, RunFilter.Parse("{\"config.net.value.width\": 64}"), false));
        Assert.Single(RunQueryEngine.Match(table, RunFilter.Parse("{\"config.layers\": [1, 2]}"), false));
    }
}
