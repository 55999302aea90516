using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json.Nodes;

namespace Weightless.Integration.Tests.Runs;

/// <summary>
/// Media logged with <c>wandb.log({"img": wandb.Image(…)})</c>: the history row holds a reference
/// (<c>{"_type": "image-file", "path": "media/images/…"}</c>), the bytes go up as a run file through
/// <c>createRunFiles</c>; a reader follows the path from the row to a downloadable file.
/// </summary>
public sealed class RunMediaTests(WandbTestHost host) : IClassFixture<WandbTestHost>
{
    [Fact]
    public async Task A_media_reference_in_history_resolves_to_the_uploaded_file_through_rest_and_graphql()
    {
        var (user, key) = await host.NewUserAsync();
        await host.DataAsync(key, WandbDocuments.UpsertBucket, new { entity = user, project = "media", name = "m1" });
        var png = RandomNumberGenerator.GetBytes(3000);
        var sha = Convert.ToHexStringLower(SHA256.HashData(png));
        var path = $"media/images/img_0_{sha[..20]}.png";

        // The client's order: the history row first (file_stream), the file upload after (file pusher).
        var reference = new JsonObject { ["_type"] = "image-file", ["path"] = path, ["sha256"] = sha, ["size"] = png.Length, ["format"] = "png", ["width"] = 32, ["height"] = 32 };
        var row = new JsonObject { ["_step"] = 0, ["_runtime"] = 1.5, ["img"] = reference }.ToJsonString();
        var (status, _) = await host.FileStreamAsync(key, user, "media", "m1", new { files = new Dictionary<string, object> { ["wandb-history.jsonl"] = new { offset = 0, content = new[] { row } } } });
        Assert.Equal(200, status);

        var created = await host.DataAsync(key, WandbDocuments.CreateRunFiles, new { entity = user, project = "media", run = "m1", files = new[] { path } });
        var upload = created["createRunFiles"]!;
        using var blob = new HttpClient();
        using (var put = new HttpRequestMessage(HttpMethod.Put, upload["files"]![0]!["uploadUrl"]!.GetValue<string>()) { Content = new ByteArrayContent(png) })
        {
            foreach (var header in upload["uploadHeaders"]!.AsArray().Select(h => h!.GetValue<string>().Split(':', 2)))
            {
                put.Headers.TryAddWithoutValidation(header[0], header[1]);
            }
            Assert.True((await blob.SendAsync(put)).IsSuccessStatusCode);
        }

        // The stored row keeps the reference as sent; its path leads to the file.
        using var client = host.Client(key);
        var history = (await client.GetFromJsonAsync<JsonObject>($"/api/v1/entities/{user}/projects/media/runs/m1/history"))!;
        var image = history["rows"]![0]!["img"]!;
        Assert.Equal("image-file", image["_type"]!.GetValue<string>());
        var referenced = image["path"]!.GetValue<string>();
        Assert.Equal(path, referenced);

        // REST: the run's file listing carries a download URL for that path.
        var files = (await client.GetFromJsonAsync<JsonObject>($"/api/v1/entities/{user}/projects/media/runs/m1/files"))!;
        var listed = files["files"]!.AsArray().Single(f => f!["name"]!.GetValue<string>() == referenced)!;
        Assert.Equal(png.Length, listed["sizeBytes"]!.GetValue<long>());
        Assert.Equal(png, await blob.GetByteArrayAsync(listed["url"]!.GetValue<string>()));

        // GraphQL: what the public API (run.file(path).download()) asks for — files(names:) with directUrl.
        var data = await host.DataAsync(key, WandbDocuments.RunFiles, new { project = "media", entity = user, name = "m1", fileNames = new[] { referenced } });
        var node = Assert.Single(data["project"]!["run"]!["files"]!["edges"]!.AsArray())!["node"]!;
        Assert.Equal(referenced, node["name"]!.GetValue<string>());
        Assert.Equal(png.Length, node["sizeBytes"]!.GetValue<long>());
        Assert.Equal(png, await blob.GetByteArrayAsync(node["directUrl"]!.GetValue<string>()));
        Assert.Equal(png, await blob.GetByteArrayAsync(node["url"]!.GetValue<string>()));
    }
}
