using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Weightless.Core.Artifacts;
using Weightless.Core.Auth;
using Weightless.Core.Hosting;
using Weightless.Core.Runs;
using Weightless.Core.Tenancy;

namespace Weightless.Bench;

/// <summary>
/// Artifacts at scale, through <see cref="ArtifactService"/> (the GraphQL resolvers minus HTTP) with
/// the bytes PUT to Blob SAS URLs as a client does: (1) an artifact of <c>--files</c> small files
/// (10,000): server time per file for createArtifactFiles + commit; (2) a second version with
/// <c>--changed-percent</c> (1) of the files changed: how many uploads the server asks for (dedup
/// hit rate; goal: only the changed files); (3) download URL issuance rate (files page + SAS per
/// file); (4) one file of <c>--big-mib</c> (2048) MiB uploaded in <c>--part-mib</c> (64) MiB parts —
/// generated, hashed and sent as a stream, one part in memory — with the peak working set. Run it
/// against a disk-backed Azurite (<c>--location</c>) for the big file. Options also: --storage.
/// </summary>
internal sealed class ArtifactBench : IBenchScenario
{
    public string Name => "artifacts";

    public string Description => "10,000-file artifact (server time per file), 1%-changed second version (dedup hit rate), download URL rate, one 2 GiB multipart file (--files, --changed-percent, --big-mib, --part-mib, --storage)";

    public async Task<int> RunAsync(BenchOptions options, CancellationToken cancellationToken)
    {
        var fileCount = (int)options.Long("files", 10_000);
        var changedPercent = options.Long("changed-percent", 1);
        var bigMiB = options.Long("big-mib", 2048);
        var partMiB = options.Long("part-mib", 64);
        var prefix = "a" + Guid.NewGuid().ToString("N")[..8];
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Storage:ConnectionString"] = options.Storage,
            ["Storage:TablePrefix"] = prefix,
            ["Artifacts:MultipartUploads"] = "true",
        }).Build();
        var services = new ServiceCollection().AddLogging().AddSingleton<IConfiguration>(configuration);
        services.AddSingleton<IArtifactEventSink, DiscardingEventSink>();
        services.AddWeightlessCore(configuration, "weightless-bench").AddWeightlessRuns(configuration).AddWeightlessArtifacts(configuration);
        await using var provider = services.BuildServiceProvider();
        var artifacts = provider.GetRequiredService<ArtifactService>();
        var entity = "bench" + prefix;
        await provider.GetRequiredService<TenancyService>().CreateUserAsync(entity, null, isInstanceAdmin: false, cancellationToken);
        var principal = new Principal(entity, false, AuthMethod.ApiKey);
        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(30) };
        var client = new BlobClientSide(http);
        Console.WriteLine($"files={fileCount:N0} changed={changedPercent}% big={bigMiB:N0} MiB in {partMiB} MiB parts prefix={prefix}");

        // (1) 10,000 small files.
        var files = Enumerable.Range(0, fileCount).ToDictionary(i => $"data/{i:D5}.txt", i => SmallFile(i, "v0"), StringComparer.Ordinal);
        var first = await LogAsync(artifacts, principal, entity, "many", files, client, cancellationToken);
        Console.WriteLine($"v0: {fileCount:N0} files, {first.Puts:N0} uploaded; createArtifactFiles {first.FilesMs:N0} ms + commit {first.CommitMs:N0} ms (verifies every blob) = {(first.FilesMs + first.CommitMs) * 1000 / fileCount:N0} µs server time per file; client upload {first.UploadMs / 1000:N1} s");

        // (2) a second version with 1% changed.
        var changed = (int)(fileCount * changedPercent / 100);
        var second = new Dictionary<string, byte[]>(files, StringComparer.Ordinal);
        foreach (var i in Enumerable.Range(0, changed).Select(k => k * (fileCount / Math.Max(1, changed))))
        {
            second[$"data/{i:D5}.txt"] = SmallFile(i, "v1");
        }
        var again = await LogAsync(artifacts, principal, entity, "many", second, client, cancellationToken);
        var hitRate = 100.0 * (fileCount - again.Puts) / fileCount;
        Console.WriteLine($"v1: {changed:N0} of {fileCount:N0} files changed -> the server asked for {again.Puts:N0} uploads; dedup hit rate {hitRate:N2}% (ideal {100.0 * (fileCount - changed) / fileCount:N2}%); server {(again.FilesMs + again.CommitMs) * 1000 / fileCount:N0} µs per file");

        // (3) download URL issuance: pages of 5,000 as Python's ArtifactFileURLs asks, a SAS per file.
        var latest = await artifacts.FindByNameAsync(entity, "bench", "many:latest", cancellationToken) ?? throw new InvalidOperationException("many:latest not found");
        var issuing = Stopwatch.StartNew();
        var issued = 0;
        string? after = null;
        while (true)
        {
            var (page, hasMore) = await artifacts.ListFilesAsync(latest.Artifact, after, 5000, null, cancellationToken);
            foreach (var file in page)
            {
                _ = await artifacts.FileDownloadUrlAsync(entity, file.Entry, cancellationToken) ?? throw new InvalidOperationException("no URL");
                issued++;
            }
            if (!hasMore)
            {
                break;
            }
            after = page[^1].Entry.Path;
        }
        Console.WriteLine($"download URLs: {issued:N0} in {issuing.Elapsed.TotalMilliseconds:N0} ms = {issued / issuing.Elapsed.TotalSeconds:N0} URLs/s (manifest read + paging + one SAS each)");

        // (4) one big file, streamed in parts.
        if (bigMiB > 0)
        {
            await BigFileAsync(artifacts, principal, entity, bigMiB * 1024 * 1024, (int)(partMiB * 1024 * 1024), client, cancellationToken);
        }
        return 0;
    }

    private static byte[] SmallFile(int i, string version) =>
        System.Text.Encoding.UTF8.GetBytes($"{version} file {i}\n" + new string((char)('a' + (i % 26)), 200 + (i % 300)));

    private sealed record Logged(int Puts, double FilesMs, double CommitMs, double UploadMs);

    private static CreateArtifactCommand Create(string entity, string collection, string digest) => new()
    {
        Entity = entity,
        Project = "bench",
        Type = "dataset",
        Collection = collection,
        Digest = digest,
        Aliases = [(collection, "latest")],
        EnableDigestDeduplication = true,
    };

    private static async Task<Logged> LogAsync(ArtifactService artifacts, Principal principal, string entity, string collection, IReadOnlyDictionary<string, byte[]> files, BlobClientSide client, CancellationToken cancellationToken)
    {
        var entries = files.OrderBy(f => f.Key, StringComparer.Ordinal).Select(f => new ManifestEntry(f.Key, ArtifactManifest.Md5Base64(f.Value), f.Value.Length, null, null, null)).ToList();
        var digest = new ArtifactManifest(entries).Digest;
        var row = await artifacts.CreateAsync(principal, Create(entity, collection, digest), cancellationToken);
        var key = row.Key;
        await artifacts.UpsertManifestAsync(principal, key, null, null, cancellationToken);
        var filesWatch = new Stopwatch();
        var uploads = new List<(string Url, byte[] Content, IReadOnlyList<string> Headers)>();
        foreach (var chunk in entries.Chunk(1000))
        {
            filesWatch.Start();
            var answers = await artifacts.CreateFilesAsync(principal, chunk.Select(e => new ArtifactFileSpec(key.Id, e.Path, e.Digest)).ToList(), cancellationToken);
            filesWatch.Stop();
            uploads.AddRange(answers.Where(a => a.UploadUrl is not null).Select(a => (a.UploadUrl!, files[a.Name], a.UploadHeaders)));
        }
        var uploadWatch = Stopwatch.StartNew();
        await Parallel.ForEachAsync(uploads, new ParallelOptions { MaxDegreeOfParallelism = 32, CancellationToken = cancellationToken },
            async (u, ct) => await client.PutAsync(u.Url, new ByteArrayContent(u.Content), u.Headers, ct));
        uploadWatch.Stop();
        var manifest = new ArtifactManifest(entries.Select(e => e with { BirthArtifactId = key.Id })).ToClientJson();
        await artifacts.UpsertManifestAsync(principal, key, ArtifactManifest.Md5Base64(manifest), null, cancellationToken);
        await client.PutAsync((await artifacts.ManifestUploadUrlAsync(key, cancellationToken)).AbsoluteUri, new ByteArrayContent(manifest), ArtifactService.UploadHeaders(ArtifactManifest.Md5Base64(manifest)), cancellationToken);
        var commitWatch = Stopwatch.StartNew();
        await artifacts.CommitAsync(principal, key, cancellationToken);
        return new Logged(uploads.Count, filesWatch.Elapsed.TotalMilliseconds, commitWatch.Elapsed.TotalMilliseconds, uploadWatch.Elapsed.TotalMilliseconds);
    }

    /// <summary>Deterministic bytes of the big file, generated part by part so it never exists in memory as a whole.</summary>
    private static void FillPart(byte[] buffer, int length, long partIndex)
    {
        // xorshift64: fast enough that generating is not what the figures measure.
        var state = ((ulong)partIndex * 0x9E3779B97F4A7C15UL) + 1;
        var words = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ulong>(buffer.AsSpan(0, length - (length % 8)));
        for (var i = 0; i < words.Length; i++)
        {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            words[i] = state;
        }
        buffer.AsSpan(length - (length % 8), length % 8).Fill((byte)partIndex);
    }

    private static async Task BigFileAsync(ArtifactService artifacts, Principal principal, string entity, long size, int partSize, BlobClientSide client, CancellationToken cancellationToken)
    {
        var partCount = (int)((size + partSize - 1) / partSize);
        var buffer = new byte[partSize];
        int Length(int part) => (int)Math.Min(partSize, size - ((long)part * partSize));

        // Pass 1: the client hashes the file and each part (as Python does before createArtifactFiles).
        var hashing = Stopwatch.StartNew();
        using var whole = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
        var parts = new List<UploadPart>(partCount);
        for (var p = 0; p < partCount; p++)
        {
            FillPart(buffer, Length(p), p);
            whole.AppendData(buffer, 0, Length(p));
            parts.Add(new UploadPart(p + 1, Convert.ToHexStringLower(MD5.HashData(buffer.AsSpan(0, Length(p))))));
        }
        var md5 = Convert.ToBase64String(whole.GetHashAndReset());
        Console.WriteLine($"big file: {size / (1024.0 * 1024 * 1024):N2} GiB, {partCount} parts; client hashing {hashing.Elapsed.TotalSeconds:N1} s");

        var entries = new List<ManifestEntry> { new("model.bin", md5, size, null, null, null) };
        var row = await artifacts.CreateAsync(principal, Create(entity, "big", new ArtifactManifest(entries).Digest), cancellationToken);
        var server = Stopwatch.StartNew();
        var answer = (await artifacts.CreateFilesAsync(principal, [new ArtifactFileSpec(row.Key.Id, "model.bin", md5, parts)], cancellationToken))[0];
        var createMs = server.Elapsed.TotalMilliseconds;
        var multipart = answer.Multipart ?? throw new InvalidOperationException("no multipart URLs");

        // Pass 2: each part regenerated and PUT straight to Blob storage with its Content-MD5.
        var upload = Stopwatch.StartNew();
        foreach (var (number, url) in multipart.Parts)
        {
            var p = (int)number - 1;
            FillPart(buffer, Length(p), p);
            var content = new ByteArrayContent(buffer, 0, Length(p));
            content.Headers.ContentMD5 = Convert.FromHexString(parts[p].HexMd5);
            await client.PutAsync(url, content, [], cancellationToken);
        }
        var uploadSeconds = upload.Elapsed.TotalSeconds;
        server.Restart();
        await artifacts.CompleteMultipartAsync(principal, row.Key, "Complete", answer.StoragePath, multipart.UploadId, parts, cancellationToken);
        var completeSeconds = server.Elapsed.TotalSeconds;
        var manifest = new ArtifactManifest(entries.Select(e => e with { BirthArtifactId = row.Key.Id })).ToClientJson();
        await artifacts.UpsertManifestAsync(principal, row.Key, ArtifactManifest.Md5Base64(manifest), null, cancellationToken);
        await client.PutAsync((await artifacts.ManifestUploadUrlAsync(row.Key, cancellationToken)).AbsoluteUri, new ByteArrayContent(manifest), ArtifactService.UploadHeaders(ArtifactManifest.Md5Base64(manifest)), cancellationToken);
        server.Restart();
        await artifacts.CommitAsync(principal, row.Key, cancellationToken);
        var commitMs = server.Elapsed.TotalMilliseconds;
        Console.WriteLine($"big file: createArtifactFiles {createMs:N0} ms ({partCount} part URLs); client upload {uploadSeconds:N1} s = {size / 1e6 / uploadSeconds:N0} MB/s; completeMultipartUploadArtifact {completeSeconds:N1} s (commit block list + server MD5 over the whole file = {size / 1e6 / completeSeconds:N0} MB/s); commit {commitMs:N0} ms");
        Console.WriteLine($"peak working set of the bench process (client + server in one process, {partSize / (1024 * 1024)} MiB part buffer): {Process.GetCurrentProcess().PeakWorkingSet64 / (1024.0 * 1024):N0} MiB");
    }

    /// <summary>Events go nowhere: the bench measures artifact storage, not Event Grid.</summary>
    private sealed class DiscardingEventSink : IArtifactEventSink
    {
        public Task PublishAsync(IReadOnlyList<ArtifactEvent> events, CancellationToken cancellationToken) => Task.CompletedTask;
    }

    /// <summary>What a client does with an upload URL: PUT with the given headers (<c>Name:Value</c>).</summary>
    private sealed class BlobClientSide(HttpClient http)
    {
        public async Task PutAsync(string url, HttpContent content, IReadOnlyList<string> headers, CancellationToken cancellationToken)
        {
            using var request = new HttpRequestMessage(HttpMethod.Put, url) { Content = content };
            foreach (var header in headers)
            {
                var colon = header.IndexOf(':', StringComparison.Ordinal);
                var (name, value) = (header[..colon], header[(colon + 1)..]);
                if (name.Equals("Content-MD5", StringComparison.OrdinalIgnoreCase))
                {
                    content.Headers.ContentMD5 = Convert.FromBase64String(value);
                }
                else if (!request.Headers.TryAddWithoutValidation(name, value))
                {
                    content.Headers.TryAddWithoutValidation(name, value);
                }
            }
            using var response = await http.SendAsync(request, cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                throw new InvalidOperationException($"PUT {url.Split('?')[0]}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(cancellationToken)}");
            }
        }
    }
}
