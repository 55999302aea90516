using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Weightless.Core.Errors;

namespace Weightless.Core.Artifacts;

/// <summary>One entry of a manifest: a stored file (digest = base64 MD5 of its bytes) or a reference (<see cref="Ref"/>).</summary>
internal sealed record ManifestEntry(string Path, string Digest, long? Size, string? Ref, string? BirthArtifactId, string? ExtraJson)
{
    public bool IsReference => Ref is not null;

    /// <summary>The content address of a stored file (hex MD5), or null when the digest is not a base64 MD5.</summary>
    public string? Md5Hex => ArtifactManifest.TryMd5Hex(Digest);
}

/// <summary>
/// <c>wandb_manifest.json</c>, version 1 with <c>wandb-storage-policy-v1</c>, as the clients write it:
/// <c>{"version":1,"storagePolicy":"wandb-storage-policy-v1","storagePolicyConfig":{"storageLayout":"V2"},
/// "contents":{path:{digest,size,birthArtifactID?,ref?,extra?}}}</c>.
/// </summary>
internal sealed class ArtifactManifest
{
    public const string StoragePolicy = "wandb-storage-policy-v1";
    public const string DigestHeader = "wandb-artifact-manifest-v1\n";

    /// <summary>Manifests are read whole at commit; this bounds the memory one commit may take.</summary>
    public const int MaxBytes = 256 * 1024 * 1024;

    public ArtifactManifest(IEnumerable<ManifestEntry> entries, string storageLayout = "V2")
    {
        Entries = entries.OrderBy(e => e.Path, StringComparer.Ordinal).ToList();
        StorageLayout = storageLayout;
    }

    /// <summary>Entries sorted by path (ordinal, as Python's <c>sorted</c> orders them).</summary>
    public IReadOnlyList<ManifestEntry> Entries { get; }

    public string StorageLayout { get; }

    public long TotalSize => Entries.Sum(e => e.Size ?? 0);

    /// <summary>The artifact digest exactly as the clients compute it (hex MD5 over the sorted <c>path:digest</c> lines).</summary>
    public string Digest => ComputeDigest(Entries.Select(e => (e.Path, e.Digest)));

    public static string ComputeDigest(IEnumerable<(string Path, string Digest)> entries)
    {
        var text = new StringBuilder(DigestHeader);
        foreach (var (path, digest) in entries.OrderBy(e => e.Path, StringComparer.Ordinal))
        {
            text.Append(path).Append(':').Append(digest).Append('\n');
        }
        return Convert.ToHexStringLower(MD5.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }

    /// <summary>Hex MD5 from a base64 MD5 digest, or null if it is not one.</summary>
    public static string? TryMd5Hex(string? base64)
    {
        if (string.IsNullOrEmpty(base64) || base64.Length != 24)
        {
            return null;
        }
        Span<byte> bytes = stackalloc byte[18];
        return Convert.TryFromBase64String(base64, bytes, out var written) && written == 16 ? Convert.ToHexStringLower(bytes[..16]) : null;
    }

    public static ArtifactManifest Parse(ReadOnlyMemory<byte> json)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException ex)
        {
            throw new ValidationFailedException($"The manifest is not valid JSON: {ex.Message.Split(" LineNumber")[0]}", "manifest");
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new ValidationFailedException("The manifest must be a JSON object.", "manifest");
            }
            if (!root.TryGetProperty("version", out var version) || version.ValueKind != JsonValueKind.Number || !version.TryGetInt32(out var v) || v != 1)
            {
                throw new ValidationFailedException("Only manifest version 1 is supported.", "manifest.version");
            }
            if (!root.TryGetProperty("storagePolicy", out var policy) || policy.ValueKind != JsonValueKind.String || policy.GetString() != StoragePolicy)
            {
                throw new ValidationFailedException($"Only storage policy '{StoragePolicy}' is supported.", "manifest.storagePolicy");
            }
            var layout = "V2";
            if (root.TryGetProperty("storagePolicyConfig", out var config) && config.ValueKind == JsonValueKind.Object
                && config.TryGetProperty("storageLayout", out var layoutElement) && layoutElement.ValueKind == JsonValueKind.String)
            {
                layout = layoutElement.GetString()!;
            }
            if (!root.TryGetProperty("contents", out var contents) || contents.ValueKind != JsonValueKind.Object)
            {
                throw new ValidationFailedException("The manifest has no 'contents' object.", "manifest.contents");
            }
            var entries = new List<ManifestEntry>();
            foreach (var property in contents.EnumerateObject())
            {
                entries.Add(ParseEntry(property.Name, property.Value));
            }
            return new ArtifactManifest(entries, layout);
        }
    }

    private static ManifestEntry ParseEntry(string path, JsonElement entry)
    {
        var field = $"manifest.contents.{path}";
        ValidatePath(path, field);
        if (entry.ValueKind != JsonValueKind.Object)
        {
            throw new ValidationFailedException("A manifest entry must be an object.", field);
        }
        if (!entry.TryGetProperty("digest", out var digest) || digest.ValueKind != JsonValueKind.String || string.IsNullOrEmpty(digest.GetString()))
        {
            throw new ValidationFailedException("A manifest entry needs a 'digest' string.", field + ".digest");
        }
        long? size = null;
        if (entry.TryGetProperty("size", out var sizeElement) && sizeElement.ValueKind != JsonValueKind.Null)
        {
            if (sizeElement.ValueKind != JsonValueKind.Number || !sizeElement.TryGetInt64(out var s) || s < 0)
            {
                throw new ValidationFailedException("'size' must be a non-negative integer.", field + ".size");
            }
            size = s;
        }
        string? reference = null;
        if (entry.TryGetProperty("ref", out var refElement) && refElement.ValueKind != JsonValueKind.Null)
        {
            if (refElement.ValueKind != JsonValueKind.String || string.IsNullOrEmpty(refElement.GetString()))
            {
                throw new ValidationFailedException("'ref' must be a URI string.", field + ".ref");
            }
            reference = refElement.GetString();
        }
        var birth = entry.TryGetProperty("birthArtifactID", out var birthElement) && birthElement.ValueKind == JsonValueKind.String ? birthElement.GetString() : null;
        var extra = entry.TryGetProperty("extra", out var extraElement) && extraElement.ValueKind == JsonValueKind.Object ? extraElement.GetRawText() : null;
        if (reference is null && TryMd5Hex(digest.GetString()) is null)
        {
            throw new ValidationFailedException("A stored file's digest must be the base64 MD5 of its content.", field + ".digest");
        }
        return new ManifestEntry(path, digest.GetString()!, size, reference, birth, extra);
    }

    /// <summary>An artifact-relative path: no empty, '.' or '..' segments, not absolute, no backslashes or control characters.</summary>
    public static string ValidatePath(string? path, string field = "name")
    {
        if (string.IsNullOrEmpty(path) || path.Length > 1024 || path.StartsWith('/') || path.Contains('\\', StringComparison.Ordinal) || path.Any(char.IsControl))
        {
            throw new ValidationFailedException($"'{path}' is not a valid artifact file path.", field);
        }
        foreach (var segment in path.Split('/'))
        {
            if (segment is "" or "." or "..")
            {
                throw new ValidationFailedException($"'{path}' is not a valid artifact file path.", field);
            }
        }
        return path;
    }

    /// <summary>
    /// The manifest as Python writes it (<c>json.dumps(indent=4)</c>, entry keys in the client's
    /// order), so a manifest the server writes — a linked or edited version — hashes like the client's.
    /// </summary>
    public byte[] ToClientJson()
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, IndentSize = 4, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            writer.WriteNumber("version", 1);
            writer.WriteString("storagePolicy", StoragePolicy);
            writer.WriteStartObject("storagePolicyConfig");
            writer.WriteString("storageLayout", StorageLayout);
            writer.WriteEndObject();
            writer.WriteStartObject("contents");
            foreach (var entry in Entries)
            {
                writer.WriteStartObject(entry.Path);
                writer.WriteString("digest", entry.Digest);
                if (entry.Ref is not null)
                {
                    writer.WriteString("ref", entry.Ref);
                }
                if (entry.BirthArtifactId is not null)
                {
                    writer.WriteString("birthArtifactID", entry.BirthArtifactId);
                }
                if (entry.Size is { } size)
                {
                    writer.WriteNumber("size", size);
                }
                if (entry.ExtraJson is not null)
                {
                    writer.WritePropertyName("extra");
                    writer.WriteRawValue(entry.ExtraJson);
                }
                writer.WriteEndObject();
            }
            writer.WriteEndObject();
            writer.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    public static string Md5Base64(ReadOnlySpan<byte> content) => Convert.ToBase64String(MD5.HashData(content));
}
