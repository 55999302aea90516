using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Weightless.Core.Auth;
using Weightless.Core.History;
using Weightless.Core.Query;
using Weightless.Core.Runs;
using Weightless.Core.Storage;

namespace Weightless.Dashboard.Tests.Infrastructure;

/// <summary>
/// Seeds a project through the same core services the ingest app's file_stream and upsertBucket
/// handlers call (RunService, HistoryStore, EventsStore, ConsoleLogStore, run files), in big
/// batches. The dashboard then reads it through the real REST API.
/// </summary>
internal sealed class SeededProject(IServiceProvider services, string entity, string project)
{
    public string Entity { get; } = entity;

    public string Project { get; } = project;

    private static readonly string[] Optimizers = ["adam", "sgd", "rmsprop"];

    private readonly Principal _admin = new("admin", true, AuthMethod.ApiKey);

    public static string RunId(int i) => $"r{i:D4}";

    /// <summary>
    /// <paramref name="count"/> runs r0000.. with config (lr, optimizer, layers), summary (loss, acc),
    /// tags, group, job type and a state; run i: optimizer i % 3, job type train/eval alternating.
    /// </summary>
    public async Task<TimeSpan> CreateRunsAsync(int count, int firstIndex = 0)
    {
        var watch = Stopwatch.StartNew();
        var runs = services.GetRequiredService<RunService>();
        await Parallel.ForEachAsync(Enumerable.Range(firstIndex, count), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, ct) =>
        {
            await runs.UpsertAsync(_admin, Command(i), ct);
        });
        return watch.Elapsed;
    }

    /// <summary>
    /// The same runs as <see cref="CreateRunsAsync"/>, for thousands of them: the first through
    /// RunService (which creates the project), the rest written as the run rows RunService writes,
    /// in 100-row entity-group transactions, each followed by its run-change-log entries (what
    /// every RunService write records), so the run index sees them as it sees any write.
    /// </summary>
    public async Task<TimeSpan> CreateRunsInBulkAsync(int count)
    {
        var watch = Stopwatch.StartNew();
        await services.GetRequiredService<RunService>().UpsertAsync(_admin, Command(0), CancellationToken.None);
        var storage = services.GetRequiredService<StorageAccount>();
        var table = await storage.TableAsync(RunService.RunsTable);
        var changes = await storage.TableAsync(RunChangeLog.TableName);
        var partition = RunService.PartitionOf(Entity, Project);
        var now = DateTimeOffset.UtcNow;
        await Parallel.ForEachAsync(Enumerable.Range(1, count - 1).Chunk(100), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (chunk, ct) =>
        {
            var rows = chunk.Select(i =>
            {
                var command = Command(i);
                return new RunRow
                {
                    PartitionKey = partition,
                    RowKey = TableKeys.Escape(command.Name!),
                    Entity = Entity,
                    Project = Project,
                    RunId = command.Name!,
                    DisplayName = command.DisplayName,
                    Config = RunJson.NormaliseConfig(command.Config!),
                    Summary = RunJson.RequireObject(command.SummaryMetrics!, "summaryMetrics", RunJson.MaxSummaryChars),
                    Tags = JsonSerializer.Serialize(command.Tags),
                    Group = command.GroupName,
                    JobType = command.JobType,
                    Host = command.Host,
                    State = command.State!,
                    CreatedBy = _admin.UserName,
                    CreatedAt = now.AddMilliseconds(i),
                    UpdatedAt = now,
                    HeartbeatAt = now,
                    IndexedHeartbeatAt = now,
                };
            }).ToList();
            await table.SubmitBatchAsync(rows.Select(r => new TableTransactionAction(TableTransactionActionType.Add, r)).ToList(), ct);
            var time = RunChangeLog.TimeKey(DateTimeOffset.UtcNow);
            await changes.SubmitBatchAsync(rows.Select(r => new TableTransactionAction(TableTransactionActionType.UpsertReplace, new RunChangeRow
            {
                PartitionKey = partition,
                RowKey = TableKeys.Compose(time, r.RunId, "seed"),
                RunId = r.RunId,
                LeaseSeconds = 0, // written once: a cold index load need not re-read these runs
            })).ToList(), ct);
        });
        return watch.Elapsed;
    }

    private UpsertRunCommand Command(int i) => new()
    {
        Entity = Entity,
        Project = Project,
        Name = RunId(i),
        DisplayName = $"run-{i}",
        Config = JsonSerializer.Serialize(new { lr = 0.001 * (1 + i % 10), optimizer = Optimizers[i % 3], layers = 2 + i % 4 }),
        SummaryMetrics = FormattableString.Invariant($"{{\"loss\": {1.0 / (2 + i)}, \"acc\": {0.5 + (i % 50) / 100.0}}}"),
        Tags = i % 5 == 0 ? ["baseline"] : [],
        GroupName = $"g{i % 4}",
        JobType = i % 2 == 0 ? "train" : "eval",
        Host = "gpu-node-1",
        State = i % 7 == 3 ? "failed" : "finished",
    };

    /// <summary>
    /// History of one run: <paramref name="steps"/> lines of <paramref name="metrics"/> (value
    /// <c>f(metric, step)</c>), posted in batches of <paramref name="batch"/> lines as file_stream would.
    /// A metric named "spike" is 1 except 100 at <paramref name="spikeStep"/>. <paramref name="timeKeys"/>:
    /// also log _runtime and _timestamp (the relative and wall time x axes). <paramref name="from"/>: the
    /// first line to post (a resumed seed posts the lines a run does not have yet; line i is step i). Ends as the
    /// run completes: its pending rollup pages are written.
    /// </summary>
    public async Task AppendHistoryAsync(string runId, IReadOnlyList<string> metrics, long steps, long spikeStep = -1, int batch = 20_000, bool timeKeys = true, long from = 0)
    {
        var history = services.GetRequiredService<HistoryStore>();
        var key = new RunKey(Entity, Project, runId);
        var seed = runId.GetHashCode(StringComparison.Ordinal) & 0xffff;
        var line = new StringBuilder();
        for (var offset = from; offset < steps; offset += batch)
        {
            var lines = new List<string>(batch);
            for (var step = offset; step < Math.Min(steps, offset + batch); step++)
            {
                line.Clear().Append("{\"_step\":").Append(step);
                foreach (var metric in metrics)
                {
                    var value = metric == "spike" ? (step == spikeStep ? 100.0 : 1.0) : Value(metric, step, steps, seed);
                    line.Append(",\"").Append(metric).Append("\":").Append(value.ToString("0.#####", CultureInfo.InvariantCulture));
                }
                if (timeKeys)
                {
                    line.Append(",\"_runtime\":").Append((step * 0.01).ToString("0.##", CultureInfo.InvariantCulture))
                        .Append(",\"_timestamp\":").Append(1_795_000_000 + step / 100);
                }
                line.Append('}');
                lines.Add(line.ToString());
            }
            await history.AppendHistoryAsync(key, offset, lines);
        }
        // The seeded runs are finished: a completing run's file_stream writes its pending rollup pages,
        // so its charts read pages, not the raw tail.
        await history.FlushRollupsAsync(key);
    }

    /// <summary>System metrics, console output (ANSI colours, stderr) and a file of one run.</summary>
    public async Task AddRunExtrasAsync(string runId)
    {
        var key = new RunKey(Entity, Project, runId);
        await services.GetRequiredService<EventsStore>().AppendAsync(key, 0, Enumerable.Range(0, 60).Select(i => FormattableString.Invariant($"{{\"system.cpu\": {20 + i % 30}, \"system.gpu.0.gpu\": {i % 100}, \"_runtime\": {i * 10}, \"_timestamp\": {1_795_000_000 + i * 10}}}")).ToList());
        await services.GetRequiredService<ConsoleLogStore>().WriteAsync(key, 0, ["epoch 1 starting", "ERROR \u001b[31mWARNING\u001b[0m disk nearly full", "\u001b[32mloss improved\u001b[0m", "done"]);
        var files = await services.GetRequiredService<StorageAccount>().ContainerAsync(RunFileService.FilesContainer);
        await files.UploadAsync(key.BlobPrefix + "config.yaml", BinaryData.FromString("lr: 0.001\n"), "text/yaml");
    }

    private static double Value(string metric, long step, long steps, int seed)
    {
        var t = (double)step / Math.Max(1, steps);
        var phase = (metric.GetHashCode(StringComparison.Ordinal) ^ seed) % 100 / 100.0;
        return metric.Contains("acc", StringComparison.Ordinal)
            ? 0.5 + 0.45 * t + 0.02 * Math.Sin(step / 50.0 + phase)
            : Math.Exp(-3 * t) + 0.05 * Math.Sin(step / 37.0 + phase) + 0.1;
    }
}
