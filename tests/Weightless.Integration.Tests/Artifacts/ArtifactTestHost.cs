using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Weightless.Core.Artifacts;
using Weightless.Tests.Infrastructure;

namespace Weightless.Integration.Tests.Artifacts;

/// <summary>Collects the artifact events instead of sending them to Event Grid; can play a publisher that is down.</summary>
internal sealed class RecordingEventSink : IArtifactEventSink
{
    public ConcurrentQueue<ArtifactEvent> Events { get; } = new();

    /// <summary>While set, every publish fails as an unreachable Event Grid topic would.</summary>
    public volatile bool Failing;

    public Task PublishAsync(IReadOnlyList<ArtifactEvent> events, CancellationToken cancellationToken)
    {
        if (Failing)
        {
            throw new HttpRequestException("Event Grid topic unreachable (test)");
        }
        foreach (var e in events)
        {
            Events.Enqueue(e);
        }
        return Task.CompletedTask;
    }
}

/// <summary>The dev host with a recording event sink, shared by the artifact test classes' fixtures.</summary>
public sealed class ArtifactTestHost : IDisposable
{
    // Outbox rows are republished at once (no grace for an in-flight dispatch), and multipart
    // uploads are offered, so the lifecycle tests can drive both.
    private readonly WeightlessFactory _factory = new(new Dictionary<string, string?>
    {
        ["Artifacts:OutboxRetryAfter"] = "00:00:00",
        ["Artifacts:MultipartUploads"] = "true",
    });

    public ArtifactTestHost()
    {
        App = _factory.WithWebHostBuilder(b => b.ConfigureTestServices(s => s.AddSingleton<IArtifactEventSink>(Sink)));
    }

    public WebApplicationFactory<Program> App { get; }

    public string AdminKey => _factory.AdminKey;

    internal RecordingEventSink Sink { get; } = new();

    /// <summary>SAS URLs point at Azurite itself, not the test server.</summary>
    public HttpClient Storage { get; } = new();

    public HttpClient Client(string apiKey)
    {
        var client = App.CreateClient();
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("api:" + apiKey)));
        return client;
    }

    public void Dispose()
    {
        Storage.Dispose();
        App.Dispose();
        _factory.Dispose();
    }
}

/// <summary>What one <c>log_artifact</c> did: the id, the state CreateArtifact answered and how many file PUTs it needed.</summary>
internal sealed record LoggedArtifact(string Id, string CreateState, int FilePuts, string Digest);

/// <summary>A W&amp;B client's artifact traffic, request by request, with the documents of Python 0.16.6.</summary>
internal sealed class WandbArtifactClient(ArtifactTestHost host, HttpClient graphql, string entity, string project)
{
    public string Entity => entity;

    public string Project => project;

    public static async Task<WandbArtifactClient> NewUserAsync(ArtifactTestHost host, string project = "example")
    {
        var admin = host.Client(host.AdminKey);
        var user = "u" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
        var created = await admin.PostAsJsonAsync("/api/v1/admin/users", new { name = user, email = $"{user}@example.invalid" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var key = await admin.PostAsJsonAsync($"/api/v1/users/{user}/keys", new { description = "test" });
        Assert.Equal(HttpStatusCode.Created, key.StatusCode);
        var secret = (await key.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("key").GetString()!;
        return new WandbArtifactClient(host, host.Client(secret), user, project);
    }

    /// <summary>The whole GraphQL answer (HTTP 200 asserted).</summary>
    public async Task<JsonElement> PostAsync(string query, object variables)
    {
        var response = await graphql.PostAsJsonAsync("/graphql", new { query, variables });
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"HTTP {(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary><c>data</c>, asserting there are no errors.</summary>
    public async Task<JsonElement> DataAsync(string query, object variables)
    {
        var root = await PostAsync(query, variables);
        Assert.False(root.TryGetProperty("errors", out var errors), errors.ToString());
        return root.GetProperty("data");
    }

    /// <summary>The first error message, asserting the answer is a GraphQL error (never a 500).</summary>
    public async Task<string> ErrorAsync(string query, object variables)
    {
        var root = await PostAsync(query, variables);
        Assert.True(root.TryGetProperty("errors", out var errors), "expected errors[]: " + root);
        return errors[0].GetProperty("message").GetString()!;
    }

    public async Task CreateRunAsync(string run) =>
        await DataAsync(PythonDocuments.UpsertBucket, new { name = run, project, entity, config = "{}" });

    /// <summary>A REST client with a fresh key of this user, minted by the admin.</summary>
    public async Task<HttpClient> RestAsync()
    {
        var admin = host.Client(host.AdminKey);
        var key = await admin.PostAsJsonAsync($"/api/v1/users/{entity}/keys", new { description = "rest" });
        Assert.Equal(HttpStatusCode.Created, key.StatusCode);
        return host.Client((await key.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("key").GetString()!);
    }

    public static string Md5(byte[] content) => Convert.ToBase64String(MD5.HashData(content));

    public static string ArtifactDigest(IReadOnlyDictionary<string, byte[]> files)
    {
        var text = new StringBuilder("wandb-artifact-manifest-v1\n");
        foreach (var (path, content) in files.OrderBy(f => f.Key, StringComparer.Ordinal))
        {
            text.Append(path).Append(':').Append(Md5(content)).Append('\n');
        }
        return Convert.ToHexStringLower(MD5.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }

    /// <summary>The manifest as Python writes it (<c>json.dumps(indent=4)</c>).</summary>
    public static byte[] Manifest(IReadOnlyDictionary<string, byte[]> files, IReadOnlyDictionary<string, string> birthIds)
    {
        var text = new StringBuilder();
        text.Append("{\n    \"version\": 1,\n    \"storagePolicy\": \"wandb-storage-policy-v1\",\n    \"storagePolicyConfig\": {\n        \"storageLayout\": \"V2\"\n    },\n    \"contents\": {");
        var first = true;
        foreach (var (path, content) in files.OrderBy(f => f.Key, StringComparer.Ordinal))
        {
            text.Append(first ? "\n" : ",\n");
            first = false;
            text.Append($"        \"{path}\": {{\n            \"digest\": \"{Md5(content)}\",\n            \"birthArtifactID\": \"{birthIds[path]}\",\n            \"size\": {content.Length}\n        }}");
        }
        text.Append("\n    }\n}");
        return Encoding.UTF8.GetBytes(text.ToString());
    }

    /// <summary>PUTs like the clients do: the upload headers as given (<c>Key:Value</c>).</summary>
    public async Task<HttpResponseMessage> PutAsync(string url, byte[] content, JsonElement headers)
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, url) { Content = new ByteArrayContent(content) };
        foreach (var header in headers.EnumerateArray().Select(h => h.GetString()!))
        {
            var (name, value) = (header[..header.IndexOf(':', StringComparison.Ordinal)], header[(header.IndexOf(':', StringComparison.Ordinal) + 1)..]);
            if (!request.Headers.TryAddWithoutValidation(name, value))
            {
                request.Content.Headers.TryAddWithoutValidation(name, value);
            }
        }
        return await host.Storage.SendAsync(request);
    }

    /// <summary>Creates the artifact and, unless deduplicated, its manifest and file records (no uploads, no commit).</summary>
    public async Task<(string Id, string State, JsonElement Files)> CreateAsync(string run, string collection, string type, IReadOnlyDictionary<string, byte[]> files, IReadOnlyList<string> aliases, long? ttlDurationSeconds = null)
    {
        var digest = ArtifactDigest(files);
        await DataAsync(PythonDocuments.ArtifactType, new { entityName = entity, projectName = project, name = collection + ":latest" });
        var created = await DataAsync(PythonDocuments.CreateArtifact, new
        {
            entityName = entity,
            projectName = project,
            runName = run,
            artifactTypeName = type,
            artifactCollectionNames = new[] { collection },
            clientID = Guid.NewGuid().ToString("N"),
            sequenceClientID = Guid.NewGuid().ToString("N"),
            digest,
            description = (string?)null,
            aliases = aliases.Append("latest").Select(a => new { artifactCollectionName = collection, alias = a }).ToArray(),
            metadata = "{\"rows\": 1}",
            ttlDurationSeconds,
            distributedID = "",
            historyStep = 200,
        });
        var artifact = created.GetProperty("createArtifact").GetProperty("artifact");
        var id = artifact.GetProperty("id").GetString()!;
        var state = artifact.GetProperty("state").GetString()!;
        if (state == "COMMITTED")
        {
            return (id, state, default);
        }
        var manifest = await DataAsync(PythonDocuments.CreateArtifactManifest, new { name = "wandb_manifest.json", digest = "", artifactID = id, baseArtifactID = (string?)null, entityName = entity, projectName = project, runName = run, includeUpload = false, type = "FULL" });
        var manifestId = manifest.GetProperty("createArtifactManifest").GetProperty("artifactManifest").GetProperty("id").GetString()!;
        var specs = files.Select(f => new { artifactID = id, artifactManifestID = manifestId, name = f.Key, md5 = Md5(f.Value), uploadPartsInput = Array.Empty<object>() }).ToArray();
        var answer = await DataAsync(PythonDocuments.CreateArtifactFiles, new { storageLayout = "V2", artifactFiles = specs });
        return (id, state, answer.GetProperty("createArtifactFiles").GetProperty("files").GetProperty("edges"));
    }

    /// <summary>Uploads what the server asked for, then the manifest; returns the number of file PUTs.</summary>
    public async Task<int> UploadAsync(string run, string id, IReadOnlyDictionary<string, byte[]> files, JsonElement edges)
    {
        var puts = 0;
        var birthIds = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var edge in edges.EnumerateArray())
        {
            var node = edge.GetProperty("node");
            var name = node.GetProperty("name").GetString()!;
            birthIds[name] = node.GetProperty("artifact").GetProperty("id").GetString()!;
            if (node.GetProperty("uploadUrl").ValueKind == JsonValueKind.String)
            {
                var put = await PutAsync(node.GetProperty("uploadUrl").GetString()!, files[name], node.GetProperty("uploadHeaders"));
                Assert.True(put.IsSuccessStatusCode, $"PUT {name}: {(int)put.StatusCode} {await put.Content.ReadAsStringAsync()}");
                puts++;
            }
        }
        var manifestBytes = Manifest(files, birthIds);
        var manifest = await DataAsync(PythonDocuments.CreateArtifactManifest, new { name = "wandb_manifest.json", digest = Md5(manifestBytes), artifactID = id, baseArtifactID = (string?)null, entityName = entity, projectName = project, runName = run, includeUpload = true, type = "FULL" });
        var file = manifest.GetProperty("createArtifactManifest").GetProperty("artifactManifest").GetProperty("file");
        var manifestPut = await PutAsync(file.GetProperty("uploadUrl").GetString()!, manifestBytes, file.GetProperty("uploadHeaders"));
        Assert.True(manifestPut.IsSuccessStatusCode, $"PUT manifest: {(int)manifestPut.StatusCode}");
        return puts;
    }

    public async Task<JsonElement> CommitAsync(string id) =>
        (await DataAsync(PythonDocuments.CommitArtifact, new { artifactID = id })).GetProperty("commitArtifact").GetProperty("artifact");

    /// <summary><c>run.log_artifact</c> end to end.</summary>
    public async Task<LoggedArtifact> LogAsync(string run, string collection, IReadOnlyDictionary<string, byte[]> files, params string[] aliases)
    {
        var (id, state, edges) = await CreateAsync(run, collection, "dataset", files, aliases);
        if (state == "COMMITTED")
        {
            return new LoggedArtifact(id, state, 0, ArtifactDigest(files));
        }
        Assert.Equal(files.Count, edges.GetArrayLength());
        var puts = await UploadAsync(run, id, files, edges);
        var committed = await CommitAsync(id);
        Assert.Equal(ArtifactDigest(files), committed.GetProperty("digest").GetString());
        return new LoggedArtifact(id, state, puts, ArtifactDigest(files));
    }

    /// <summary><c>ArtifactByName</c> (the fragment <c>use_artifact</c> reads); null when not found.</summary>
    public async Task<JsonElement?> ByNameAsync(string name)
    {
        var artifact = (await DataAsync(PythonDocuments.ArtifactByName, new { entityName = entity, projectName = project, name })).GetProperty("project").GetProperty("artifact");
        return artifact.ValueKind == JsonValueKind.Null ? null : artifact;
    }

    public static IReadOnlyList<string> Aliases(JsonElement artifact) =>
        artifact.GetProperty("aliases").EnumerateArray().Select(a => a.GetProperty("alias").GetString()!).ToList();
}
