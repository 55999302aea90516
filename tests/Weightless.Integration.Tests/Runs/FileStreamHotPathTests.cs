using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Weightless.Core.Auth;
using Weightless.Core.Errors;
using Weightless.Core.Runs;
using Weightless.Core.Storage;
using Weightless.Tests.Infrastructure;

namespace Weightless.Integration.Tests.Runs;

/// <summary>
/// The per-post path of file_stream: verified API keys and the run row are reused between posts,
/// yet revocation takes effect within its stated bound, a second instance's writes are never
/// overwritten by a cached copy, and concurrent row writes of a project share a transaction
/// without one lost ETag race failing the others.
/// </summary>
public sealed class FileStreamHotPathTests : IAsyncLifetime
{
    private readonly ManualClock _clock = new();
    private readonly string _prefix = AzuriteFixture.NewPrefix();
    private readonly string _adminKey = AzuriteFixture.NewApiKey();
    private WebApplicationFactory<Program> _first = null!;
    private WebApplicationFactory<Program> _second = null!;

    public Task InitializeAsync()
    {
        _first = Instance(_clock);
        _second = Instance(TimeProvider.System);
        _ = _first.Server;
        _ = _second.Server;
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _first.DisposeAsync();
        await _second.DisposeAsync();
    }

    /// <summary>A dev host instance; both share storage (prefix) and admin key, like two Function instances.</summary>
    private WebApplicationFactory<Program> Instance(TimeProvider clock) =>
        new WebApplicationFactory<Program>().WithWebHostBuilder(builder =>
        {
            builder.UseSetting("Storage:ConnectionString", AzuriteFixture.ConnectionString);
            builder.UseSetting("Storage:TablePrefix", _prefix);
            builder.UseSetting("Admin:UserName", "admin");
            builder.UseSetting("Admin:ApiKey", _adminKey);
            builder.UseSetting("DevHost:DurableBackend", "InMemory");
            builder.UseSetting("DevHost:RunTimers", "false");
            builder.ConfigureTestServices(services => services.AddSingleton(clock));
        });

    private static HttpClient Client(WebApplicationFactory<Program> instance, string key)
    {
        var client = instance.CreateClient();
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue(
            "Basic", Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes("api:" + key)));
        return client;
    }

    private static async Task<HttpResponseMessage> PostAsync(WebApplicationFactory<Program> instance, string key, RunKey run, long offset, int lines, string? summary = null)
    {
        var content = Enumerable.Range((int)offset, lines).Select(step => string.Create(CultureInfo.InvariantCulture, $"{{\"loss\": {1.0 / (step + 1)}, \"_step\": {step}}}")).ToArray();
        var files = new Dictionary<string, object> { ["wandb-history.jsonl"] = new { offset, content } };
        if (summary is not null)
        {
            files["wandb-summary.json"] = new { offset = 0, content = new[] { summary } };
        }
        using var client = Client(instance, key);
        return await client.PostAsJsonAsync($"/files/{run.Entity}/{run.Project}/{run.RunId}/file_stream", new { files });
    }

    private async Task<RunKey> NewRunAsync(string key, string project)
    {
        using var client = Client(_first, key);
        var name = "r" + Guid.NewGuid().ToString("N")[..8];
        var response = await client.PostAsJsonAsync("/graphql", new
        {
            query = "mutation U($name: String, $project: String) { upsertBucket(input: {name: $name, modelName: $project}) { bucket { name project { entity { name } } } } }",
            variables = new { name, project },
        });
        var body = await response.Content.ReadFromJsonAsync<JsonObject>();
        var entity = body?["data"]?["upsertBucket"]?["bucket"]?["project"]?["entity"]?["name"]?.GetValue<string>()
            ?? throw new InvalidOperationException(body?.ToJsonString());
        return new RunKey(entity, project, name);
    }

    private async Task<(string User, string Key, string KeyId)> NewUserAsync()
    {
        using var admin = Client(_first, _adminKey);
        var name = "u" + Guid.NewGuid().ToString("N")[..10];
        Assert.True((await admin.PostAsJsonAsync("/api/v1/admin/users", new { name, email = $"{name}@example.invalid" })).IsSuccessStatusCode);
        var created = await (await admin.PostAsJsonAsync($"/api/v1/users/{name}/keys", new { description = "stream" })).Content.ReadFromJsonAsync<JsonObject>();
        return (name, created!["key"]!.GetValue<string>(), created["id"]!.GetValue<string>());
    }

    private static Task<RunRow?> StoredRunAsync(WebApplicationFactory<Program> instance, RunKey run) =>
        instance.Services.GetRequiredService<RunService>().FindRunAsync(run, CancellationToken.None);

    [Fact]
    public async Task A_revoked_key_stops_streaming_within_the_stated_lifetime_and_everywhere_else_at_once()
    {
        var (user, key, keyId) = await NewUserAsync();
        var run = await NewRunAsync(key, "revoke");
        Assert.True((await PostAsync(_first, key, run, 0, 5)).IsSuccessStatusCode);

        using (var owner = Client(_first, key))
        {
            Assert.True((await owner.DeleteAsync($"/api/v1/users/{user}/keys/{keyId}")).IsSuccessStatusCode);
            // Non-streaming endpoints verify the key on every request.
            Assert.Equal(System.Net.HttpStatusCode.Unauthorized, (await owner.GetAsync("/api/v1/viewer")).StatusCode);
        }
        // An instance that never verified the key refuses it at once.
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, (await PostAsync(_second, key, run, 5, 5)).StatusCode);
        // The instance that verified it may stream until the lifetime ends, not after.
        _clock.Advance(Authenticator.StreamingKeyLifetime);
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, (await PostAsync(_first, key, run, 5, 5)).StatusCode);
    }

    [Fact]
    public async Task Consecutive_posts_of_a_run_read_neither_the_key_nor_the_run_row_and_store_the_history_in_one_transaction()
    {
        var run = await NewRunAsync(_adminKey, "hot");
        Assert.True((await PostAsync(_first, _adminKey, run, 0, 10)).IsSuccessStatusCode);
        Assert.True((await PostAsync(_first, _adminKey, run, 10, 10)).IsSuccessStatusCode);
        var metrics = _first.Services.GetRequiredService<StorageAccount>().Metrics;
        var before = metrics.Snapshot();
        const int posts = 10;
        for (var i = 0; i < posts; i++)
        {
            var response = await PostAsync(_first, _adminKey, run, 20 + (i * 10), 10);
            Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        }
        var after = metrics.Snapshot();
        long Delta(string name) => after.GetValueOrDefault(name) - before.GetValueOrDefault(name);
        Assert.Equal(0, Delta("table.get.ok"));
        Assert.Equal(0, Delta("table.query.ok"));
        // One transaction for chunks + rollups + state, one row write (alone: nothing else to group with).
        Assert.Equal(2 * posts, Delta("table.batch.ok") + Delta("table.update.ok"));

        var stored = await StoredRunAsync(_second, run);
        Assert.Equal(120, stored!.HistoryLineCount);
        Assert.Equal(119, stored.LastStep);
    }

    [Fact]
    public async Task A_row_written_by_another_instance_is_not_overwritten_by_a_cached_copy()
    {
        var run = await NewRunAsync(_adminKey, "two");
        Assert.True((await PostAsync(_first, _adminKey, run, 0, 10)).IsSuccessStatusCode);
        // The second instance changes the row (summary) behind the first one's cached copy.
        Assert.True((await PostAsync(_second, _adminKey, run, 10, 10, summary: "{\"best\": 7}")).IsSuccessStatusCode);
        Assert.True((await PostAsync(_first, _adminKey, run, 20, 10)).IsSuccessStatusCode);

        var stored = await StoredRunAsync(_second, run);
        Assert.Equal(30, stored!.HistoryLineCount);
        Assert.Equal(29, stored.LastStep);
        Assert.Equal("{\"best\": 7}", stored.Summary);
    }

    [Fact]
    public async Task A_rewind_started_behind_a_cached_row_answers_conflict_not_success()
    {
        var run = await NewRunAsync(_adminKey, "rewind");
        Assert.True((await PostAsync(_first, _adminKey, run, 0, 10)).IsSuccessStatusCode);
        // Another instance marks the run as being rewound; the first still holds the row it wrote.
        var table = await _second.Services.GetRequiredService<StorageAccount>().TableAsync(RunService.RunsTable);
        var row = (await StoredRunAsync(_second, run))!;
        row.RewindingSince = DateTimeOffset.UtcNow;
        await table.UpdateAsync(row, row.ETag);

        var response = await PostAsync(_first, _adminKey, run, 10, 10);
        Assert.Equal(System.Net.HttpStatusCode.Conflict, response.StatusCode);
        Assert.Equal(System.Net.HttpStatusCode.Conflict, (await PostAsync(_first, _adminKey, run, 10, 10)).StatusCode);
    }

    [Fact]
    public async Task Grouped_row_writes_commit_independently_when_one_loses_its_etag_race()
    {
        var created = new List<RunKey>();
        for (var i = 0; i < 12; i++)
        {
            created.Add(await NewRunAsync(_adminKey, "group"));
        }
        var table = await _first.Services.GetRequiredService<StorageAccount>().TableAsync(RunService.RunsTable);
        var service = _first.Services.GetRequiredService<RunService>();
        var rows = new List<RunRow>();
        foreach (var run in created)
        {
            rows.Add((await service.FindRunAsync(run, CancellationToken.None))!);
        }
        // One row is changed behind our copy: its write must fail alone.
        var fresh = (await service.FindRunAsync(created[5], CancellationToken.None))!;
        fresh.Notes = "changed elsewhere";
        await table.UpdateAsync(fresh, fresh.ETag);

        var committer = new RunRowCommitter();
        var writes = rows.Select(row =>
        {
            row.Notes = "grouped";
            return committer.UpdateAsync(table, row, row.ETag, CancellationToken.None);
        }).ToList();
        var outcomes = await Task.WhenAll(writes.Select(async w =>
        {
            try
            {
                await w;
                return "ok";
            }
            catch (ConflictException)
            {
                return "conflict";
            }
        }));
        Assert.Equal("conflict", outcomes[5]);
        Assert.Equal(11, outcomes.Count(o => o == "ok"));
        for (var i = 0; i < created.Count; i++)
        {
            var stored = (await service.FindRunAsync(created[i], CancellationToken.None))!;
            Assert.Equal(i == 5 ? "changed elsewhere" : "grouped", stored.Notes);
        }
    }

    /// <summary>A clock the test moves by hand.</summary>
    private sealed class ManualClock : TimeProvider
    {
        private long _ticks = DateTimeOffset.UtcNow.UtcTicks;

        public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);

        public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref _ticks), TimeSpan.Zero);

        public override long GetTimestamp() => Interlocked.Read(ref _ticks);

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;
    }
}
