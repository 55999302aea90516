using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Weightless.Core.Artifacts;
using Weightless.Core.Storage;

namespace Weightless.Integration.Tests.Artifacts;

/// <summary>TTL expiry with shared content, the event outbox through a publisher outage, and multipart uploads.</summary>
public sealed class ArtifactLifecycleTests(ArtifactTestHost host) : IClassFixture<ArtifactTestHost>
{
    private const string CreateFilesWithParts = """
        mutation CreateArtifactFiles($storageLayout: ArtifactStorageLayout!, $artifactFiles: [CreateArtifactFileSpecInput!]!) {
          createArtifactFiles(input: {artifactFiles: $artifactFiles, storageLayout: $storageLayout}) {
            files { edges { node { id name displayName storagePath uploadUrl uploadHeaders uploadMultipartUrls { uploadID uploadUrlParts { partNumber uploadUrl } } artifact { id } } } }
          }
        }
        """;

    private const string CompleteMultipart = """
        mutation CompleteMultipartUploadArtifact($completeMultipartAction: CompleteMultipartAction!, $completedParts: [UploadPartsInput!]!, $artifactID: ID!, $storagePath: String!, $uploadID: String!) {
          completeMultipartUploadArtifact(input: {completeMultipartAction: $completeMultipartAction, completedParts: $completedParts, artifactID: $artifactID, storagePath: $storagePath, uploadID: $uploadID}) { digest }
        }
        """;

    private const string LinkArtifact = """
        mutation LinkArtifact($artifactPortfolioName: String!, $entityName: String!, $projectName: String!, $aliases: [ArtifactAliasInput!], $artifactId: ID) {
          linkArtifact(input: {artifactPortfolioName: $artifactPortfolioName, entityName: $entityName, projectName: $projectName, aliases: $aliases, artifactID: $artifactId}) { versionIndex }
        }
        """;

    private static Dictionary<string, byte[]> Files(params (string Name, string Text)[] files) =>
        files.ToDictionary(f => f.Name, f => Encoding.UTF8.GetBytes(f.Text), StringComparer.Ordinal);

    private static string Hex(byte[] content) => Convert.ToHexStringLower(MD5.HashData(content));

    private async Task<bool> StoredAsync(string entity, byte[] content)
    {
        var blobs = await host.App.Services.GetRequiredService<StorageAccount>().ContainerAsync(ArtifactService.Container);
        return await blobs.GetPropertiesAsync(ArtifactService.FileBlob(entity, Hex(content))) is not null;
    }

    [Fact]
    public async Task Ttl_expiry_deletes_exactly_the_blobs_no_live_version_uses_and_shared_ones_stay_downloadable()
    {
        var client = await WandbArtifactClient.NewUserAsync(host);
        await client.CreateRunAsync("r1");
        var expiring = Files(("only-here.txt", "unshared bytes of the expiring version\n"), ("shared.txt", "bytes both versions hold\n"));
        var surviving = Files(("shared.txt", "bytes both versions hold\n"), ("other.txt", "the survivor's own bytes\n"));
        await client.LogAsync("r1", "ds", expiring);
        var kept = await client.LogAsync("r1", "other", surviving);
        Assert.Equal(1, kept.FilePuts);

        // A TTL given at log time (createArtifact's ttlDurationSeconds) is the version's own, not inherited.
        var logTimeFiles = Files(("log-time.txt", "expires by the TTL it was logged with\n"));
        var (logTimeId, _, edges) = await client.CreateAsync("r1", "short-lived", "dataset", logTimeFiles, [], ttlDurationSeconds: 0);
        await client.UploadAsync("r1", logTimeId, logTimeFiles, edges);
        await client.CommitAsync(logTimeId);
        var shortLived = (await client.ByNameAsync("short-lived:latest"))!.Value;
        Assert.Equal((0L, false), (shortLived.GetProperty("ttlDurationSeconds").GetInt64(), shortLived.GetProperty("ttlIsInherited").GetBoolean()));
        Assert.True((await client.ByNameAsync("other:latest"))!.Value.GetProperty("ttlIsInherited").GetBoolean());

        var rest = await client.RestAsync();
        var basePath = $"/api/v1/entities/{client.Entity}/projects/{client.Project}/artifacts";
        var edited = await rest.PatchAsJsonAsync($"{basePath}/ds/versions/v0", new { ttlDurationSeconds = 0 });
        Assert.Equal(HttpStatusCode.OK, edited.StatusCode);
        Assert.Equal(0, (await edited.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("ttlDurationSeconds").GetInt64());
        Assert.False((await client.ByNameAsync("ds:v0"))!.Value.GetProperty("ttlIsInherited").GetBoolean());

        var result = await host.App.Services.GetRequiredService<ArtifactService>().ExpireDueVersionsAsync(CancellationToken.None);
        Assert.Equal(new ExpiryResult(2, 2, 1), result);
        Assert.False(await StoredAsync(client.Entity, logTimeFiles["log-time.txt"]));
        Assert.Null(await client.ByNameAsync("short-lived:latest"));

        Assert.False(await StoredAsync(client.Entity, expiring["only-here.txt"]));
        Assert.True(await StoredAsync(client.Entity, expiring["shared.txt"]));
        Assert.True(await StoredAsync(client.Entity, surviving["other.txt"]));
        Assert.Null(await client.ByNameAsync("ds:v0"));
        Assert.Null(await client.ByNameAsync("ds:latest"));
        Assert.Equal(HttpStatusCode.Conflict, (await rest.PostAsync($"{basePath}/ds/versions/v0/restore", null)).StatusCode);

        // The survivor downloads in full, the shared file included.
        var urls = await client.DataAsync(PythonDocuments.ArtifactFileURLs, new { id = kept.Id, cursor = (string?)null, perPage = 100 });
        var downloaded = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var edge in urls.GetProperty("artifact").GetProperty("files").GetProperty("edges").EnumerateArray())
        {
            downloaded[edge.GetProperty("node").GetProperty("name").GetString()!] = await host.Storage.GetByteArrayAsync(edge.GetProperty("node").GetProperty("directUrl").GetString()!);
        }
        Assert.Equal(surviving.Keys.Order(), downloaded.Keys.Order());
        Assert.All(surviving, f => Assert.Equal(f.Value, downloaded[f.Key]));

        // Nothing else is due: versions without a TTL (or with -2, never) stay.
        await rest.PatchAsJsonAsync($"{basePath}/other/versions/v0", new { ttlDurationSeconds = -2 });
        Assert.Equal(new ExpiryResult(0, 0, 0), await host.App.Services.GetRequiredService<ArtifactService>().ExpireDueVersionsAsync(CancellationToken.None));
        Assert.NotNull(await client.ByNameAsync("other:latest"));
    }

    [Fact]
    public async Task Events_written_while_the_publisher_is_down_are_delivered_later_once_per_id()
    {
        var client = await WandbArtifactClient.NewUserAsync(host);
        await client.CreateRunAsync("r1");
        var outbox = host.App.Services.GetRequiredService<ArtifactOutbox>();
        List<ArtifactEvent> Mine() => host.Sink.Events.Where(e => e.Entity == client.Entity).ToList();

        host.Sink.Failing = true;
        try
        {
            var logged = await client.LogAsync("r1", "ds", Files(("a.txt", "outbox\n")), "best");
            Assert.Equal("PENDING", logged.CreateState);
            var linked = await client.DataAsync(LinkArtifact, new { artifactPortfolioName = "model-registry-ds", entityName = client.Entity, projectName = client.Project, aliases = Array.Empty<object>(), artifactId = logged.Id });
            Assert.Equal(0, linked.GetProperty("linkArtifact").GetProperty("versionIndex").GetInt32());
            var rest = await client.RestAsync();
            var aliased = await rest.PutAsJsonAsync($"/api/v1/entities/{client.Entity}/projects/{client.Project}/artifacts/ds/aliases/production", new { version = "v0" });
            Assert.Equal(HttpStatusCode.OK, aliased.StatusCode);
            Assert.Empty(Mine());
        }
        finally
        {
            host.Sink.Failing = false;
        }

        Assert.True(await outbox.RepublishPendingAsync(CancellationToken.None) >= 3);
        var events = Mine();
        Assert.Equal(4, events.Count);
        Assert.All(events, e => Assert.False(string.IsNullOrEmpty(e.Id)));
        Assert.Equal(events.Count, events.Select(e => e.Id).Distinct().Count());
        var created = Assert.Single(events, e => e.Type == ArtifactEventTypes.VersionCreated);
        Assert.Equal((client.Project, "ds", "v0", "dataset", client.Entity), (created.Project, created.Collection, created.Version, created.CollectionType, created.Author));
        var link = Assert.Single(events, e => e.Type == ArtifactEventTypes.LinkArtifact);
        Assert.Equal(("model-registry-ds", "v0", "ds", "v0"), (link.Collection, link.Version, link.SourceCollection, link.SourceVersion));
        Assert.Equal(["best", "production"], events.Where(e => e.Type == ArtifactEventTypes.AddArtifactAlias).Select(e => e.Alias).Order(StringComparer.Ordinal));
        Assert.All(events.Where(e => e.Type == ArtifactEventTypes.AddArtifactAlias), e => Assert.Equal(("ds", "v0"), (e.Collection, e.Version)));

        // Delivered rows are gone: another pass publishes nothing again.
        await outbox.RepublishPendingAsync(CancellationToken.None);
        Assert.Equal(4, Mine().Count);

        // With the publisher up, events go out at once and nothing is left for the timer.
        await client.LogAsync("r1", "ds", Files(("a.txt", "outbox again\n")));
        Assert.Equal(5, Mine().Count);
        await outbox.RepublishPendingAsync(CancellationToken.None);
        Assert.Equal(5, Mine().Count);
    }

    [Fact]
    public async Task A_file_uploaded_in_parts_is_assembled_verified_and_committed()
    {
        var client = await WandbArtifactClient.NewUserAsync(host);
        await client.CreateRunAsync("r1");
        var content = RandomNumberGenerator.GetBytes((3 * 256 * 1024) + 1000);
        var partSize = 256 * 1024;
        var parts = content.Chunk(partSize).ToList();
        var files = new Dictionary<string, byte[]>(StringComparer.Ordinal) { ["model.bin"] = content };
        var (id, state, _) = await client.CreateAsync("r1", "big", "model", files, []);
        Assert.Equal("PENDING", state);

        var answer = await client.DataAsync(CreateFilesWithParts, new
        {
            storageLayout = "V2",
            artifactFiles = new[]
            {
                new { artifactID = id, name = "model.bin", md5 = WandbArtifactClient.Md5(content), uploadPartsInput = parts.Select((p, i) => new { partNumber = i + 1, hexMD5 = Hex(p) }).ToArray() },
            },
        });
        var node = answer.GetProperty("createArtifactFiles").GetProperty("files").GetProperty("edges")[0].GetProperty("node");
        var multipart = node.GetProperty("uploadMultipartUrls");
        var uploadId = multipart.GetProperty("uploadID").GetString()!;
        var urls = multipart.GetProperty("uploadUrlParts").EnumerateArray().ToDictionary(p => p.GetProperty("partNumber").GetInt64(), p => p.GetProperty("uploadUrl").GetString()!);
        Assert.Equal(parts.Count, urls.Count);
        var storagePath = node.GetProperty("storagePath").GetString()!;

        // Blob storage checks each part's Content-MD5, as S3 does.
        using (var wrong = new HttpRequestMessage(HttpMethod.Put, urls[1]) { Content = new ByteArrayContent(parts[0]) })
        {
            wrong.Content.Headers.ContentMD5 = MD5.HashData(parts[1]);
            Assert.Equal(HttpStatusCode.BadRequest, (await host.Storage.SendAsync(wrong)).StatusCode);
        }
        var completed = new List<object>();
        for (var i = 0; i < parts.Count; i++)
        {
            using var put = new HttpRequestMessage(HttpMethod.Put, urls[i + 1]) { Content = new ByteArrayContent(parts[i]) };
            put.Content.Headers.ContentMD5 = MD5.HashData(parts[i]);
            var response = await host.Storage.SendAsync(put);
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            completed.Add(new { partNumber = i + 1, hexMD5 = Hex(parts[i]) });
        }
        Assert.Contains("not every part", await client.ErrorAsync(CompleteMultipart, new { completeMultipartAction = "Complete", completedParts = completed.Append(new { partNumber = parts.Count + 1, hexMD5 = Hex(parts[0]) }).ToArray(), artifactID = id, storagePath, uploadID = uploadId }), StringComparison.OrdinalIgnoreCase);
        var done = await client.DataAsync(CompleteMultipart, new { completeMultipartAction = "Complete", completedParts = completed, artifactID = id, storagePath, uploadID = uploadId });
        Assert.Equal(WandbArtifactClient.Md5(content), done.GetProperty("completeMultipartUploadArtifact").GetProperty("digest").GetString());

        var birthIds = new Dictionary<string, string> { ["model.bin"] = id };
        var manifestBytes = WandbArtifactClient.Manifest(files, birthIds);
        var manifest = await client.DataAsync(PythonDocuments.CreateArtifactManifest, new { name = "wandb_manifest.json", digest = WandbArtifactClient.Md5(manifestBytes), artifactID = id, baseArtifactID = (string?)null, entityName = client.Entity, projectName = client.Project, runName = "r1", includeUpload = true, type = "FULL" });
        var file = manifest.GetProperty("createArtifactManifest").GetProperty("artifactManifest").GetProperty("file");
        Assert.True((await client.PutAsync(file.GetProperty("uploadUrl").GetString()!, manifestBytes, file.GetProperty("uploadHeaders"))).IsSuccessStatusCode);
        Assert.Equal(WandbArtifactClient.ArtifactDigest(files), (await client.CommitAsync(id)).GetProperty("digest").GetString());

        var download = await client.DataAsync(PythonDocuments.ArtifactFileURLs, new { id, cursor = (string?)null, perPage = 10 });
        var url = download.GetProperty("artifact").GetProperty("files").GetProperty("edges")[0].GetProperty("node").GetProperty("directUrl").GetString()!;
        Assert.Equal(content, await host.Storage.GetByteArrayAsync(url));
    }

    [Fact]
    public async Task Parts_that_do_not_assemble_into_the_declared_file_are_rejected_and_removed()
    {
        var client = await WandbArtifactClient.NewUserAsync(host);
        await client.CreateRunAsync("r1");
        var declared = RandomNumberGenerator.GetBytes(2000);
        var (id, _, _) = await client.CreateAsync("r1", "liar", "model", new Dictionary<string, byte[]> { ["w.bin"] = declared }, []);
        var actual = RandomNumberGenerator.GetBytes(2000);
        var answer = await client.DataAsync(CreateFilesWithParts, new
        {
            storageLayout = "V2",
            artifactFiles = new[] { new { artifactID = id, name = "w.bin", md5 = WandbArtifactClient.Md5(declared), uploadPartsInput = new[] { new { partNumber = 1, hexMD5 = Hex(actual) } } } },
        });
        var node = answer.GetProperty("createArtifactFiles").GetProperty("files").GetProperty("edges")[0].GetProperty("node");
        var multipart = node.GetProperty("uploadMultipartUrls");
        using var put = new HttpRequestMessage(HttpMethod.Put, multipart.GetProperty("uploadUrlParts")[0].GetProperty("uploadUrl").GetString()) { Content = new ByteArrayContent(actual) };
        Assert.Equal(HttpStatusCode.Created, (await host.Storage.SendAsync(put)).StatusCode);

        var error = await client.ErrorAsync(CompleteMultipart, new { completeMultipartAction = "Complete", completedParts = new[] { new { partNumber = 1, hexMD5 = Hex(actual) } }, artifactID = id, storagePath = node.GetProperty("storagePath").GetString(), uploadID = multipart.GetProperty("uploadID").GetString() });
        Assert.Contains("not the file's", error, StringComparison.Ordinal);
        Assert.False(await StoredAsync(client.Entity, declared));

        Assert.Contains("storagePath", await client.ErrorAsync(CompleteMultipart, new { completeMultipartAction = "Complete", completedParts = new[] { new { partNumber = 1, hexMD5 = Hex(actual) } }, artifactID = id, storagePath = "someone-else/sha/" + Hex(actual), uploadID = multipart.GetProperty("uploadID").GetString() }), StringComparison.Ordinal);
    }
}
