using System.Net;
using System.Text.Json.Nodes;
using Weightless.EndToEnd.Tests.Infrastructure;

namespace Weightless.EndToEnd.Tests;

/// <summary>
/// What file_stream does with input no well-behaved client sends, or that pushes the limits. Each
/// case has one expected outcome: a clear 4xx problem (nothing stored), or correct storage. Never
/// a 500, which the Python/Go clients would retry for days.
/// </summary>
public sealed class FileStreamBadInputTests(DevHostFixture fixture) : IClassFixture<DevHostFixture>
{
    private const string Project = "e2e-bad-input";

    [Fact]
    public async Task MalformedJsonIsA400ProblemAndStoresNothing()
    {
        var (client, run) = await NewRunAsync();
        using (client)
        {
            foreach (var body in new[] { """{"files": {"wandb-history.jsonl": {"offset": 0, "content": ["{}"]""", "not json", "", "[1, 2]", "\"files\"" })
            {
                var response = await client.PostFileStreamAsync(client.User.Name, Project, run, body);
                AssertProblem(response, HttpStatusCode.BadRequest, "body", body);
            }
            Assert.Equal(0, (await client.RequireRunAsync(client.User.Name, Project, run)).HistoryLineCount);
        }
    }

    [Theory]
    [InlineData("\"0\"")]
    [InlineData("\"abc\"")]
    [InlineData("1.5")]
    [InlineData("-1")]
    [InlineData("true")]
    [InlineData("{}")]
    [InlineData("[0]")]
    public async Task AnOffsetThatIsNotALineNumberIsA400NamingTheField(string offset)
    {
        var (client, run) = await NewRunAsync();
        using (client)
        {
            var body = """{"files": {"wandb-history.jsonl": {"offset": """ + offset + """, "content": ["{\"loss\": 1, \"_step\": 0}"]}}}""";
            var response = await client.PostFileStreamAsync(client.User.Name, Project, run, body);
            AssertProblem(response, HttpStatusCode.BadRequest, "offset", body);
            Assert.Equal(0, (await client.RequireRunAsync(client.User.Name, Project, run)).HistoryLineCount);
        }
    }

    [Fact]
    public async Task NaNAndInfinityInLinesAreStoredAsSent()
    {
        var (client, run) = await NewRunAsync();
        using (client)
        {
            string[] lines =
            [
                """{"loss": NaN, "inf": Infinity, "_step": 0}""",
                """{"loss": -Infinity, "nested": {"x": NaN}, "_step": 1}""",
                """{"loss": 0.5, "label": "NaN is a word here", "_step": 2}""",
            ];
            var body = new JsonObject
            {
                ["files"] = new JsonObject
                {
                    ["wandb-history.jsonl"] = new JsonObject { ["offset"] = 0, ["content"] = new JsonArray(lines.Select(l => (JsonNode)JsonValue.Create(l)!).ToArray()) },
                    ["wandb-summary.json"] = new JsonObject { ["offset"] = 0, ["content"] = new JsonArray("""{"loss": NaN, "inf": Infinity, "_step": 2}""") },
                },
            }.ToJsonString();
            var response = await client.PostFileStreamAsync(client.User.Name, Project, run, body);
            Assert.True(response.Status == HttpStatusCode.OK, client.Host.Describe($"file_stream answered {response}"));

            var stored = await client.RequireRunAsync(client.User.Name, Project, run);
            Assert.Equal(3, stored.HistoryLineCount);
            Assert.NotNull(stored.Summary);
            Assert.True(stored.Summary!.ContainsKey("loss") && stored.Summary.ContainsKey("inf"), $"summary: {stored.SummaryText}");
            var history = await client.ReadHistoryAsync(client.User.Name, Project, run, stepLimit: 3);
            Assert.Equal(3, history.Count);
            for (var i = 0; i < lines.Length; i++)
            {
                Assert.True(LenientJson.SameValue(lines[i], history[i]), $"line {i}: sent {lines[i]}, stored {history[i]}");
            }
        }
    }

    [Fact]
    public async Task ATwoMegabyteValueIsA413AndTheRunStillAcceptsData()
    {
        var (client, run) = await NewRunAsync();
        using (client)
        {
            var huge = new string('x', 2 * 1024 * 1024);
            var line = new JsonObject { ["blob"] = huge, ["_step"] = 0 }.ToJsonString();
            var body = new JsonObject
            {
                ["files"] = new JsonObject { ["wandb-history.jsonl"] = new JsonObject { ["offset"] = 0, ["content"] = new JsonArray(line) } },
            }.ToJsonString();
            var response = await client.PostFileStreamAsync(client.User.Name, Project, run, body);
            AssertProblem(response, HttpStatusCode.RequestEntityTooLarge, "blob", "a 2 MB value");
            Assert.Equal(0, (await client.RequireRunAsync(client.User.Name, Project, run)).HistoryLineCount);

            // The client drops the line it cannot send; what follows is stored normally.
            var next = """{"files": {"wandb-history.jsonl": {"offset": 0, "content": ["{\"loss\": 1, \"_step\": 0}"]}}}""";
            var accepted = await client.PostFileStreamAsync(client.User.Name, Project, run, next);
            Assert.True(accepted.Status == HttpStatusCode.OK, client.Host.Describe($"file_stream answered {accepted}"));
            Assert.Equal(1, (await client.RequireRunAsync(client.User.Name, Project, run)).HistoryLineCount);
        }
    }

    [Fact]
    public async Task UnknownFieldsAndFilesAreIgnored()
    {
        var (client, run) = await NewRunAsync();
        using (client)
        {
            var body = """
                {
                  "files": {
                    "wandb-history.jsonl": {"offset": 0, "content": ["{\"loss\": 1, \"_step\": 0}", "{\"loss\": 0.5, \"_step\": 1}"], "encoding": "utf-8", "extra": {"a": [1]}},
                    "some-future-file.bin": {"offset": 0, "content": ["whatever"]}
                  },
                  "dropped": 0,
                  "uploaded": [],
                  "x_future_flag": true,
                  "clientId": "abc",
                  "limits": {"rate": 1}
                }
                """;
            var response = await client.PostFileStreamAsync(client.User.Name, Project, run, body);
            Assert.True(response.Status == HttpStatusCode.OK, client.Host.Describe($"file_stream answered {response}"));
            Assert.Equal(2, (await client.RequireRunAsync(client.User.Name, Project, run)).HistoryLineCount);
            var history = await client.ReadHistoryAsync(client.User.Name, Project, run, stepLimit: 2);
            Assert.Equal(2, history.Count);
            Assert.True(LenientJson.SameValue("""{"loss": 0.5, "_step": 1}""", history[1]), history[1]);
        }
    }

    [Fact]
    public async Task AStreamForAnUnknownRunIsA404()
    {
        var host = fixture.Host;
        var user = await host.CreateUniqueUserAsync("badinput");
        using var client = new WandbWireClient(host, user);
        var body = """{"files": {"wandb-history.jsonl": {"offset": 0, "content": ["{\"loss\": 1, \"_step\": 0}"]}}}""";

        var unknownRun = await client.PostFileStreamAsync(user.Name, Project, "neverupserted", body);
        AssertProblem(unknownRun, HttpStatusCode.NotFound, "neverupserted", "unknown run");
        Assert.Null(await client.ReadRunAsync(user.Name, Project, "neverupserted"));

        // Another tenant's entity looks exactly like a missing one (no existence leak).
        var other = await host.CreateUniqueUserAsync("other");
        using var otherClient = new WandbWireClient(host, other);
        await otherClient.UpsertRunAsync(Project, "theirs");
        var foreign = await client.PostFileStreamAsync(other.Name, Project, "theirs", body);
        AssertProblem(foreign, HttpStatusCode.NotFound, null, "another user's run");
        Assert.Equal(0, (await otherClient.RequireRunAsync(other.Name, Project, "theirs")).HistoryLineCount);
    }

    private async Task<(WandbWireClient Client, string Run)> NewRunAsync()
    {
        var host = fixture.Host;
        var user = await host.CreateUniqueUserAsync("badinput");
        var client = new WandbWireClient(host, user);
        var run = "r" + Guid.NewGuid().ToString("N")[..7];
        await client.UpsertRunAsync(Project, run);
        return (client, run);
    }

    /// <summary>A 4xx RFC 7807 problem (never 500) that mentions <paramref name="mentions"/> so a user can act on it.</summary>
    private static void AssertProblem(WireResponse response, HttpStatusCode expected, string? mentions, string input)
    {
        Assert.True(response.Status != HttpStatusCode.InternalServerError, $"500 for {LenientJson.Shorten(input, 120)}: {response}");
        Assert.True(response.Status == expected, $"expected {(int)expected} for {LenientJson.Shorten(input, 120)}, got {response}");
        var problem = response.Json as JsonObject;
        Assert.True(problem is not null && problem["status"]?.GetValue<int>() == (int)expected && problem["detail"] is not null,
            $"expected a problem details body for {LenientJson.Shorten(input, 120)}, got {response}");
        if (mentions is not null)
        {
            Assert.Contains(mentions, response.Body, StringComparison.OrdinalIgnoreCase);
        }
    }
}
