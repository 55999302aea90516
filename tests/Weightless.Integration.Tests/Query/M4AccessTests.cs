using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Weightless.Core.History;
using Weightless.Core.Runs;
using Weightless.Integration.Tests.Runs;

namespace Weightless.Integration.Tests.Query;

/// <summary>
/// The M4 chart call checks each run's existence concurrently with its history reads: whatever those reads found,
/// a missing or deleted run among existing ones is a 404 naming it, and a caller without access gets a 404 and no data.
/// </summary>
public sealed class M4AccessTests(WandbTestHost host) : IClassFixture<WandbTestHost>
{
    private const int Steps = 3000;

    private static double Value(long step) => step == 1234 ? 1e6 : Math.Cos(step / 50.0);

    [Fact]
    public async Task A_missing_or_deleted_run_among_charted_ones_is_a_404_naming_it_and_a_stranger_gets_a_404_without_data()
    {
        var (owner, ownerKey) = await host.NewUserAsync();
        var (_, strangerKey) = await host.NewUserAsync();
        var ingestor = host.Services.GetRequiredService<FileStreamIngestor>();
        foreach (var id in new[] { "a", "b", "c" })
        {
            await host.DataAsync(ownerKey, WandbDocuments.UpsertBucket, new { entity = owner, project = "charts", name = id });
            var lines = Enumerable.Range(0, Steps).Select(step => $"{{\"_step\": {step}, \"loss\": {Value(step).ToString("R", CultureInfo.InvariantCulture)}}}").ToList();
            var body = JsonSerializer.SerializeToUtf8Bytes(new { files = new Dictionary<string, object> { [FileStreamRequest.HistoryFile] = new { offset = 0, content = lines } } });
            await ingestor.ApplyAsync(new RunKey(owner, "charts", id), FileStreamRequest.Parse(body), CancellationToken.None);
        }
        var runs = $"/api/v1/entities/{owner}/projects/charts/runs";
        using var client = host.Client(ownerKey);

        // All present: every series, exact (the spike at step 1234 in the bucket holding it).
        var ok = await client.PostAsJsonAsync(runs + "/history/m4", new { runs = new[] { "a", "b", "c" }, metrics = new[] { "loss" }, buckets = 30 });
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        var answer = await ok.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(["a", "b", "c"], answer.GetProperty("series").EnumerateArray().Select(s => s.GetProperty("run").GetString()!));
        foreach (var series in answer.GetProperty("series").EnumerateArray())
        {
            var buckets = series.GetProperty("buckets").EnumerateArray().ToList();
            Assert.Equal(Steps, buckets.Sum(b => b.GetProperty("count").GetInt64()));
            Assert.Contains(buckets, b => b.GetProperty("max").GetProperty("x").GetDouble() == 1234 && b.GetProperty("max").GetProperty("y").GetDouble() == 1e6);
        }

        // A missing run between existing ones, in either answer format: 404 naming it, no series.
        foreach (var format in new[] { "", "?format=columns" })
        {
            var missing = await client.PostAsJsonAsync(runs + "/history/m4" + format, new { runs = new[] { "a", "nope", "b" }, metrics = new[] { "loss" }, buckets = 30 });
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
            var problem = await missing.Content.ReadAsStringAsync();
            Assert.Contains("nope", problem, StringComparison.Ordinal);
            Assert.DoesNotContain("series", problem, StringComparison.Ordinal);
        }

        // A deleted run still has its history stored (the reads alongside find it): still a 404 naming it.
        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync(runs + "/c")).StatusCode);
        var deleted = await client.PostAsJsonAsync(runs + "/history/m4", new { runs = new[] { "a", "c" }, metrics = new[] { "loss" }, buckets = 30 });
        Assert.Equal(HttpStatusCode.NotFound, deleted.StatusCode);
        Assert.Contains("'c'", await deleted.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        // Another user (no role in the owner's entity): 404 for the whole call, and no data, in both formats.
        using var stranger = host.Client(strangerKey);
        foreach (var format in new[] { "", "?format=columns" })
        {
            var denied = await stranger.PostAsJsonAsync(runs + "/history/m4" + format, new { runs = new[] { "a", "b" }, metrics = new[] { "loss" }, buckets = 30 });
            Assert.Equal(HttpStatusCode.NotFound, denied.StatusCode);
            Assert.DoesNotContain("series", await denied.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        Assert.Equal(HttpStatusCode.NotFound, (await stranger.GetAsync(runs + "/a/history/m4?metrics=loss&format=columns")).StatusCode);
    }
}
