using Azure.Storage.Sas;
using Microsoft.Extensions.Options;
using Weightless.Core.Auth;
using Weightless.Core.Errors;
using Weightless.Core.Storage;
using Weightless.Core.Tenancy;

namespace Weightless.Core.Runs;

/// <summary>A run file as listings show it.</summary>
internal sealed record RunFileInfo(RunKey Run, string Name, long? SizeBytes, string? Md5, DateTimeOffset? UpdatedAt, string? ContentType)
{
    public bool Exists => SizeBytes is not null;
}

/// <summary>
/// Run files (<c>wandb-metadata.json</c>, <c>output.log</c>, media, <c>wandb.save</c> files): the
/// bytes go straight between the client and Blob (container <c>runfiles</c>, blob
/// <c>{RunKey.BlobPrefix}{path}</c>) through SAS URLs scoped to one blob; this only mints URLs and lists.
/// </summary>
internal sealed class RunFileService(StorageAccount storage, TenancyService tenancy, RunService runs, IOptions<RunsOptions> options)
{
    public const string FilesContainer = "runfiles";

    /// <summary>What clients must send with a PUT to an upload URL (W&amp;B's <c>"Key:Value"</c> strings; no space, Python's requests rejects a leading one).</summary>
    public static readonly IReadOnlyList<string> UploadHeaders = ["x-ms-blob-type:BlockBlob"];

    /// <summary>The run a write goes to; 404 when it does not exist or the caller cannot see the entity.</summary>
    public async Task<RunRow> RequireRunAsync(Principal principal, RunKey key, Role role, CancellationToken cancellationToken)
    {
        await tenancy.RequireRoleAsync(principal, key.Entity, role, cancellationToken).ConfigureAwait(false);
        return await runs.FindRunAsync(key, cancellationToken).ConfigureAwait(false)
            ?? throw new NotFoundException($"Run '{key.RunId}' not found in {key.Entity}/{key.Project}.");
    }

    public async Task<Uri> UploadUrlAsync(RunKey key, string path, CancellationToken cancellationToken)
    {
        var container = await storage.ContainerAsync(FilesContainer).ConfigureAwait(false);
        return await container.GetSasUriAsync(BlobName(key, path), BlobSasPermissions.Create | BlobSasPermissions.Write, options.Value.FileUrlLifetime, cancellationToken).ConfigureAwait(false);
    }

    public async Task<Uri> DownloadUrlAsync(RunKey key, string path, CancellationToken cancellationToken)
    {
        var container = await storage.ContainerAsync(FilesContainer).ConfigureAwait(false);
        return await container.GetSasUriAsync(BlobName(key, path), BlobSasPermissions.Read, options.Value.FileUrlLifetime, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Files of a run by name, from <paramref name="after"/> (exclusive), at most <paramref name="first"/>.</summary>
    public async Task<(IReadOnlyList<RunFileInfo> Files, bool HasMore)> ListAsync(RunKey key, string? after, int first, CancellationToken cancellationToken)
    {
        var container = await storage.ContainerAsync(FilesContainer).ConfigureAwait(false);
        var prefix = key.BlobPrefix;
        var files = new List<RunFileInfo>();
        await foreach (var blob in container.ListAsync(prefix, cancellationToken).ConfigureAwait(false))
        {
            var name = blob.Name[prefix.Length..];
            if (after is not null && string.CompareOrdinal(name, after) <= 0)
            {
                continue;
            }
            if (files.Count == first)
            {
                return (files, true);
            }
            files.Add(new RunFileInfo(key, name, blob.Properties.ContentLength, Md5(blob.Properties.ContentHash), blob.Properties.LastModified, blob.Properties.ContentType));
        }
        return (files, false);
    }

    public async Task<int> CountAsync(RunKey key, CancellationToken cancellationToken)
    {
        var container = await storage.ContainerAsync(FilesContainer).ConfigureAwait(false);
        var count = 0;
        await foreach (var _ in container.ListAsync(key.BlobPrefix, cancellationToken).ConfigureAwait(false))
        {
            count++;
        }
        return count;
    }

    /// <summary>One named file; not-yet-uploaded files come back without size (so upload URLs can be handed out for them).</summary>
    public async Task<RunFileInfo> GetAsync(RunKey key, string path, CancellationToken cancellationToken)
    {
        var container = await storage.ContainerAsync(FilesContainer).ConfigureAwait(false);
        var properties = await container.GetPropertiesAsync(BlobName(key, path), cancellationToken).ConfigureAwait(false);
        return properties is null
            ? new RunFileInfo(key, path, null, null, null, null)
            : new RunFileInfo(key, path, properties.ContentLength, Md5(properties.ContentHash), properties.LastModified, properties.ContentType);
    }

    /// <summary>A run-relative file path: no empty, '.' or '..' segments, no backslashes, not absolute.</summary>
    public static string ValidatePath(string? path, string field = "files")
    {
        if (string.IsNullOrWhiteSpace(path) || path.Length > 512 || path.StartsWith('/') || path.Contains('\\', StringComparison.Ordinal) || path.Any(char.IsControl))
        {
            throw new ValidationFailedException($"'{path}' is not a valid run file path.", field);
        }
        foreach (var segment in path.Split('/'))
        {
            if (segment is "" or "." or "..")
            {
                throw new ValidationFailedException($"'{path}' is not a valid run file path.", field);
            }
        }
        return path;
    }

    private static string BlobName(RunKey key, string path) => key.BlobPrefix + ValidatePath(path);

    private static string? Md5(byte[]? hash) => hash is { Length: > 0 } ? Convert.ToBase64String(hash) : null;
}
