using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Weightless.EndToEnd.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Weightless.EndToEnd.Tests;

/// <summary>
/// Clients resend a file_stream post when they miss the answer (timeouts, 5xx, restarts). The
/// same post sent again, in any order or at the same time, must leave the history exactly as one
/// send does: nothing duplicated, nothing lost.
/// </summary>
public sealed class FileStreamRetryTests(DevHostFixture fixture, ITestOutputHelper output) : IClassFixture<DevHostFixture>
{
    private const string Project = "e2e-retry";
    private const int LinesPerPost = 100;
    private const int Repeats = 5;

    [Fact]
    public async Task RepeatedPostsSentSequentiallyStoreTheHistoryOnce()
    {
        await VerifyStormAsync("sequential", async (client, run, posts) =>
        {
            foreach (var post in posts.SelectMany(p => Enumerable.Repeat(p, Repeats)))
            {
                await PostOkAsync(client, run, post);
            }
        });
    }

    [Fact]
    public async Task RepeatedPostsSentShuffledStoreTheHistoryOnce()
    {
        var seed = Environment.TickCount;
        output.WriteLine($"shuffle seed {seed}");
        await VerifyStormAsync("shuffled", async (client, run, posts) =>
        {
            var sends = posts.SelectMany(p => Enumerable.Repeat(p, Repeats)).ToArray();
            new Random(seed).Shuffle(sends);
            foreach (var post in sends)
            {
                await PostOkAsync(client, run, post);
            }
        });
    }

    [Fact]
    public async Task RepeatedPostsSentConcurrentlyStoreTheHistoryOnce()
    {
        await VerifyStormAsync("concurrent", async (client, run, posts) =>
        {
            var sends = posts.SelectMany(p => Enumerable.Repeat(p, Repeats)).Select(post => PostOkAsync(client, run, post));
            await Task.WhenAll(sends);
        });
    }

    private async Task VerifyStormAsync(string name, Func<WandbWireClient, string, IReadOnlyList<string>, Task> storm)
    {
        var host = fixture.Host;
        var user = await host.CreateUniqueUserAsync("retry");
        using var client = new WandbWireClient(host, user);
        IReadOnlyList<string> posts = [HistoryPost(0), HistoryPost(LinesPerPost)];

        // The reference: each post sent once.
        var once = "once" + Guid.NewGuid().ToString("N")[..6];
        await client.UpsertRunAsync(Project, once);
        foreach (var post in posts)
        {
            await PostOkAsync(client, once, post);
        }
        var reference = await client.ReadHistoryAsync(user.Name, Project, once, stepLimit: 2 * LinesPerPost);
        AssertLinesAreTheSent(reference);

        var stormed = name + Guid.NewGuid().ToString("N")[..6];
        await client.UpsertRunAsync(Project, stormed);
        await storm(client, stormed, posts);

        var stored = await client.RequireRunAsync(user.Name, Project, stormed);
        Assert.Equal(2 * LinesPerPost, stored.HistoryLineCount);
        var history = await client.ReadHistoryAsync(user.Name, Project, stormed, stepLimit: 2 * LinesPerPost);
        Assert.Equal(reference, history);
    }

    private static async Task PostOkAsync(WandbWireClient client, string run, string body)
    {
        var response = await client.PostFileStreamAsync(client.User.Name, Project, run, body);
        Assert.True(response.Status == HttpStatusCode.OK, client.Host.Describe($"file_stream answered {response}"));
    }

    private static void AssertLinesAreTheSent(IReadOnlyList<string> history)
    {
        Assert.Equal(2 * LinesPerPost, history.Count);
        for (var i = 0; i < history.Count; i++)
        {
            Assert.True(LenientJson.SameValue(Line(i), history[i]), $"line {i}: sent {Line(i)}, stored {history[i]}");
        }
    }

    /// <summary>One post as the JS SDK sends it: history lines at an offset plus the summary so far.</summary>
    private static string HistoryPost(int offset)
    {
        var lines = Enumerable.Range(offset, LinesPerPost).Select(Line).ToArray();
        var body = new JsonObject
        {
            ["files"] = new JsonObject
            {
                ["wandb-history.jsonl"] = new JsonObject { ["offset"] = offset, ["content"] = new JsonArray(lines.Select(l => (JsonNode)JsonValue.Create(l)!).ToArray()) },
                ["wandb-summary.json"] = new JsonObject { ["offset"] = 0, ["content"] = new JsonArray(lines[^1]) },
            },
        };
        return body.ToJsonString();
    }

    private static string Line(int step) => string.Create(CultureInfo.InvariantCulture,
        $$"""{"loss":{{1.0 / (step + 3)}},"acc":{{step * 0.001 + 0.5}},"nested":{"lr":{{0.01 * Math.Pow(0.99, step)}}},"_step":{{step}},"_runtime":{{step * 0.25}},"_timestamp":{{1795889130.5 + step}}}""");
}
