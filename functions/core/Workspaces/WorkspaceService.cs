using System.Text;
using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using Weightless.Core.Auth;
using Weightless.Core.Errors;
using Weightless.Core.Http;
using Weightless.Core.Query;
using Weightless.Core.Storage;
using Weightless.Core.Tenancy;

namespace Weightless.Core.Workspaces;

/// <summary>The workspace has changed since the caller read it (its If-Match no longer holds).</summary>
internal sealed class WorkspaceChangedException(string message)
    : WeightlessException(message)
{
    public override int StatusCode => 412;
    public override string Title => "Precondition failed";
}

/// <summary>
/// Workspace layouts saved per user per project, so a user's panels follow them across browsers.
/// One table row per (entity, project, user); the layout JSON is split over string properties
/// because one table string holds at most 32K characters. Viewers may save their own layout: it
/// changes nothing anyone else sees. Concurrent edits are guarded with the row's ETag.
/// </summary>
internal sealed class WorkspaceService(StorageAccount storage, RunQueryService projects, TimeProvider clock)
{
    public const string TableName = "workspaces";
    public const int MaxLayoutChars = 12 * ChunkChars;
    private const int ChunkChars = TableStore.MaxStringChars;
    private const string ChunkPrefix = "Layout";

    public async Task<WorkspaceDocument> GetAsync(Principal principal, string entity, string project, CancellationToken cancellationToken)
    {
        await projects.RequireProjectAsync(principal, entity, project, Role.Viewer, cancellationToken).ConfigureAwait(false);
        var table = await storage.TableAsync(TableName).ConfigureAwait(false);
        var row = await table.GetAsync<TableEntity>(TableKeys.Compose(entity, project), TableKeys.Escape(principal.UserName), cancellationToken).ConfigureAwait(false);
        if (row is null)
        {
            return new WorkspaceDocument(entity, project, principal.UserName, false, null, null, new WorkspaceLayout { Colours = [] });
        }
        var layout = JsonSerializer.Deserialize<WorkspaceLayout>(Join(row), RequestBody.Options) ?? new WorkspaceLayout();
        return new WorkspaceDocument(entity, project, principal.UserName, true, row.ETag.ToString(), row.GetDateTimeOffset("UpdatedAt"), layout);
    }

    /// <summary>
    /// Stores the caller's layout. <paramref name="ifMatch"/>: the ETag the caller read (412 when the
    /// stored layout has changed since), <c>*</c> (must exist) or null (last write wins);
    /// <paramref name="createOnly"/> (If-None-Match: *): 412 when a layout is already saved.
    /// </summary>
    public async Task<WorkspaceDocument> SaveAsync(Principal principal, string entity, string project, WorkspaceLayout layout, string? ifMatch, bool createOnly, CancellationToken cancellationToken)
    {
        await projects.RequireProjectAsync(principal, entity, project, Role.Viewer, cancellationToken).ConfigureAwait(false);
        WorkspaceLayoutValidator.Validate(layout);
        var json = JsonSerializer.Serialize(layout, RequestBody.Options);
        if (json.Length > MaxLayoutChars)
        {
            throw new TooLargeException($"The layout is {json.Length} characters of JSON; at most {MaxLayoutChars}.", "layout");
        }
        var now = clock.GetUtcNow();
        var row = new TableEntity(TableKeys.Compose(entity, project), TableKeys.Escape(principal.UserName)) { ["UpdatedAt"] = now };
        for (var i = 0; i * ChunkChars < json.Length; i++)
        {
            row[ChunkPrefix + i] = json.Substring(i * ChunkChars, Math.Min(ChunkChars, json.Length - i * ChunkChars));
        }
        var table = await storage.TableAsync(TableName).ConfigureAwait(false);
        ETag etag;
        try
        {
            etag = createOnly
                ? await table.AddAsync(row, cancellationToken).ConfigureAwait(false)
                : ifMatch is null
                    ? await table.UpsertAsync(row, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false)
                    : await table.UpdateAsync(row, ifMatch == "*" ? ETag.All : new ETag(ifMatch), TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
        }
        catch (ConflictException)
        {
            throw new WorkspaceChangedException(createOnly
                ? $"A workspace layout of {entity}/{project} is already saved for {principal.UserName}; read it and send its ETag in If-Match."
                : $"The workspace layout of {entity}/{project} changed since it was read; read it again and retry with the new ETag.");
        }
        catch (NotFoundException)
        {
            throw new WorkspaceChangedException($"No workspace layout of {entity}/{project} is saved for {principal.UserName} yet; send If-None-Match: * (or no condition) to create it.");
        }
        return new WorkspaceDocument(entity, project, principal.UserName, true, etag.ToString(), now, layout);
    }

    private static string Join(TableEntity row)
    {
        var json = new StringBuilder();
        for (var i = 0; row.GetString(ChunkPrefix + i) is { } chunk; i++)
        {
            json.Append(chunk);
        }
        return json.ToString();
    }
}
