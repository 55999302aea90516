using System.Text;
using System.Text.Json;
using Weightless.Core.Artifacts;

namespace Weightless.Integration.Tests.Artifacts;

/// <summary>Logging, using and downloading artifacts with the Python client's own documents.</summary>
public sealed class ArtifactLoggingTests(ArtifactTestHost host) : IClassFixture<ArtifactTestHost>
{
    private static Dictionary<string, byte[]> Files(params (string Name, string Text)[] files) =>
        files.ToDictionary(f => f.Name, f => Encoding.UTF8.GetBytes(f.Text), StringComparer.Ordinal);

    [Fact]
    public async Task Logging_twice_with_one_changed_file_uploads_only_that_file_and_moves_latest()
    {
        var client = await WandbArtifactClient.NewUserAsync(host);
        await client.CreateRunAsync("producer1");
        var first = Files(("a.txt", "hello artifact\n"), ("b.csv", "x,y\n1,2\n"));

        var v0 = await client.LogAsync("producer1", "example-dataset", first, "best");
        Assert.Equal("PENDING", v0.CreateState);
        Assert.Equal(2, v0.FilePuts);
        Assert.Equal("a190acf8e750d989adb79ebde023824b", v0.Digest);
        Assert.NotEmpty(Convert.FromBase64String(v0.Id));

        var latest = (await client.ByNameAsync("example-dataset:latest"))!.Value;
        Assert.Equal(v0.Id, latest.GetProperty("id").GetString());
        Assert.Equal(0, latest.GetProperty("versionIndex").GetInt32());
        Assert.Equal("COMMITTED", latest.GetProperty("state").GetString());
        Assert.Equal(2, latest.GetProperty("fileCount").GetInt32());
        Assert.Equal("a190acf8e750d989adb7", latest.GetProperty("commitHash").GetString());
        Assert.Equal("dataset", latest.GetProperty("artifactType").GetProperty("name").GetString());
        Assert.Equal("{\"rows\": 1}", latest.GetProperty("metadata").GetString());
        Assert.Equal(-2, latest.GetProperty("ttlDurationSeconds").GetInt64());
        Assert.True(latest.GetProperty("ttlIsInherited").GetBoolean());
        Assert.Equal(["v0", "latest", "best"], WandbArtifactClient.Aliases(latest));
        Assert.All(latest.GetProperty("aliases").EnumerateArray(), a =>
        {
            Assert.Equal("example-dataset", a.GetProperty("artifactCollection").GetProperty("name").GetString());
            Assert.Equal(client.Entity, a.GetProperty("artifactCollection").GetProperty("project").GetProperty("entityName").GetString());
        });

        var second = Files(("a.txt", "hello artifact\n"), ("b.csv", "x,y\n1,2\n3,4\n"));
        var v1 = await client.LogAsync("producer1", "example-dataset", second);
        Assert.Equal("PENDING", v1.CreateState);
        Assert.Equal(1, v1.FilePuts);
        Assert.NotEqual(v0.Id, v1.Id);

        latest = (await client.ByNameAsync("example-dataset:latest"))!.Value;
        Assert.Equal(v1.Id, latest.GetProperty("id").GetString());
        Assert.Equal(["v1", "latest"], WandbArtifactClient.Aliases(latest));
        Assert.Equal(v0.Id, (await client.ByNameAsync("example-dataset:best"))!.Value.GetProperty("id").GetString());
        Assert.Equal(v0.Id, (await client.ByNameAsync("example-dataset:v0"))!.Value.GetProperty("id").GetString());
        Assert.Equal(v1.Id, (await client.ByNameAsync($"example-dataset:{v1.Digest}"))!.Value.GetProperty("id").GetString());
        Assert.Null(await client.ByNameAsync("example-dataset:v7"));
        Assert.Null(await client.ByNameAsync("no-such-artifact:latest"));

        // Identical content again: CreateArtifact answers the committed version, and the client stops.
        var again = await client.LogAsync("producer1", "example-dataset", second);
        Assert.Equal("COMMITTED", again.CreateState);
        Assert.Equal(v1.Id, again.Id);

        var events = host.Sink.Events.Where(e => e.Entity == client.Entity).ToList();
        Assert.Equal(["v0", "v1"], events.Where(e => e.Type == ArtifactEventTypes.VersionCreated).Select(e => e.Version));
        var alias = Assert.Single(events, e => e.Type == ArtifactEventTypes.AddArtifactAlias);
        Assert.Equal(("best", "v0", "example-dataset", client.Entity), (alias.Alias, alias.Version, alias.Collection, alias.Author));
    }

    [Fact]
    public async Task A_run_table_artifact_logs_like_the_trace()
    {
        var client = await WandbArtifactClient.NewUserAsync(host);
        await client.CreateRunAsync("c4e0htnc");
        var table = Files(("tbl.table.json", "{\"_type\": \"table\", \"columns\": [\"a\", \"b\"], \"data\": [[1, \"x\"], [NaN, null]]}"));
        var (id, state, edges) = await client.CreateAsync("c4e0htnc", "run-c4e0htnc-tbl", "run_table", table, []);
        Assert.Equal("PENDING", state);
        await client.UploadAsync("c4e0htnc", id, table, edges);
        await client.CommitAsync(id);

        // Python turns the id into wandb-artifact://<hex>/path: it must be valid base64.
        Assert.NotEmpty(Convert.FromBase64String(id));
        var byId = await client.DataAsync(PythonDocuments.ArtifactByIDShort, new { id });
        var artifact = byId.GetProperty("artifact");
        Assert.Equal("run-c4e0htnc-tbl", artifact.GetProperty("artifactSequence").GetProperty("name").GetString());
        Assert.Equal(["v0", "latest"], WandbArtifactClient.Aliases(artifact));
        var manifestUrl = artifact.GetProperty("currentManifest").GetProperty("file").GetProperty("directUrl").GetString()!;
        var manifest = JsonDocument.Parse(await host.Storage.GetByteArrayAsync(manifestUrl)).RootElement;
        Assert.Equal(WandbArtifactClient.Md5(table["tbl.table.json"]), manifest.GetProperty("contents").GetProperty("tbl.table.json").GetProperty("digest").GetString());
        var type = await client.DataAsync(PythonDocuments.ArtifactType, new { entityName = client.Entity, projectName = client.Project, name = "run-c4e0htnc-tbl:latest" });
        Assert.Equal("run_table", type.GetProperty("project").GetProperty("artifact").GetProperty("artifactType").GetProperty("name").GetString());
    }

    [Fact]
    public async Task A_consumer_run_uses_and_downloads_by_direct_url_and_lineage_records_both_runs()
    {
        var client = await WandbArtifactClient.NewUserAsync(host);
        await client.CreateRunAsync("producer");
        await client.CreateRunAsync("consumer");
        var files = Files(("a.txt", "hello artifact\n"), ("dir/b.csv", "x,y\n1,2\n"));
        var logged = await client.LogAsync("producer", "ds", files);

        var found = (await client.ByNameAsync("ds:latest"))!.Value;
        var used = await client.DataAsync(PythonDocuments.UseArtifact, new { entityName = client.Entity, projectName = client.Project, runName = "consumer", artifactID = found.GetProperty("id").GetString(), usedAs = "ds:latest" });
        Assert.Equal(logged.Digest, used.GetProperty("useArtifact").GetProperty("artifact").GetProperty("digest").GetString());

        var manifest = await client.DataAsync(PythonDocuments.ArtifactManifest, new { entityName = client.Entity, projectName = client.Project, name = "ds:latest" });
        var manifestUrl = manifest.GetProperty("project").GetProperty("artifact").GetProperty("currentManifest").GetProperty("file").GetProperty("directUrl").GetString()!;
        var manifestJson = JsonDocument.Parse(await host.Storage.GetByteArrayAsync(manifestUrl)).RootElement;
        Assert.Equal(2, manifestJson.GetProperty("contents").EnumerateObject().Count());

        var urls = await client.DataAsync(PythonDocuments.ArtifactFileURLs, new { id = logged.Id, cursor = (string?)null, perPage = 5000 });
        var connection = urls.GetProperty("artifact").GetProperty("files");
        Assert.False(connection.GetProperty("pageInfo").GetProperty("hasNextPage").GetBoolean());
        var downloaded = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var edge in connection.GetProperty("edges").EnumerateArray())
        {
            var node = edge.GetProperty("node");
            downloaded[node.GetProperty("name").GetString()!] = await host.Storage.GetByteArrayAsync(node.GetProperty("directUrl").GetString()!);
        }
        Assert.Equal(files.Keys.Order(), downloaded.Keys.Order());
        Assert.All(files, f => Assert.Equal(f.Value, downloaded[f.Key]));

        // One file per page: the cursor walks the manifest in path order.
        var page1 = (await client.DataAsync(PythonDocuments.ArtifactFileURLs, new { id = logged.Id, cursor = (string?)null, perPage = 1 })).GetProperty("artifact").GetProperty("files");
        Assert.True(page1.GetProperty("pageInfo").GetProperty("hasNextPage").GetBoolean());
        var cursor = page1.GetProperty("pageInfo").GetProperty("endCursor").GetString();
        var page2 = (await client.DataAsync(PythonDocuments.ArtifactFileURLs, new { id = logged.Id, cursor, perPage = 1 })).GetProperty("artifact").GetProperty("files");
        Assert.Equal("dir/b.csv", page2.GetProperty("edges")[0].GetProperty("node").GetProperty("name").GetString());
        Assert.False(page2.GetProperty("pageInfo").GetProperty("hasNextPage").GetBoolean());

        var lineage = await client.DataAsync(
            "query L($id: ID!) { artifact(id: $id) { createdBy { name } usedBy { edges { node { name } } } } }",
            new { id = logged.Id });
        Assert.Equal("producer", lineage.GetProperty("artifact").GetProperty("createdBy").GetProperty("name").GetString());
        Assert.Equal("consumer", Assert.Single(lineage.GetProperty("artifact").GetProperty("usedBy").GetProperty("edges").EnumerateArray()).GetProperty("node").GetProperty("name").GetString());

        var byEntries = await client.DataAsync(
            """
            query ArtifactFileURLsByManifestEntries($id: ID!, $entries: [ArtifactManifestEntryInput!], $storageLayout: String!, $manifestVersion: String!) {
              artifact(id: $id) { filesByManifestEntries(storageLayout: $storageLayout, manifestVersion: $manifestVersion, entries: $entries) { pageInfo { hasNextPage endCursor } edges { node { name directUrl } } } }
            }
            """,
            new { id = logged.Id, storageLayout = "V2", manifestVersion = "1", entries = new[] { new { name = "a.txt", digest = WandbArtifactClient.Md5(files["a.txt"]), birthArtifactID = logged.Id } } });
        var entry = Assert.Single(byEntries.GetProperty("artifact").GetProperty("filesByManifestEntries").GetProperty("edges").EnumerateArray()).GetProperty("node");
        Assert.Equal(files["a.txt"], await host.Storage.GetByteArrayAsync(entry.GetProperty("directUrl").GetString()!));
    }

    [Fact]
    public async Task The_manifest_is_upserted_idempotently_and_probes_list_the_input_fields_clients_check()
    {
        var client = await WandbArtifactClient.NewUserAsync(host);
        await client.CreateRunAsync("r1");
        var files = Files(("a.txt", "one\n"));
        var (id, _, _) = await client.CreateAsync("r1", "m", "dataset", files, []);
        var variables = new { name = "wandb_manifest.json", digest = "", artifactID = id, baseArtifactID = (string?)null, entityName = client.Entity, projectName = client.Project, runName = "r1", includeUpload = false };
        var firstId = (await client.DataAsync(PythonDocuments.CreateArtifactManifest, variables)).GetProperty("createArtifactManifest").GetProperty("artifactManifest").GetProperty("id").GetString();
        var secondId = (await client.DataAsync(PythonDocuments.CreateArtifactManifest, variables)).GetProperty("createArtifactManifest").GetProperty("artifactManifest").GetProperty("id").GetString();
        Assert.Equal(firstId, secondId);

        var probe = await client.DataAsync(PythonDocuments.ProbeServerCreateArtifactInput, new { });
        var fields = probe.GetProperty("CreateArtifactInputInfoType").GetProperty("inputFields").EnumerateArray().Select(f => f.GetProperty("name").GetString()).ToList();
        Assert.Subset(fields.ToHashSet(), new HashSet<string?> { "artifactTypeName", "artifactCollectionNames", "entityName", "projectName", "runName", "description", "digest", "digestAlgorithm", "aliases", "metadata", "clientID", "sequenceClientID", "enableDigestDeduplication", "historyStep", "distributedID", "ttlDurationSeconds" });
        var artifactFields = (await client.DataAsync(PythonDocuments.ProbeServerArtifact, new { })).GetProperty("ArtifactInfoType").GetProperty("fields").EnumerateArray().Select(f => f.GetProperty("name").GetString()).ToHashSet();
        Assert.Subset(artifactFields, new HashSet<string?> { "id", "digest", "state", "ttlDurationSeconds", "ttlIsInherited", "aliases", "currentManifest", "files" });
        var useFields = (await client.DataAsync(PythonDocuments.ProbeServerUseArtifactInput, new { })).GetProperty("UseArtifactInputInfoType").GetProperty("inputFields").EnumerateArray().Select(f => f.GetProperty("name").GetString()).ToHashSet();
        Assert.Subset(useFields, new HashSet<string?> { "entityName", "projectName", "runName", "artifactID", "usedAs" });
        var missing = await client.DataAsync(PythonDocuments.ArtifactType, new { entityName = client.Entity, projectName = client.Project, name = "never-logged:latest" });
        Assert.Equal(JsonValueKind.Null, missing.GetProperty("project").GetProperty("artifact").ValueKind);
    }

    [Fact]
    public async Task Bytes_that_do_not_match_their_digest_are_rejected_and_the_commit_fails()
    {
        var client = await WandbArtifactClient.NewUserAsync(host);
        await client.CreateRunAsync("r1");
        var files = Files(("a.txt", "the real content\n"));
        var (id, _, edges) = await client.CreateAsync("r1", "tampered", "dataset", files, []);
        var node = edges[0].GetProperty("node");
        var url = node.GetProperty("uploadUrl").GetString()!;

        // With the headers the server gave (Content-MD5), Blob storage refuses other bytes.
        var refused = await client.PutAsync(url, Encoding.UTF8.GetBytes("something else\n"), node.GetProperty("uploadHeaders"));
        Assert.False(refused.IsSuccessStatusCode);

        // Without them the bytes land, but the commit checks the stored hash and rejects the version.
        using var empty = JsonDocument.Parse("[\"x-ms-blob-type:BlockBlob\"]");
        var sneaked = await client.PutAsync(url, Encoding.UTF8.GetBytes("something else\n"), empty.RootElement);
        Assert.True(sneaked.IsSuccessStatusCode);
        var birth = new Dictionary<string, string> { ["a.txt"] = id };
        var manifest = WandbArtifactClient.Manifest(files, birth);
        var manifestFile = (await client.DataAsync(PythonDocuments.CreateArtifactManifest, new { name = "wandb_manifest.json", digest = WandbArtifactClient.Md5(manifest), artifactID = id, baseArtifactID = (string?)null, entityName = client.Entity, projectName = client.Project, runName = "r1", includeUpload = true }))
            .GetProperty("createArtifactManifest").GetProperty("artifactManifest").GetProperty("file");
        Assert.True((await client.PutAsync(manifestFile.GetProperty("uploadUrl").GetString()!, manifest, manifestFile.GetProperty("uploadHeaders"))).IsSuccessStatusCode);
        var error = await client.ErrorAsync(PythonDocuments.CommitArtifact, new { artifactID = id });
        Assert.Contains("a.txt", error, StringComparison.Ordinal);

        // The poisoned blob is gone: the same content is asked for again, and then the commit works.
        var retry = (await client.DataAsync(PythonDocuments.CreateArtifactFiles, new { storageLayout = "V2", artifactFiles = new[] { new { artifactID = id, name = "a.txt", md5 = WandbArtifactClient.Md5(files["a.txt"]), uploadPartsInput = Array.Empty<object>() } } }))
            .GetProperty("createArtifactFiles").GetProperty("files").GetProperty("edges")[0].GetProperty("node");
        Assert.Equal(JsonValueKind.String, retry.GetProperty("uploadUrl").ValueKind);
        Assert.True((await client.PutAsync(retry.GetProperty("uploadUrl").GetString()!, files["a.txt"], retry.GetProperty("uploadHeaders"))).IsSuccessStatusCode);
        Assert.Equal(id, (await client.CommitAsync(id)).GetProperty("id").GetString());
    }

    [Fact]
    public async Task Bad_input_answers_graphql_errors_never_a_500()
    {
        var client = await WandbArtifactClient.NewUserAsync(host);
        await client.CreateRunAsync("r1");
        var create = new
        {
            entityName = client.Entity,
            projectName = client.Project,
            runName = "r1",
            artifactTypeName = "dataset",
            artifactCollectionNames = new[] { "bad" },
            digest = "not-a-digest",
            aliases = Array.Empty<object>(),
            historyStep = 0,
        };
        Assert.Contains("digest", await client.ErrorAsync(PythonDocuments.CreateArtifact, create), StringComparison.Ordinal);
        Assert.Contains("artifact name", await client.ErrorAsync(PythonDocuments.CreateArtifact, create with { artifactCollectionNames = new[] { "has/slash" }, digest = new string('a', 32) }), StringComparison.Ordinal);
        Assert.Contains("not found", await client.ErrorAsync(PythonDocuments.CreateArtifact, create with { runName = "no-such-run", digest = new string('a', 32) }), StringComparison.Ordinal);
        Assert.Contains("version alias", await client.ErrorAsync(PythonDocuments.CreateArtifact, create with { digest = new string('a', 32), aliases = new object[] { new { artifactCollectionName = "bad", alias = "v3" } } }), StringComparison.Ordinal);
        Assert.Contains("artifact id", await client.ErrorAsync(PythonDocuments.CommitArtifact, new { artifactID = "%%%not base64%%%" }), StringComparison.Ordinal);
        Assert.Contains("artifact id", await client.ErrorAsync(PythonDocuments.CommitArtifact, new { artifactID = Convert.ToBase64String(Encoding.UTF8.GetBytes("Run:v1:x:y:z")) }), StringComparison.Ordinal);

        var (id, _, _) = await client.CreateAsync("r1", "early", "dataset", Files(("a.txt", "x")), []);
        Assert.Contains("manifest has not been uploaded", await client.ErrorAsync(PythonDocuments.CommitArtifact, new { artifactID = id }), StringComparison.Ordinal);
        Assert.Contains("md5", await client.ErrorAsync(PythonDocuments.CreateArtifactFiles, new { storageLayout = "V2", artifactFiles = new[] { new { artifactID = id, name = "a.txt", md5 = "nope", uploadPartsInput = Array.Empty<object>() } } }), StringComparison.Ordinal);
        Assert.Contains("path", await client.ErrorAsync(PythonDocuments.CreateArtifactFiles, new { storageLayout = "V2", artifactFiles = new[] { new { artifactID = id, name = "../escape", md5 = WandbArtifactClient.Md5([1]), uploadPartsInput = Array.Empty<object>() } } }), StringComparison.Ordinal);
        Assert.Contains("type", await client.ErrorAsync(PythonDocuments.CreateArtifact, create with { artifactTypeName = "model", artifactCollectionNames = new[] { "early" }, digest = new string('b', 32) }), StringComparison.Ordinal);

        // Multipart parts are checked (the artifact test host turns multipart uploads on).
        Assert.Contains("hexMD5", await client.ErrorAsync(
            "mutation F($files: [CreateArtifactFileSpecInput!]!) { createArtifactFiles(input: {artifactFiles: $files, storageLayout: V2}) { files { edges { node { uploadUrl uploadMultipartUrls { uploadID } } } } } }",
            new { files = new[] { new { artifactID = id, name = "big.bin", md5 = WandbArtifactClient.Md5([7]), uploadPartsInput = new[] { new { partNumber = 1, hexMD5 = "00" } } } } }), StringComparison.Ordinal);
        Assert.Contains("without gaps", await client.ErrorAsync(
            "mutation F($files: [CreateArtifactFileSpecInput!]!) { createArtifactFiles(input: {artifactFiles: $files, storageLayout: V2}) { files { edges { node { uploadUrl } } } } }",
            new { files = new[] { new { artifactID = id, name = "big.bin", md5 = WandbArtifactClient.Md5([7]), uploadPartsInput = new[] { new { partNumber = 2, hexMD5 = new string('0', 32) } } } } }), StringComparison.Ordinal);

        // Another tenant's artifact is invisible (not found), not forbidden.
        var stranger = await WandbArtifactClient.NewUserAsync(host);
        Assert.Contains("not found", await stranger.ErrorAsync(PythonDocuments.CommitArtifact, new { artifactID = id }), StringComparison.Ordinal);
    }
}
