using System.Text.Json;
using System.Text.Json.Nodes;
using Weightless.EndToEnd.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Weightless.EndToEnd.Tests;

/// <summary>
/// The official JS client (@wandb/sdk 0.5.1, unmodified, in a node process) logs a run against the
/// dev host; everything it sent is read back through the service's GraphQL API and compared.
/// </summary>
public sealed class WandbJsSdkTests(DevHostFixture fixture, ITestOutputHelper output) : IClassFixture<DevHostFixture>
{
    private const string Project = "e2e-js";

    [Fact]
    public async Task TwoHundredStepRunIsStoredExactly()
    {
        var (client, run) = await LogRunAsync(steps: 200, spikeStep: 137, TimeSpan.FromSeconds(90));
        using (client)
        {
            await VerifyStoredRunAsync(client, run, steps: 200);

            // run.history(keys=["_step","loss"]): every step fits in 500 samples, so nothing may be left out.
            var sampled = await client.ReadSampledHistoryAsync(run.Entity, run.Project, run.RunId, ["_step", "loss"], samples: 500);
            Assert.Equal(200, sampled.Count);
            for (var step = 0; step < 200; step++)
            {
                var logged = LenientJson.ParseObject(run.LoggedRows[step]);
                var row = Assert.IsType<JsonObject>(sampled[step]);
                Assert.Equal(step, row["_step"]!.GetValue<double>());
                Assert.Equal(logged["loss"]!.GetValue<double>(), row["loss"]!.GetValue<double>());
            }
            Assert.Equal(1234.5, sampled[137]!["loss"]!.GetValue<double>());
        }
    }

    [Fact]
    public async Task TenThousandStepRunIsStoredExactly()
    {
        var (client, run) = await LogRunAsync(steps: 10_000, spikeStep: 7_321, TimeSpan.FromSeconds(150));
        using (client)
        {
            await VerifyStoredRunAsync(client, run, steps: 10_000);
        }
    }

    private async Task<(WandbWireClient Client, JsSdkRun Run)> LogRunAsync(int steps, int spikeStep, TimeSpan timeout)
    {
        var host = fixture.Host;
        var user = await host.CreateUniqueUserAsync("jssdk");
        var started = DateTime.UtcNow;
        var run = await WandbJsSdk.RunAsync(host, user, Project, steps, spikeStep, timeout);
        output.WriteLine($"@wandb/sdk logged {steps} steps as {run.Entity}/{run.Project}/{run.RunId} in {(DateTime.UtcNow - started).TotalSeconds:0.0} s");
        Assert.Equal(user.Name, run.Entity);
        Assert.Equal(steps, run.LoggedRows.Count);
        return (new WandbWireClient(host, user), run);
    }

    private async Task VerifyStoredRunAsync(WandbWireClient client, JsSdkRun run, int steps)
    {
        var host = client.Host;
        var stored = await client.RequireRunAsync(run.Entity, run.Project, run.RunId);
        Assert.True(stored.State == "finished", host.Describe($"state is '{stored.State}', expected 'finished'"));
        Assert.Equal(steps, stored.HistoryLineCount);

        // The JS SDK sends its config raw; a server may keep it raw or W&B-wrapped ({"k": {"value": v}}).
        var expectedConfig = JsonNode.Parse("""{"lr":0.01,"arch":{"layers":3,"act":"relu"}}""");
        Assert.True(JsonNode.DeepEquals(expectedConfig, Unwrapped(stored.Config)), $"config: {stored.ConfigText}");

        var last = LenientJson.ParseObject(run.LoggedRows[^1]);
        Assert.NotNull(stored.Summary);
        foreach (var key in new[] { "loss", "accuracy", "_step" })
        {
            Assert.True(stored.Summary!.ContainsKey(key), $"summary lacks {key}: {stored.SummaryText}");
            Assert.Equal(last[key]!.GetValue<double>(), stored.Summary[key]!.GetValue<double>());
        }
        Assert.Equal(last["nested"]!["lr"]!.GetValue<double>(), stored.Summary!["nested"]?["lr"]?.GetValue<double>());
        Assert.Equal(last["nested"]!["grad"]!["norm"]!.GetValue<double>(), stored.Summary["nested"]?["grad"]?["norm"]?.GetValue<double>());
        Assert.True(stored.Summary.ContainsKey("_runtime") && stored.Summary.ContainsKey("_timestamp"), $"summary lacks _runtime/_timestamp: {stored.SummaryText}");

        var history = await client.ReadHistoryAsync(run.Entity, run.Project, run.RunId, stepLimit: steps);
        Assert.Equal(steps, history.Count);
        var mismatches = new List<string>();
        for (var step = 0; step < steps && mismatches.Count < 10; step++)
        {
            var expected = LenientJson.ParseObject(run.LoggedRows[step]);
            var actual = LenientJson.ParseObject(history[step]);
            foreach (var (key, value) in expected)
            {
                if (!JsonNode.DeepEquals(NumbersAsDoubles(value), NumbersAsDoubles(actual[key])))
                {
                    mismatches.Add($"step {step} {key}: logged {value?.ToJsonString()}, stored {actual[key]?.ToJsonString()}");
                }
            }
            if (actual["_runtime"] is not JsonValue runtime || runtime.GetValueKind() != JsonValueKind.Number
                || actual["_timestamp"] is not JsonValue timestamp || timestamp.GetValueKind() != JsonValueKind.Number)
            {
                mismatches.Add($"step {step}: _runtime/_timestamp missing: {history[step]}");
            }
        }
        Assert.True(mismatches.Count == 0, "stored history differs from what was logged:\n" + string.Join("\n", mismatches));
        Assert.Equal(1234.5, LenientJson.ParseObject(history[run.SpikeStep])["loss"]!.GetValue<double>());
    }

    /// <summary>Raw config as sent by JS, whether the server stored it raw or wrapped every key as {"value": …}.</summary>
    private static JsonNode? Unwrapped(JsonNode? config)
    {
        if (config is not JsonObject obj || obj.Count == 0 || !obj.All(p => p.Value is JsonObject inner && inner.ContainsKey("value")))
        {
            return config;
        }
        return new JsonObject(obj.Where(p => p.Key != "_wandb").Select(p => KeyValuePair.Create(p.Key, p.Value!["value"]?.DeepClone())));
    }

    private static JsonNode? NumbersAsDoubles(JsonNode? node) => node switch
    {
        JsonObject obj => new JsonObject(obj.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => KeyValuePair.Create(p.Key, NumbersAsDoubles(p.Value)))),
        JsonArray array => new JsonArray(array.Select(NumbersAsDoubles).ToArray()),
        JsonValue value when value.GetValueKind() == JsonValueKind.Number => JsonValue.Create(value.GetValue<double>()),
        _ => node?.DeepClone(),
    };
}
