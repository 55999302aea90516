using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Weightless.Core.History;
using Weightless.Core.Runs;
using Weightless.Core.Storage;
using Weightless.Integration.Tests.Runs;

namespace Weightless.Integration.Tests.Query;

/// <summary>Chart calls over wide step ranges read the stored M4 rollups, not the raw history chunks.</summary>
public sealed class ChartReadTests(WandbTestHost host) : IClassFixture<WandbTestHost>
{
    private const long Steps = 65_536;

    private static double Value(long step) => step == 40_000 ? 1e9 : step == 12_345 ? -1e9 : Math.Sin(step / 300.0);

    [Fact]
    public async Task A_wide_range_chart_reads_rollup_pages_only_and_still_answers_once_raw_chunks_are_gone()
    {
        var (user, key) = await host.NewUserAsync();
        await host.DataAsync(key, WandbDocuments.UpsertBucket, new { entity = user, project = "charts", name = "long" });
        var run = new RunKey(user, "charts", "long");
        var ingestor = host.Services.GetRequiredService<FileStreamIngestor>();
        for (long offset = 0; offset < Steps; offset += 8192)
        {
            var lines = Enumerable.Range(0, 8192).Select(i => offset + i).Select(step =>
                $"{{\"_step\": {step}, \"loss\": {Value(step).ToString("R", CultureInfo.InvariantCulture)}}}").ToList();
            var body = JsonSerializer.SerializeToUtf8Bytes(new { files = new Dictionary<string, object> { [FileStreamRequest.HistoryFile] = new { offset, content = lines } } });
            await ingestor.ApplyAsync(run, FileStreamRequest.Parse(body), CancellationToken.None);
        }
        using var client = host.Client(key);
        var url = $"/api/v1/entities/{user}/projects/charts/runs/long/history/m4?metrics=loss&buckets=16&min=0&max={Steps - 1}";
        var metrics = host.Services.GetRequiredService<StorageMetrics>();

        var before = metrics.Snapshot();
        var response = await client.GetAsync(url);
        var operations = Delta(before, metrics.Snapshot());
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var wide = await response.Content.ReadFromJsonAsync<JsonElement>();
        var series = wide.GetProperty("series")[0];
        Assert.Equal("rollup", series.GetProperty("source").GetString());
        // Auth, project and run rows, the key index, one range query of rollup pages: no chunk reads.
        Assert.True(operations.GetValueOrDefault("table.query.ok") <= 3, string.Join(", ", operations));
        AssertExact(series, 16);

        // Remove every raw chunk of the run: the wide chart still answers the same from rollups alone,
        // while a narrow (raw) range now finds nothing.
        var table = await host.Services.GetRequiredService<HistoryStore>().Stream.TableAsync();
        var chunks = new List<TableTransactionAction>();
        await foreach (var entity in table.QueryPartitionAsync<TableEntity>(run.PartitionKey, "c:", "c;"))
        {
            chunks.Add(new TableTransactionAction(TableTransactionActionType.Delete, entity, Azure.ETag.All));
        }
        Assert.NotEmpty(chunks);
        await table.SubmitBatchAsync(chunks);
        var again = await client.GetFromJsonAsync<JsonElement>(url);
        Assert.Equal(wide.GetRawText(), again.GetRawText());
        var narrow = await client.GetFromJsonAsync<JsonElement>($"/api/v1/entities/{user}/projects/charts/runs/long/history/m4?metrics=loss&buckets=100&min=0&max=999");
        Assert.Equal("raw", narrow.GetProperty("series")[0].GetProperty("source").GetString());
        Assert.Equal(0, narrow.GetProperty("series")[0].GetProperty("buckets").EnumerateArray().Sum(b => b.GetProperty("count").GetInt64()));
    }

    private static void AssertExact(JsonElement series, int buckets)
    {
        var width = Steps / buckets;
        var actual = series.GetProperty("buckets").EnumerateArray().ToList();
        Assert.Equal(buckets, actual.Count);
        for (var b = 0; b < buckets; b++)
        {
            var steps = Enumerable.Range(0, (int)width).Select(i => b * width + i).ToList();
            var values = steps.Select(Value).ToList();
            Assert.Equal(width, actual[b].GetProperty("count").GetInt64());
            Assert.Equal(values.Max(), actual[b].GetProperty("max").GetProperty("y").GetDouble());
            Assert.Equal(values.Min(), actual[b].GetProperty("min").GetProperty("y").GetDouble());
            Assert.Equal(steps[values.IndexOf(values.Max())], actual[b].GetProperty("max").GetProperty("x").GetDouble());
            Assert.Equal(steps[0], actual[b].GetProperty("first").GetProperty("x").GetDouble());
            Assert.Equal(values[^1], actual[b].GetProperty("last").GetProperty("y").GetDouble());
        }
    }

    private static Dictionary<string, long> Delta(IReadOnlyDictionary<string, long> before, IReadOnlyDictionary<string, long> after) =>
        after.Where(kv => kv.Value != before.GetValueOrDefault(kv.Key)).ToDictionary(kv => kv.Key, kv => kv.Value - before.GetValueOrDefault(kv.Key));
}
