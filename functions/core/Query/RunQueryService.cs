using System.Text.Json;
using System.Text.Json.Nodes;
using Azure.Data.Tables;
using Weightless.Core.Auth;
using Weightless.Core.Errors;
using Weightless.Core.History;
using Weightless.Core.Runs;
using Weightless.Core.Storage;
using Weightless.Core.Tenancy;

namespace Weightless.Core.Query;

/// <summary>
/// The REST API's reads and edits of entities, projects and runs. Lists, groups and exports come from the
/// project's run index; single runs from the run store. Viewers read, members write; an entity the caller
/// cannot see is a 404 (no existence leak).
/// </summary>
internal sealed class RunQueryService(
    StorageAccount storage,
    TenancyService tenancy,
    RunService runs,
    RunIndexService index,
    RunStoreIndexSource indexSource,
    HistoryStore history,
    EventsStore events,
    ConsoleLogStore console,
    TimeProvider clock)
{
    public async Task<EntityListDto> ListEntitiesAsync(Principal principal, CancellationToken cancellationToken)
    {
        var memberships = await tenancy.ListMembershipsAsync(principal.UserName, cancellationToken).ConfigureAwait(false);
        return new EntityListDto(memberships.Select(m => new EntityDto(m.Entity, m.Kind, m.Role.ToWire())).ToList());
    }

    public async Task<EntityDto> GetEntityAsync(Principal principal, string entity, CancellationToken cancellationToken)
    {
        var role = await tenancy.RequireRoleAsync(principal, entity, Role.Viewer, cancellationToken).ConfigureAwait(false);
        var row = await tenancy.GetEntityAsync(entity, cancellationToken).ConfigureAwait(false) ?? throw new NotFoundException($"Entity '{entity}' not found.");
        return new EntityDto(entity, row.Kind, role.ToWire());
    }

    public async Task<ProjectListDto> ListProjectsAsync(Principal principal, string entity, CancellationToken cancellationToken)
    {
        await tenancy.RequireRoleAsync(principal, entity, Role.Viewer, cancellationToken).ConfigureAwait(false);
        var table = await storage.TableAsync(RunService.ProjectsTable).ConfigureAwait(false);
        var result = new List<ProjectDto>();
        await foreach (var project in table.QueryPartitionAsync<ProjectRow>(TableKeys.Escape(entity), cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            result.Add(await ToProjectAsync(entity, project, cancellationToken).ConfigureAwait(false));
        }
        return new ProjectListDto(result);
    }

    public async Task<ProjectDto> GetProjectAsync(Principal principal, string entity, string project, CancellationToken cancellationToken)
    {
        var row = await RequireProjectAsync(principal, entity, project, Role.Viewer, cancellationToken).ConfigureAwait(false);
        return await ToProjectAsync(entity, row, cancellationToken).ConfigureAwait(false);
    }

    private Task<ProjectDto> ToProjectAsync(string entity, ProjectRow project, CancellationToken cancellationToken) =>
        index.ReadAsync(entity, project.Name, [RunField.CreatedAt], (table, _) =>
        {
            var count = 0;
            long latest = long.MinValue;
            var created = table.Column(RunField.CreatedAt)!;
            foreach (var position in table.LivePositions())
            {
                if (!table.IsDeleted(position))
                {
                    count++;
                    latest = Math.Max(latest, (long)created[position].Number);
                }
            }
            return Task.FromResult(new ProjectDto(entity, project.Name, project.CreatedAt, project.CreatedBy, count, count == 0 ? null : DateTimeOffset.FromUnixTimeMilliseconds(latest)));
        }, cancellationToken);

    /// <summary>The project, after checking the caller's role in its entity; 404 when either is unknown.</summary>
    public async Task<ProjectRow> RequireProjectAsync(Principal principal, string entity, string project, Role role, CancellationToken cancellationToken)
    {
        // Both point reads at once; whether the project exists is told only to a caller with the role.
        var found = runs.FindProjectAsync(entity, project, cancellationToken);
        try
        {
            await tenancy.RequireRoleAsync(principal, entity, role, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            _ = found.ContinueWith(static t => t.Exception, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously);
            throw;
        }
        return await found.ConfigureAwait(false) ?? throw new NotFoundException($"Project '{entity}/{project}' not found.");
    }

    /// <summary>The run, after checking the caller's role; 404 when it is unknown (or deleted).</summary>
    public async Task<RunRow> RequireRunAsync(Principal principal, RunKey key, Role role, CancellationToken cancellationToken)
    {
        await tenancy.RequireRoleAsync(principal, key.Entity, role, cancellationToken).ConfigureAwait(false);
        return await FindOrThrowAsync(key, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Many runs of one project, after ONE role and project check (not one per run, the two reads concurrent);
    /// 404 naming the first run found missing. Rows are read <paramref name="concurrency"/> at a time.
    /// <paramref name="alongside"/>, when given, starts once the role and the project are checked and runs
    /// concurrently with the run reads (a caller's reads of the runs' data need not wait a round of point reads);
    /// this returns only when both are done, and when a run is missing the 404 is what the caller gets: the work
    /// alongside is cancelled and its outcome dropped, so nothing it read can leave.
    /// </summary>
    public async Task<RunRow[]> RequireRunsAsync(Principal principal, string entity, string project, IReadOnlyList<string> runIds, Role role, int concurrency, CancellationToken cancellationToken, Func<CancellationToken, Task>? alongside = null)
    {
        await RequireProjectAsync(principal, entity, project, role, cancellationToken).ConfigureAwait(false);
        using var work = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var concurrent = alongside is null ? Task.CompletedTask : Task.Run(() => alongside(work.Token), work.Token);
        var rows = new RunRow[runIds.Count];
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = concurrency, CancellationToken = cancellationToken };
        try
        {
            await Parallel.ForEachAsync(Enumerable.Range(0, runIds.Count), parallel, async (i, ct) =>
                rows[i] = await FindOrThrowAsync(new RunKey(entity, project, runIds[i]), ct).ConfigureAwait(false)).ConfigureAwait(false);
        }
        catch
        {
            await work.CancelAsync().ConfigureAwait(false);
            // The run check's failure is the answer; the concurrent work's own outcome (likely a cancellation) is dropped.
            await SettledAsync(concurrent).ConfigureAwait(false);
            throw;
        }
        await concurrent.ConfigureAwait(false);
        return rows;

        // Waits for a task whose outcome no longer matters (so none of its work outlives the call, and its exception is observed).
        static Task SettledAsync(Task task) =>
            task.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    private async Task<RunRow> FindOrThrowAsync(RunKey key, CancellationToken cancellationToken) =>
        await runs.FindRunAsync(key, cancellationToken).ConfigureAwait(false)
            ?? throw new NotFoundException($"Run '{key.RunId}' not found in {key.Entity}/{key.Project}.");

    public async Task<RunPageDto> ListRunsAsync(Principal principal, string entity, string project, RunQuerySpec spec, CancellationToken cancellationToken)
    {
        // A cold start's first snapshot read overlaps the access check (it changes nothing until used).
        var prefetch = index.Prefetch(entity, project, cancellationToken);
        try
        {
            await RequireProjectAsync(principal, entity, project, Role.Viewer, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            prefetch?.Abandon();
            throw;
        }
        // Only the filter and sort columns are decoded on a cold start; the page's rows come from RowsAsync.
        var fields = RunFilter.Fields(spec.Filter).Concat(spec.Sort.Select(k => k.Field)).ToList();
        // On a cold start the page is worked out once the columns are in and its rows fetched while the
        // change-log tail is still being read; the query runs again only when the tail changed the table.
        return await index.ReadPageAsync(entity, project, fields, table => RunQueryEngine.Execute(table, spec), page => page.Positions, async (table, page, ct) =>
        {
            var rows = await table.RowsAsync(page.Positions, ct).ConfigureAwait(false);
            return new RunPageDto(rows.Select(row => ToDto(entity, project, row)).ToList(), page.Total, page.NextCursor);
        }, cancellationToken, prefetch).ConfigureAwait(false);
    }

    public async Task<GroupPageDto> GroupRunsAsync(Principal principal, string entity, string project, IReadOnlyList<string> by, FilterNode? filter, bool includeDeleted, CancellationToken cancellationToken)
    {
        if (by.Count == 0)
        {
            throw new ValidationFailedException("Name at least one field to group by.", "by");
        }
        var fields = by.Select(b => RunField.Parse(b, "by")).ToList();
        await RequireProjectAsync(principal, entity, project, Role.Viewer, cancellationToken).ConfigureAwait(false);
        return await index.ReadAsync(entity, project, table =>
        {
            var groups = RunQueryEngine.Group(table, filter, fields, includeDeleted);
            var total = RunQueryEngine.Match(table, filter, includeDeleted).Count;
            return new GroupPageDto(fields.Select(f => f.Path).ToList(), groups.Select(g => new GroupDto(g.Values.Select(ToNode).ToList(), g.Count, g.Key)).ToList(), total);
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The matching runs in order, copied out of the index (exports stream them after the lock is released).</summary>
    public async Task<IReadOnlyList<RunIndexRow>> SelectRunsAsync(Principal principal, string entity, string project, FilterNode? filter, IReadOnlyList<SortKey> sort, bool includeDeleted, CancellationToken cancellationToken)
    {
        await RequireProjectAsync(principal, entity, project, Role.Viewer, cancellationToken).ConfigureAwait(false);
        return await index.ReadAsync(entity, project, table =>
            RunQueryEngine.ExecuteAll(table, filter, sort, includeDeleted).Select(table.ToRow).ToList(), cancellationToken).ConfigureAwait(false);
    }

    public async Task<RunDto> GetRunAsync(Principal principal, RunKey key, CancellationToken cancellationToken)
    {
        var row = await RequireRunAsync(principal, key, Role.Viewer, cancellationToken).ConfigureAwait(false);
        return await ToDtoAsync(row, deleted: null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Sets name, notes, description and tags; merges config and summary at the top level (null removes a
    /// key). One ETag-checked write, so a concurrent file_stream summary update is never lost.
    /// </summary>
    public async Task<RunDto> UpdateRunAsync(Principal principal, RunKey key, RunPatchRequest patch, CancellationToken cancellationToken)
    {
        await RequireRunAsync(principal, key, Role.Member, cancellationToken).ConfigureAwait(false);
        var configPatch = ObjectPatch(patch.Config, "config");
        var summaryPatch = ObjectPatch(patch.Summary, "summary");
        string? tags = null;
        if (patch.Tags is not null)
        {
            for (var i = 0; i < patch.Tags.Count; i++)
            {
                if (string.IsNullOrWhiteSpace(patch.Tags[i]) || patch.Tags[i].Length > 256)
                {
                    throw new ValidationFailedException("A tag is 1–256 characters.", $"tags[{i}]");
                }
            }
            tags = JsonSerializer.Serialize(patch.Tags.Distinct(StringComparer.Ordinal).ToList());
        }
        foreach (var (value, field) in new[] { (patch.DisplayName, "displayName"), (patch.Notes, "notes"), (patch.Description, "description") })
        {
            if (value is { Length: > 30_000 })
            {
                throw new TooLargeException($"'{field}' is {value.Length} characters; at most 30000 are accepted.", field);
            }
        }
        var updated = await runs.UpdateAsync(key, async (row, edit) =>
        {
            if (patch.DisplayName is not null) { row.DisplayName = patch.DisplayName; }
            if (patch.Notes is not null) { row.Notes = patch.Notes; }
            if (patch.Description is not null) { row.Description = patch.Description; }
            if (tags is not null) { row.Tags = tags; }
            if (configPatch is not null)
            {
                var config = JsonText.ParseObject(await runs.GetConfigAsync(row, cancellationToken).ConfigureAwait(false));
                foreach (var (name, value) in configPatch)
                {
                    if (value is null)
                    {
                        config.Remove(name);
                    }
                    else
                    {
                        config[name] = new JsonLineObject { ["desc"] = null, ["value"] = value };
                    }
                }
                (row.Config, row.ConfigBlob) = await edit.SetAsync("config", JsonText.Write(config), row.ConfigBlob, cancellationToken).ConfigureAwait(false);
            }
            if (summaryPatch is not null)
            {
                var summary = JsonText.ParseObject(await runs.GetSummaryAsync(row, cancellationToken).ConfigureAwait(false));
                foreach (var (name, value) in summaryPatch)
                {
                    if (value is null)
                    {
                        summary.Remove(name);
                    }
                    else
                    {
                        summary[name] = value;
                    }
                }
                (row.Summary, row.SummaryBlob) = await edit.SetAsync("summary", JsonText.Write(summary), row.SummaryBlob, cancellationToken).ConfigureAwait(false);
            }
            row.UpdatedAt = clock.GetUtcNow();
            return true;
        }, cancellationToken).ConfigureAwait(false) ?? throw new NotFoundException($"Run '{key.RunId}' not found in {key.Entity}/{key.Project}.");
        await ReindexAsync(key.Entity, key.Project, updated, deleted: false, cancellationToken).ConfigureAwait(false);
        return await ToDtoAsync(updated, deleted: null, cancellationToken).ConfigureAwait(false);
    }

    private static List<(string Name, object? Value)>? ObjectPatch(JsonElement? element, string field)
    {
        if (element is not { } value || value.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null)
        {
            return null;
        }
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw new ValidationFailedException($"'{field}' is an object of keys to set (null removes a key).", field);
        }
        var result = new List<(string, object?)>();
        foreach (var property in value.EnumerateObject())
        {
            if (property.Name.Length == 0)
            {
                throw new ValidationFailedException("Keys cannot be empty.", field);
            }
            result.Add((property.Name, property.Value.ValueKind == JsonValueKind.Null ? null : JsonText.FromElement(property.Value)));
        }
        return result;
    }

    /// <summary>Moves the run row aside to <c>deletedruns</c>: every reader of runs sees it gone; history, logs and files stay for undelete.</summary>
    public async Task DeleteRunAsync(Principal principal, RunKey key, CancellationToken cancellationToken)
    {
        var row = await RequireRunAsync(principal, key, Role.Member, cancellationToken).ConfigureAwait(false);
        var runsTable = await storage.TableAsync(RunService.RunsTable).ConfigureAwait(false);
        var deleted = await storage.TableAsync(DeletedRunMarker.TableName).ConfigureAwait(false);
        var entity = await runsTable.GetAsync<TableEntity>(row.PartitionKey, row.RowKey, cancellationToken).ConfigureAwait(false)
            ?? throw new NotFoundException($"Run '{key.RunId}' not found in {key.Entity}/{key.Project}.");
        var etag = entity.ETag;
        entity[DeletedRunMarker.DeletedAtProperty] = clock.GetUtcNow();
        entity.Remove(DeletedRunMarker.MovedToProperty);
        await deleted.UpsertAsync(entity, cancellationToken: cancellationToken).ConfigureAwait(false);
        await runsTable.DeleteAsync(row.PartitionKey, row.RowKey, etag, cancellationToken).ConfigureAwait(false);
        await RunChangeLog.RecordAsync(storage, key, cancellationToken).ConfigureAwait(false);
        await ReindexAsync(key.Entity, key.Project, row, deleted: true, cancellationToken).ConfigureAwait(false);
    }

    public async Task<RunDto> UndeleteRunAsync(Principal principal, RunKey key, CancellationToken cancellationToken)
    {
        await tenancy.RequireRoleAsync(principal, key.Entity, Role.Member, cancellationToken).ConfigureAwait(false);
        var partition = RunService.PartitionOf(key.Entity, key.Project);
        var deleted = await storage.TableAsync(DeletedRunMarker.TableName).ConfigureAwait(false);
        var marker = await deleted.GetAsync<TableEntity>(partition, TableKeys.Escape(key.RunId), cancellationToken).ConfigureAwait(false);
        if (marker is null || marker.GetString(DeletedRunMarker.MovedToProperty) is not null)
        {
            throw new NotFoundException($"No deleted run '{key.RunId}' in {key.Entity}/{key.Project}.");
        }
        var runsTable = await storage.TableAsync(RunService.RunsTable).ConfigureAwait(false);
        var restored = new TableEntity(marker.PartitionKey, marker.RowKey);
        foreach (var (name, value) in marker)
        {
            if (name is not ("odata.etag" or "PartitionKey" or "RowKey" or "Timestamp") && name != DeletedRunMarker.DeletedAtProperty)
            {
                restored[name] = value;
            }
        }
        try
        {
            await runsTable.AddAsync(restored, cancellationToken).ConfigureAwait(false);
        }
        catch (ConflictException)
        {
            throw new ConflictException($"A run '{key.RunId}' exists again in {key.Entity}/{key.Project}; delete or move it first.");
        }
        await deleted.DeleteAsync(marker.PartitionKey, marker.RowKey, cancellationToken: cancellationToken).ConfigureAwait(false);
        await RunChangeLog.RecordAsync(storage, key, cancellationToken).ConfigureAwait(false);
        var row = await runs.FindRunAsync(key, cancellationToken).ConfigureAwait(false) ?? throw new NotFoundException($"Run '{key.RunId}' not found.");
        await ReindexAsync(key.Entity, key.Project, row, deleted: false, cancellationToken).ConfigureAwait(false);
        return await ToDtoAsync(row, deleted: null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Moves a finished run to another project (of the same or another entity where the caller is a
    /// member): history, system metrics and console log are copied line by line (re-deriving indexes and
    /// rollups), files blob by blob; then the run row moves and a marker tells the old project's index.
    /// A live run is refused: its client would keep streaming to the old path.
    /// </summary>
    public async Task<RunDto> MoveRunAsync(Principal principal, RunKey key, MoveRunRequest request, CancellationToken cancellationToken)
    {
        var row = await RequireRunAsync(principal, key, Role.Member, cancellationToken).ConfigureAwait(false);
        var targetEntity = string.IsNullOrWhiteSpace(request.Entity) ? key.Entity : EntityNames.ValidateEntity(request.Entity.Trim(), "entity");
        var targetProject = EntityNames.ValidateProject(request.Project?.Trim(), "project");
        var target = new RunKey(targetEntity, targetProject, key.RunId);
        if (target == key)
        {
            throw new ValidationFailedException("The run is already in that project.", "project");
        }
        await tenancy.RequireRoleAsync(principal, targetEntity, Role.Member, cancellationToken).ConfigureAwait(false);
        if (RunStates.IsLive(row.State))
        {
            throw new ConflictException($"Run '{key.RunId}' is {row.State}; move it once it has ended.");
        }
        if (await runs.FindRunAsync(target, cancellationToken).ConfigureAwait(false) is not null)
        {
            throw new ConflictException($"A run '{key.RunId}' already exists in {targetEntity}/{targetProject}.");
        }

        await CopyLinesAsync((from, max) => history.ReadLinesAsync(key, from, max, cancellationToken), (offset, lines) => history.AppendHistoryAsync(target, offset, lines, cancellationToken)).ConfigureAwait(false);
        await CopyLinesAsync((from, max) => events.ReadLinesAsync(key, from, max, cancellationToken), (offset, lines) => events.AppendAsync(target, offset, lines, cancellationToken)).ConfigureAwait(false);
        for (long from = 0; ;)
        {
            var lines = await console.ReadAsync(key, from, 4096, cancellationToken).ConfigureAwait(false);
            if (lines.Count == 0)
            {
                break;
            }
            foreach (var block in Contiguous(lines.Select(l => (l.Index, l.Raw)).ToList()))
            {
                await console.WriteAsync(target, block.Offset, block.Lines, cancellationToken).ConfigureAwait(false);
            }
            from = lines[^1].Index + 1;
        }
        var files = await storage.ContainerAsync(RunFileService.FilesContainer).ConfigureAwait(false);
        var blobs = new List<string>();
        await foreach (var blob in files.ListAsync(key.BlobPrefix, cancellationToken).ConfigureAwait(false))
        {
            blobs.Add(blob.Name);
        }
        foreach (var name in blobs)
        {
            if (await files.DownloadAsync(name, cancellationToken).ConfigureAwait(false) is { } content)
            {
                var properties = await files.GetPropertiesAsync(name, cancellationToken).ConfigureAwait(false);
                await files.UploadAsync(target.BlobPrefix + name[key.BlobPrefix.Length..], content.Content, properties?.ContentType, cancellationToken: cancellationToken).ConfigureAwait(false);
            }
        }

        var now = clock.GetUtcNow();
        var projects = await storage.TableAsync(RunService.ProjectsTable).ConfigureAwait(false);
        if (await runs.FindProjectAsync(targetEntity, targetProject, cancellationToken).ConfigureAwait(false) is null)
        {
            try
            {
                await projects.AddAsync(new ProjectRow { PartitionKey = TableKeys.Escape(targetEntity), RowKey = TableKeys.Escape(targetProject), Name = targetProject, CreatedBy = principal.UserName, CreatedAt = now }, cancellationToken).ConfigureAwait(false);
            }
            catch (ConflictException)
            {
                // Created concurrently.
            }
        }
        var runsTable = await storage.TableAsync(RunService.RunsTable).ConfigureAwait(false);
        var source = await runsTable.GetAsync<TableEntity>(row.PartitionKey, row.RowKey, cancellationToken).ConfigureAwait(false)
            ?? throw new NotFoundException($"Run '{key.RunId}' not found in {key.Entity}/{key.Project}.");
        var moved = new TableEntity(RunService.PartitionOf(targetEntity, targetProject), row.RowKey);
        foreach (var (name, value) in source)
        {
            if (name is not ("odata.etag" or "PartitionKey" or "RowKey" or "Timestamp"))
            {
                moved[name] = value;
            }
        }
        moved[nameof(RunRow.Entity)] = targetEntity;
        moved[nameof(RunRow.Project)] = targetProject;
        moved[nameof(RunRow.UpdatedAt)] = now;
        if (row.ConfigBlob is not null || row.SummaryBlob is not null)
        {
            // Large config/summary blobs live under the run's prefix; point the moved row at its own copies.
            var runsContainer = await storage.ContainerAsync(RunService.RunsContainer).ConfigureAwait(false);
            foreach (var property in new[] { nameof(RunRow.ConfigBlob), nameof(RunRow.SummaryBlob) })
            {
                if (source.GetString(property) is { } blobName && await runsContainer.DownloadAsync(blobName, cancellationToken).ConfigureAwait(false) is { } blob)
                {
                    var copy = target.BlobPrefix + blobName[(blobName.LastIndexOf('/') + 1)..];
                    await runsContainer.UploadAsync(copy, blob.Content, "application/json", cancellationToken: cancellationToken).ConfigureAwait(false);
                    moved[property] = copy;
                }
            }
        }
        await runsTable.AddAsync(moved, cancellationToken).ConfigureAwait(false);
        var deletedTable = await storage.TableAsync(DeletedRunMarker.TableName).ConfigureAwait(false);
        await deletedTable.UpsertAsync(new TableEntity(row.PartitionKey, row.RowKey)
        {
            [nameof(RunRow.RunId)] = key.RunId,
            [DeletedRunMarker.MovedToProperty] = $"{targetEntity}/{targetProject}",
            [DeletedRunMarker.DeletedAtProperty] = now,
        }, cancellationToken: cancellationToken).ConfigureAwait(false);
        await runsTable.DeleteAsync(row.PartitionKey, row.RowKey, source.ETag, cancellationToken).ConfigureAwait(false);
        // A tombstone in the target partition from an earlier move away would hide the run there.
        await deletedTable.DeleteAsync(moved.PartitionKey, moved.RowKey, cancellationToken: cancellationToken).ConfigureAwait(false);
        await Task.WhenAll(RunChangeLog.RecordAsync(storage, key, cancellationToken), RunChangeLog.RecordAsync(storage, target, cancellationToken)).ConfigureAwait(false);

        await index.ApplyAsync(key.Entity, key.Project, [], [key.RunId], cancellationToken).ConfigureAwait(false);
        var movedRow = await runs.FindRunAsync(target, cancellationToken).ConfigureAwait(false) ?? throw new NotFoundException($"Run '{key.RunId}' not found.");
        await ReindexAsync(targetEntity, targetProject, movedRow, deleted: false, cancellationToken).ConfigureAwait(false);
        return await ToDtoAsync(movedRow, deleted: null, cancellationToken).ConfigureAwait(false);
    }

    private static async Task CopyLinesAsync(Func<long, int, Task<List<StoredLine>>> read, Func<long, IReadOnlyList<string>, Task> append)
    {
        for (long from = 0; ;)
        {
            var lines = await read(from, LineStream.MaxLinesPerEntity).ConfigureAwait(false);
            if (lines.Count == 0)
            {
                return;
            }
            foreach (var block in Contiguous(lines.Select(l => (l.Index, l.Text)).ToList()))
            {
                await append(block.Offset, block.Lines).ConfigureAwait(false);
            }
            from = lines[^1].Index + 1;
        }
    }

    private static IEnumerable<(long Offset, List<string> Lines)> Contiguous(List<(long Index, string Text)> lines)
    {
        var block = new List<string>();
        long start = 0;
        foreach (var (index, text) in lines)
        {
            if (block.Count > 0 && index != start + block.Count)
            {
                yield return (start, block);
                block = [];
            }
            if (block.Count == 0)
            {
                start = index;
            }
            block.Add(text);
        }
        if (block.Count > 0)
        {
            yield return (start, block);
        }
    }

    private async Task ReindexAsync(string entity, string project, RunRow row, bool deleted, CancellationToken cancellationToken)
    {
        var indexRow = await indexSource.ToIndexRowAsync(row, deleted, cancellationToken).ConfigureAwait(false);
        await index.ApplyAsync(entity, project, [indexRow], [], cancellationToken).ConfigureAwait(false);
    }

    private async Task<RunDto> ToDtoAsync(RunRow row, bool? deleted, CancellationToken cancellationToken)
    {
        var config = JsonText.ParseObject(await runs.GetConfigAsync(row, cancellationToken).ConfigureAwait(false));
        var summary = JsonText.ParseObject(await runs.GetSummaryAsync(row, cancellationToken).ConfigureAwait(false));
        var configNode = new JsonObject();
        foreach (var (name, value) in config)
        {
            if (name == "_wandb")
            {
                continue;
            }
            configNode[name] = JsonText.ToApiNode(value is JsonLineObject wrapped && wrapped.TryGetValue("value", out var inner) ? inner : value);
        }
        var summaryNode = (JsonObject)JsonText.ToApiNode(summary)!;
        summaryNode.Remove("_wandb");
        var runtime = summary.TryGetValue("_runtime", out var logged) && HistoryValues.AsNumber(logged) is { } r ? r : Math.Max(0, (row.HeartbeatAt - row.CreatedAt).TotalSeconds);
        return new RunDto
        {
            Id = row.RunId,
            Entity = row.Entity,
            Project = row.Project,
            DisplayName = row.DisplayName,
            State = row.State,
            CreatedAt = row.CreatedAt,
            HeartbeatAt = row.HeartbeatAt,
            UpdatedAt = row.UpdatedAt,
            User = row.CreatedBy,
            Tags = RunService.GetTags(row),
            Group = row.Group,
            JobType = row.JobType,
            Host = row.Host,
            Sweep = row.SweepName,
            Notes = row.Notes,
            Description = row.Description,
            Commit = row.Commit,
            Runtime = runtime,
            HistoryLineCount = row.HistoryLineCount,
            LastStep = row.LastStep,
            Deleted = deleted,
            ForkedFrom = row.ForkedFrom is { } parent ? new ForkLinkDto(parent, parent[(parent.LastIndexOf('/') + 1)..], row.ForkedFromStep ?? 0) : null,
            Config = configNode,
            Summary = summaryNode,
        };
    }

    /// <summary>A list entry from the index: config and summary flattened with dots.</summary>
    public static RunDto ToDto(string entity, string project, RunIndexRow row) => new()
    {
        Id = row.Id,
        Entity = entity,
        Project = project,
        DisplayName = row.DisplayName,
        State = row.State,
        CreatedAt = row.CreatedAt,
        HeartbeatAt = row.HeartbeatAt,
        User = row.User,
        Tags = row.Tags,
        Group = row.Group,
        JobType = row.JobType,
        Host = row.Host,
        Sweep = row.Sweep,
        Runtime = row.Runtime,
        Deleted = row.Deleted ? true : null,
        Config = ToObject(row.Config),
        Summary = ToObject(row.Summary),
    };

    private static JsonObject ToObject(IReadOnlyDictionary<string, IndexValue> values)
    {
        var result = new JsonObject();
        foreach (var (key, value) in values.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            result[key] = ToNode(value);
        }
        return result;
    }

    public static JsonNode? ToNode(IndexValue value) => value.Kind switch
    {
        IndexValueKind.Number when double.IsFinite(value.Number) => value.Number == Math.Floor(value.Number) && Math.Abs(value.Number) < 9e15 ? JsonValue.Create((long)value.Number) : JsonValue.Create(value.Number),
        IndexValueKind.Number => JsonValue.Create(value.ToText()),
        IndexValueKind.String => JsonValue.Create(value.Text),
        IndexValueKind.Bool => JsonValue.Create(value.Bool),
        IndexValueKind.Json => JsonNode.Parse(value.Text!),
        _ => null,
    };
}
