using System.Text;
using Weightless.Core.Artifacts;
using Weightless.Core.Errors;

namespace Weightless.Core.Tests.Artifacts;

/// <summary>The manifest format and digests, checked against the values in the recorded Python 0.16.6 traces.</summary>
public sealed class ArtifactManifestTests
{
    // Manifest of the two-file artifact in python-0.16.6-run-artifact-use-api-sweep.jsonl (request 19: 465 bytes, MD5 9WmQOiKoqTuDzcb9FVNi+g==).
    private const string TraceManifest = """
        {
            "version": 1,
            "storagePolicy": "wandb-storage-policy-v1",
            "storagePolicyConfig": {
                "storageLayout": "V2"
            },
            "contents": {
                "a.txt": {
                    "digest": "Gz8Znbd7EKjvs+Owab8zpw==",
                    "birthArtifactID": "QXJ0aWZhY3Q6MQ==",
                    "size": 15
                },
                "b.csv": {
                    "digest": "NE/SMj3TPVwFi3zyfeAp6A==",
                    "birthArtifactID": "QXJ0aWZhY3Q6MQ==",
                    "size": 8
                }
            }
        }
        """;

    [Fact]
    public void Artifact_digest_matches_the_digest_the_client_sent()
    {
        Assert.Equal("a190acf8e750d989adb79ebde023824b", ArtifactManifest.ComputeDigest([("b.csv", "NE/SMj3TPVwFi3zyfeAp6A=="), ("a.txt", "Gz8Znbd7EKjvs+Owab8zpw==")]));
        Assert.Equal("fb1770bca41f2648b2e7946355c04f96", ArtifactManifest.ComputeDigest([("tbl.table.json", "xQg5Qg0zmbXCIUAZO0nq1g==")]));
        Assert.Equal("a190acf8e750d989adb79ebde023824b", ArtifactManifest.Parse(Encoding.UTF8.GetBytes(TraceManifest)).Digest);
    }

    [Fact]
    public void File_digests_are_base64_md5_of_the_content()
    {
        Assert.Equal("Gz8Znbd7EKjvs+Owab8zpw==", ArtifactManifest.Md5Base64("hello artifact\n"u8));
        Assert.Equal("NE/SMj3TPVwFi3zyfeAp6A==", ArtifactManifest.Md5Base64("x,y\n1,2\n"u8));
    }

    [Fact]
    public void The_manifest_written_by_the_server_is_byte_identical_to_the_clients()
    {
        var bytes = Encoding.UTF8.GetBytes(TraceManifest);
        Assert.Equal(465, bytes.Length);
        Assert.Equal("9WmQOiKoqTuDzcb9FVNi+g==", ArtifactManifest.Md5Base64(bytes));
        var parsed = ArtifactManifest.Parse(bytes);
        Assert.Equal(["a.txt", "b.csv"], parsed.Entries.Select(e => e.Path));
        Assert.Equal(23, parsed.TotalSize);
        Assert.Equal("9WmQOiKoqTuDzcb9FVNi+g==", ArtifactManifest.Md5Base64(parsed.ToClientJson()));

        var table = new ArtifactManifest([new ManifestEntry("tbl.table.json", "xQg5Qg0zmbXCIUAZO0nq1g==", 367, null, "QXJ0aWZhY3Q6MQ==", null)]);
        Assert.Equal("41ZWgasQx3xF7H/Veb0Ptw==", ArtifactManifest.Md5Base64(table.ToClientJson()));
    }

    [Fact]
    public void Reference_entries_keep_their_uri_and_need_no_md5_digest()
    {
        var manifest = ArtifactManifest.Parse("""
            {"version": 1, "storagePolicy": "wandb-storage-policy-v1", "storagePolicyConfig": {"storageLayout": "V2"},
             "contents": {"weights.bin": {"digest": "\"9f1c0e\"", "ref": "s3://bucket/models/weights.bin", "size": 1048576, "extra": {"versionID": "abc"}},
                          "table.json": {"digest": "xQg5Qg0zmbXCIUAZO0nq1g==", "ref": "wandb-artifact://41727469666163743a31/tbl.table.json"}}}
            """u8.ToArray());
        var weights = manifest.Entries.Single(e => e.Path == "weights.bin");
        Assert.True(weights.IsReference);
        Assert.Equal("s3://bucket/models/weights.bin", weights.Ref);
        Assert.Equal("{\"versionID\": \"abc\"}", weights.ExtraJson);
        Assert.Null(weights.Md5Hex);
        Assert.Null(manifest.Entries.Single(e => e.Path == "table.json").Size);
    }

    [Theory]
    [InlineData("""{"version": 2, "storagePolicy": "wandb-storage-policy-v1", "contents": {}}""", "manifest.version")]
    [InlineData("""{"version": 1, "storagePolicy": "other", "contents": {}}""", "manifest.storagePolicy")]
    [InlineData("""{"version": 1, "storagePolicy": "wandb-storage-policy-v1"}""", "manifest.contents")]
    [InlineData("""{"version": 1, "storagePolicy": "wandb-storage-policy-v1", "contents": {"a": {"size": 1}}}""", "manifest.contents.a.digest")]
    [InlineData("""{"version": 1, "storagePolicy": "wandb-storage-policy-v1", "contents": {"a": {"digest": "not-md5", "size": 1}}}""", "manifest.contents.a.digest")]
    [InlineData("""{"version": 1, "storagePolicy": "wandb-storage-policy-v1", "contents": {"../a": {"digest": "Gz8Znbd7EKjvs+Owab8zpw=="}}}""", "manifest.contents.../a")]
    [InlineData("""{"version": 1, "storagePolicy": "wandb-storage-policy-v1", "contents": {"a": {"digest": "Gz8Znbd7EKjvs+Owab8zpw==", "size": -1}}}""", "manifest.contents.a.size")]
    [InlineData("not json", "manifest")]
    public void Bad_manifests_name_the_field_at_fault(string json, string field)
    {
        var error = Assert.Throws<ValidationFailedException>(() => ArtifactManifest.Parse(Encoding.UTF8.GetBytes(json)));
        Assert.Equal(field, error.Field);
    }

    [Fact]
    public void Artifact_ids_are_standard_base64_and_round_trip()
    {
        var key = new ArtifactKey("example-user", "my project", "example-dataset", Guid.NewGuid().ToString("N"));
        var id = key.Id;
        var decoded = Convert.FromBase64String(id);
        Assert.StartsWith("Artifact:v1:", Encoding.UTF8.GetString(decoded), StringComparison.Ordinal);
        Assert.Equal(key, ArtifactIds.ParseArtifact(id));
        Assert.Equal(key, ArtifactIds.ParseManifest(ArtifactIds.Manifest(key)));
        Assert.Equal(new CollectionKey("example-user", "my project", "example-dataset"), ArtifactIds.ParseSequence(ArtifactIds.Sequence(new CollectionKey("example-user", "my project", "example-dataset"))));
        Assert.Throws<ValidationFailedException>(() => ArtifactIds.ParseArtifact("QXJ0aWZhY3Q6MQ=="));
        Assert.Throws<ValidationFailedException>(() => ArtifactIds.ParseArtifact("***"));
        Assert.Throws<ValidationFailedException>(() => ArtifactIds.ParseArtifact(ArtifactIds.Manifest(key)));
    }

    [Theory]
    [InlineData("best", true)]
    [InlineData("production-2024.1", true)]
    [InlineData("v3", false)]
    [InlineData("a:b", false)]
    [InlineData("a/b", false)]
    [InlineData("", false)]
    public void Custom_aliases_exclude_version_aliases_and_separators(string alias, bool valid)
    {
        if (valid)
        {
            Assert.Equal(alias, ArtifactIds.ValidateAlias(alias));
        }
        else
        {
            Assert.Throws<ValidationFailedException>(() => ArtifactIds.ValidateAlias(alias));
        }
    }
}
