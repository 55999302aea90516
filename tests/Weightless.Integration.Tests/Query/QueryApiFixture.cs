using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Weightless.Core.Auth;
using Weightless.Core.History;
using Weightless.Core.Runs;
using Weightless.Core.Storage;
using Weightless.Tests.Infrastructure;

namespace Weightless.Integration.Tests.Query;

/// <summary>
/// One dev host with two tenants: <see cref="Owner"/> (a user whose project holds seeded runs with
/// history, system metrics, console output and a file) and <see cref="Stranger"/> (another user), plus a
/// team where <see cref="Viewer"/> has the viewer role.
/// </summary>
public sealed class QueryApiFixture : IAsyncLifetime
{
    public const string Project = "mnist";
    public const int HistorySteps = 3000;

    public WeightlessFactory Factory { get; } = new();

    public (string Name, string Key) Owner { get; private set; }

    public (string Name, string Key) Stranger { get; private set; }

    public (string Name, string Key) Viewer { get; private set; }

    public string Team { get; private set; } = "";

    public IReadOnlyList<string> RunIds { get; } = ["run-a", "run-b", "run-c", "run-d", "run-e"];

    /// <summary>run-a's history as logged: step → loss (NaN at one step, a spike at another, a gap of steps).</summary>
    public SortedDictionary<long, double> Loss { get; } = [];

    public static string Unique(string name) => $"{name}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3))}";

    public HttpClient Client((string Name, string Key) user) => Factory.CreateClient(user.Key);

    public async Task InitializeAsync()
    {
        Owner = await NewUserAsync("owner");
        Stranger = await NewUserAsync("stranger");
        Viewer = await NewUserAsync("viewer");
        Team = Unique("team");
        var owner = Client(Owner);
        Assert.Equal(HttpStatusCode.Created, (await owner.PostAsJsonAsync("/api/v1/teams", new { name = Team })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await owner.PutAsJsonAsync($"/api/v1/teams/{Team}/members", new { user = Viewer.Name, role = "viewer" })).StatusCode);
        await SeedAsync(Owner.Name);
        await SeedAsync(Team);
    }

    public async Task<(string Name, string Key)> NewUserAsync(string name)
    {
        var admin = Factory.CreateClient(Factory.AdminKey);
        var user = Unique(name);
        Assert.Equal(HttpStatusCode.Created, (await admin.PostAsJsonAsync("/api/v1/admin/users", new { name = user, email = $"{user}@example.invalid" })).StatusCode);
        var key = await admin.PostAsJsonAsync($"/api/v1/users/{user}/keys", new { description = "test" });
        Assert.Equal(HttpStatusCode.Created, key.StatusCode);
        return (user, (await key.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("key").GetString()!);
    }

    private async Task SeedAsync(string entity)
    {
        var services = Factory.Services;
        var runs = services.GetRequiredService<RunService>();
        var history = services.GetRequiredService<HistoryStore>();
        var events = services.GetRequiredService<EventsStore>();
        var console = services.GetRequiredService<ConsoleLogStore>();
        var storage = services.GetRequiredService<StorageAccount>();
        var principal = new Principal("admin", true, AuthMethod.ApiKey);
        var optimizers = new[] { "adam", "sgd", "adam", "rmsprop", "sgd" };
        for (var i = 0; i < RunIds.Count; i++)
        {
            await runs.UpsertAsync(principal, new UpsertRunCommand
            {
                Entity = entity,
                Project = Project,
                Name = RunIds[i],
                DisplayName = $"display-{i}",
                Config = JsonSerializer.Serialize(new { lr = 0.001 * (i + 1), optimizer = optimizers[i], net = new { width = 64 * (i + 1) } }),
                SummaryMetrics = $"{{\"loss\": {0.5 - i * 0.1:R}, \"acc\": {0.5 + i * 0.1:R}, \"_runtime\": {10 * i}}}",
                Tags = i % 2 == 0 ? ["baseline"] : ["ablation", "keep"],
                GroupName = i < 3 ? "exp-1" : "exp-2",
                JobType = "train",
                State = "finished",
            }, CancellationToken.None);
        }
        var key = new RunKey(entity, Project, RunIds[0]);
        var lines = new List<string>();
        var random = new Random(42);
        Loss.Clear();
        for (var step = 0; step < HistorySteps; step++)
        {
            if (step is >= 1000 and < 1100)
            {
                continue;
            }
            var loss = step == 777 ? double.NaN : step == 2222 ? 1e6 : Math.Round(random.NextDouble(), 4);
            Loss[step] = loss;
            var text = double.IsNaN(loss) ? "NaN" : loss.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
            lines.Add($"{{\"_step\": {step}, \"loss\": {text}, \"_runtime\": {step * 0.5:R}, \"_timestamp\": {1764324000 + step}, \"nested\": {{\"acc\": {step % 10}}}, \"note\": \"s,{step}\"}}");
        }
        await history.AppendHistoryAsync(key, 0, lines, CancellationToken.None);
        await history.AppendHistoryAsync(new RunKey(entity, Project, RunIds[1]), 0, ["{\"_step\": 0, \"loss\": 3}", "{\"_step\": 1, \"loss\": 2}"], CancellationToken.None);
        await events.AppendAsync(key, 0, Enumerable.Range(0, 20).Select(i => $"{{\"system.cpu\": {i}, \"system.gpu.0.gpu\": {i * 2}, \"_runtime\": {i * 10}, \"_timestamp\": {1764324000 + i * 10}}}").ToList(), CancellationToken.None);
        await console.WriteAsync(key, 0, Enumerable.Range(0, 30).Select(i => i % 5 == 0 ? $"ERROR line {i}" : $"line {i}").ToList(), CancellationToken.None);
        var files = await storage.ContainerAsync(RunFileService.FilesContainer);
        await files.UploadAsync(key.BlobPrefix + "config.yaml", BinaryData.FromString("lr: 0.001\n"), "text/yaml");
        await files.UploadAsync(key.BlobPrefix + "wandb-metadata.json", BinaryData.FromString("{}"), "application/json");
    }

    public Task DisposeAsync()
    {
        Factory.Dispose();
        return Task.CompletedTask;
    }
}
