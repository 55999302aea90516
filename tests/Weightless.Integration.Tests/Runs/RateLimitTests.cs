using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Weightless.Integration.Tests.Runs;

/// <summary>Per-project rate limits on file_stream and run creation (seed §1.8), switched on with limits so tiny (one token per 100 s) that a slow machine cannot refill a bucket mid-test.</summary>
public sealed class RateLimitTests : IAsyncLifetime
{
    private readonly WandbTestHost _host = new();

    public Task InitializeAsync()
    {
        _host.Settings["RateLimits:Enabled"] = "true";
        _host.Settings["RateLimits:FileStreamPerProjectPerSecond"] = "0.01";
        _host.Settings["RateLimits:RunCreationsPerProjectPerSecond"] = "0.01";
        return _host.InitializeAsync();
    }

    public Task DisposeAsync() => _host.DisposeAsync();

    [Fact]
    public async Task File_stream_answers_carry_RateLimit_headers_and_the_post_over_the_limit_is_429_with_Retry_After()
    {
        var (user, key) = await _host.NewUserAsync();
        // One run creation per project fits the burst of 1.
        await _host.DataAsync(key, WandbDocuments.UpsertBucket, new { name = "limited", project = "rl", entity = user });

        using var client = _host.Client(key);
        var body = new { files = new Dictionary<string, object> { ["wandb-history.jsonl"] = new { offset = 0, content = new[] { "{\"_step\":0,\"loss\":1}" } } } };
        using var first = await client.PostAsync($"/files/{user}/rl/limited/file_stream", Json(body));
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal("1", Header(first, "RateLimit-Limit"));
        Assert.Equal("0", Header(first, "RateLimit-Remaining"));
        Assert.True(int.Parse(Header(first, "RateLimit-Reset")) >= 1);

        using var second = await client.PostAsync($"/files/{user}/rl/limited/file_stream", Json(body));
        Assert.Equal((HttpStatusCode)429, second.StatusCode);
        Assert.Equal("application/problem+json", second.Content.Headers.ContentType?.MediaType);
        Assert.True(int.Parse(second.Headers.RetryAfter!.Delta!.Value.TotalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture)) >= 1);
        Assert.Equal("0", Header(second, "RateLimit-Remaining"));
        var problem = await second.Content.ReadFromJsonAsync<JsonObject>();
        Assert.Equal(429, problem!["status"]!.GetValue<int>());

        // The refused post stored nothing: history still holds the one row.
        var run = await _host.DataAsync(key, WandbDocuments.Run, new { project = "rl", entity = user, name = "limited" });
        Assert.Equal(1, run["project"]!["run"]!["historyLineCount"]!.GetValue<int>());

        // Another project has its own bucket.
        await _host.DataAsync(key, WandbDocuments.UpsertBucket, new { name = "other", project = "rl2", entity = user });
        using var elsewhere = await client.PostAsync($"/files/{user}/rl2/other/file_stream", Json(body));
        Assert.Equal(HttpStatusCode.OK, elsewhere.StatusCode);
    }

    [Fact]
    public async Task UpsertBucket_creating_runs_over_the_limit_is_HTTP_429_while_updates_pass()
    {
        var (user, key) = await _host.NewUserAsync();
        var (status, created) = await _host.GraphQLAsync(key, WandbDocuments.UpsertBucket, new { name = "a", project = "rlc", entity = user });
        Assert.True(status == 200 && created["errors"] is null, created.ToJsonString());

        using var client = _host.Client(key);
        var payload = new { query = WandbDocuments.UpsertBucket, variables = new { name = "b", project = "rlc", entity = user } };
        using var refused = await client.PostAsJsonAsync("/graphql", payload);
        Assert.Equal((HttpStatusCode)429, refused.StatusCode);
        Assert.NotNull(refused.Headers.RetryAfter);
        Assert.Equal("1", Header(refused, "RateLimit-Limit"));

        // Updating an existing run is not a creation and is not limited.
        var updated = await _host.DataAsync(key, WandbDocuments.UpsertBucket, new { name = "a", project = "rlc", entity = user, notes = "n" });
        Assert.False(updated["upsertBucket"]!["inserted"]!.GetValue<bool>());
        var missing = await _host.DataAsync(key, WandbDocuments.RunResumeStatus, new { project = "rlc", entity = user, name = "b" });
        Assert.Null(missing["model"]!["bucket"]);
    }

    private static string Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.Single() : throw new Xunit.Sdk.XunitException($"No {name} header.");

    private static StringContent Json(object body) => new(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");
}
