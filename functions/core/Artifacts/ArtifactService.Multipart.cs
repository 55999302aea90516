using System.Security.Cryptography;
using System.Text;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using Azure.Storage.Sas;
using Weightless.Core.Auth;
using Weightless.Core.Errors;
using Weightless.Core.Tenancy;

namespace Weightless.Core.Artifacts;

/// <summary>One part a client offers for a multipart upload: its number (from 1) and the hex MD5 of its bytes.</summary>
internal sealed record UploadPart(long PartNumber, string HexMd5);

/// <summary>The answer for a multipart file: an upload id and one PUT URL per part.</summary>
internal sealed record MultipartUpload(string UploadId, IReadOnlyList<(long PartNumber, string UploadUrl)> Parts);

/// <summary>
/// Multipart uploads on Azure block blobs: each part URL is the blob's SAS URL with
/// <c>comp=block&amp;blockid=…</c>, so the client's PUT stages a block directly in Blob storage (its
/// Content-MD5 is checked there); completing commits the block list in part order and verifies the
/// whole file against its content address by reading it once (streamed).
/// </summary>
internal sealed partial class ArtifactService
{
    public const int MaxParts = 10_000;

    /// <summary>Block ids of one blob must all have the same length: upload id (16 hex) + part number (5 digits).</summary>
    public static string BlockId(string uploadId, long partNumber) =>
        Convert.ToBase64String(Encoding.ASCII.GetBytes(uploadId + partNumber.ToString("D5", System.Globalization.CultureInfo.InvariantCulture)));

    private static IReadOnlyList<UploadPart> ValidateParts(IReadOnlyList<UploadPart> parts, string field)
    {
        if (parts.Count > MaxParts)
        {
            throw new ValidationFailedException($"At most {MaxParts} parts per file.", field);
        }
        var ordered = parts.OrderBy(p => p.PartNumber).ToList();
        for (var i = 0; i < ordered.Count; i++)
        {
            if (ordered[i].PartNumber != i + 1)
            {
                throw new ValidationFailedException("Parts are numbered 1, 2, 3, … without gaps or repeats.", field);
            }
            if (ordered[i].HexMd5 is not { Length: 32 } hex || !hex.All(char.IsAsciiHexDigit))
            {
                throw new ValidationFailedException($"Part {ordered[i].PartNumber}: 'hexMD5' must be 32 hex digits.", field);
            }
        }
        return ordered;
    }

    private async Task<MultipartUpload> MultipartUrlsAsync(Storage.BlobStore blobs, string blob, IReadOnlyList<UploadPart> parts, CancellationToken cancellationToken)
    {
        var uploadId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        var sas = await blobs.GetSasUriAsync(blob, BlobSasPermissions.Create | BlobSasPermissions.Write, Options.UrlLifetime, cancellationToken).ConfigureAwait(false);
        var urls = parts.Select(p => (p.PartNumber, $"{sas.AbsoluteUri}&comp=block&blockid={Uri.EscapeDataString(BlockId(uploadId, p.PartNumber))}")).ToList();
        return new MultipartUpload(uploadId, urls);
    }

    /// <summary>
    /// <c>completeMultipartUploadArtifact</c>: commits the staged blocks of <paramref name="uploadId"/>
    /// in part order, then reads the blob once to check it has the MD5 its storage path names
    /// (recorded as the blob's Content-MD5, which commit checks); a mismatch deletes it. Returns the
    /// base64 MD5. <c>Abort</c> leaves the staged blocks to Blob storage's own clean-up (a week).
    /// </summary>
    public async Task<string?> CompleteMultipartAsync(Principal principal, ArtifactKey key, string? action, string? storagePath, string? uploadId, IReadOnlyList<UploadPart> completedParts, CancellationToken cancellationToken)
    {
        var row = await RequireArtifactAsync(principal, key, Role.Member, cancellationToken).ConfigureAwait(false);
        if (row.State != ArtifactStates.Pending)
        {
            throw new ConflictException($"Artifact version {key} is {row.State}; files can only be added before it is committed.");
        }
        var prefix = FileBlob(key.Entity, "");
        var hex = storagePath is not null && storagePath.StartsWith(prefix, StringComparison.Ordinal) ? storagePath[prefix.Length..] : "";
        if (hex.Length != 32 || !hex.All(c => char.IsAsciiHexDigit(c) && !char.IsAsciiLetterUpper(c)))
        {
            throw new ValidationFailedException("'storagePath' must be the storagePath createArtifactFiles answered for this artifact's file.", "storagePath");
        }
        if (uploadId is not { Length: 16 } || !uploadId.All(char.IsAsciiHexDigit))
        {
            throw new ValidationFailedException("'uploadID' must be the uploadID createArtifactFiles answered.", "uploadID");
        }
        if (action == "Abort")
        {
            return null;
        }
        var parts = ValidateParts(completedParts, "completedParts");
        if (parts.Count == 0)
        {
            throw new ValidationFailedException("'completedParts' lists the uploaded parts.", "completedParts");
        }
        var blobs = await BlobsAsync().ConfigureAwait(false);
        var blob = blobs.Container.GetBlockBlobClient(storagePath);
        try
        {
            await blob.CommitBlockListAsync(parts.Select(p => BlockId(uploadId, p.PartNumber)), cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (Azure.RequestFailedException ex) when (ex.Status == 400)
        {
            throw new ValidationFailedException("Not every part has been uploaded; PUT each part to its URL, then complete.", "completedParts");
        }
        byte[] md5;
        await using (var stream = await blob.OpenReadAsync(new BlobOpenReadOptions(allowModifications: false) { BufferSize = 4 * 1024 * 1024 }, cancellationToken).ConfigureAwait(false))
        {
            md5 = await MD5.HashDataAsync(stream, cancellationToken).ConfigureAwait(false);
        }
        if (!string.Equals(Convert.ToHexStringLower(md5), hex, StringComparison.Ordinal))
        {
            await blob.DeleteIfExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            throw new ValidationFailedException($"The assembled parts have MD5 {Convert.ToHexStringLower(md5)}, not the file's {hex}; upload the file again.", "completedParts");
        }
        await blob.SetHttpHeadersAsync(new BlobHttpHeaders { ContentHash = md5 }, cancellationToken: cancellationToken).ConfigureAwait(false);
        return Convert.ToBase64String(md5);
    }
}
