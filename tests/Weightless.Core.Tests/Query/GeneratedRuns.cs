using Weightless.Core.Query;

namespace Weightless.Core.Tests.Query;

/// <summary>Seeded random runs with the kinds of values real projects hold: numbers, strings, bools, nulls, NaN, nesting, gaps.</summary>
internal static class GeneratedRuns
{
    public static readonly string[] States = ["running", "finished", "crashed", "failed"];
    public static readonly string[] Optimizers = ["adam", "sgd", "Adam", "rmsprop"];
    public static readonly string[] Tags = ["baseline", "keep", "ablation", "bug"];
    public static readonly string[] Groups = ["exp-1", "exp-2", "sweep-a"];
    public static readonly string[] Users = ["alice", "bob"];
    public static readonly DateTimeOffset Epoch = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public static RunIndexRow Make(Random random, int index)
    {
        var config = new Dictionary<string, IndexValue>(StringComparer.Ordinal);
        config["lr"] = IndexValue.Of(random.Next(1, 6) / 1000.0);
        config["optimizer"] = IndexValue.Of(Pick(random, Optimizers));
        config["layers"] = IndexValue.Of(random.Next(1, 5));
        if (random.NextDouble() < 0.7)
        {
            config["dropout"] = random.NextDouble() < 0.1 ? IndexValue.Null : IndexValue.Of(random.Next(0, 5) / 10.0);
        }
        config["net.width"] = IndexValue.Of(random.Next(1, 4) * 64);
        config["flag"] = IndexValue.Of(random.Next(2) == 0);
        if (random.NextDouble() < 0.2)
        {
            config["mixed"] = random.Next(2) == 0 ? IndexValue.Of("0.5") : IndexValue.Of(0.5);
        }
        var summary = new Dictionary<string, IndexValue>(StringComparer.Ordinal);
        if (random.NextDouble() < 0.9)
        {
            summary["loss"] = random.NextDouble() < 0.05 ? IndexValue.Of(double.NaN) : IndexValue.Of(Math.Round(random.NextDouble() * 3, 2));
        }
        summary["acc"] = IndexValue.Of(random.Next(0, 11) / 10.0);
        if (random.NextDouble() < 0.3)
        {
            summary["best"] = IndexValue.Of(Pick(random, ["yes", "no"]));
        }
        var created = Epoch.AddMinutes(random.Next(0, 10_000));
        return new RunIndexRow
        {
            Id = $"r{index:D5}",
            DisplayName = random.NextDouble() < 0.9 ? $"run-{random.Next(0, 50)}" : null,
            State = Pick(random, States),
            CreatedAt = created,
            HeartbeatAt = created.AddMinutes(random.Next(0, 500)),
            User = Pick(random, Users),
            Tags = Tags.Where(_ => random.NextDouble() < 0.3).ToArray(),
            Group = random.NextDouble() < 0.8 ? Pick(random, Groups) : null,
            JobType = random.NextDouble() < 0.7 ? Pick(random, ["train", "eval"]) : null,
            Host = Pick(random, ["gpu-1", "gpu-2"]),
            Sweep = random.NextDouble() < 0.3 ? "sw1" : null,
            Runtime = random.Next(0, 1000),
            Config = config,
            Summary = summary,
        };
    }

    public static T Pick<T>(Random random, IReadOnlyList<T> items) => items[random.Next(items.Count)];

    public static RunTable Table(IEnumerable<RunIndexRow> rows)
    {
        var table = new RunTable();
        foreach (var row in rows)
        {
            table.Upsert(row);
        }
        return table;
    }
}
