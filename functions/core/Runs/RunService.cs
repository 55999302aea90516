using System.Security.Cryptography;
using System.Text.Json;
using System.Text.RegularExpressions;
using Azure.Data.Tables;
using Microsoft.Extensions.Options;
using Weightless.Core.Auth;
using Weightless.Core.Errors;
using Weightless.Core.History;
using Weightless.Core.Storage;
using Weightless.Core.Tenancy;

namespace Weightless.Core.Runs;

/// <summary>What <c>upsertBucket</c> may set; null means "leave as it is".</summary>
internal sealed record UpsertRunCommand
{
    public string? Id { get; init; }
    public string? Name { get; init; }
    public string? Project { get; init; }
    public string? Entity { get; init; }
    public string? GroupName { get; init; }
    public string? Description { get; init; }
    public string? DisplayName { get; init; }
    public string? Notes { get; init; }
    public string? Commit { get; init; }
    public string? Config { get; init; }
    public string? Host { get; init; }
    public string? Program { get; init; }
    public string? Repo { get; init; }
    public string? JobType { get; init; }
    public string? State { get; init; }
    public string? Sweep { get; init; }
    public IReadOnlyList<string>? Tags { get; init; }
    public string? SummaryMetrics { get; init; }
}

internal sealed record UpsertRunResult(RunRow Run, bool Inserted);

/// <summary>What one file_stream request changed, as the run record needs it.</summary>
internal sealed record RunStreamUpdate
{
    public long? HistoryLineCount { get; init; }
    public long? EventsLineCount { get; init; }
    public long? LogLineCount { get; init; }
    public long? LastStep { get; init; }

    /// <summary>The last <c>wandb-summary.json</c> line, verbatim (may hold NaN).</summary>
    public string? SummaryJson { get; init; }
    public bool Complete { get; init; }
    public int? ExitCode { get; init; }
    public bool Failed { get; init; }
    public bool Preempting { get; init; }

    /// <summary>Whether the request carried any file lines (an empty heartbeat does not).</summary>
    public bool HasData { get; init; }
}

/// <summary>
/// Projects and runs: the W&amp;B "bucket" model. Every call checks the caller's role in the entity
/// (Member to write, Viewer to read). Writes are read-modify-write with ETags, because summary
/// updates race with file_stream.
/// </summary>
internal sealed partial class RunService(StorageAccount storage, TenancyService tenancy, TimeProvider clock, IOptions<RunsOptions> options, ProjectRateLimiter rateLimiter, HistoryStore history)
{
    public const string ProjectsTable = "projects";
    public const string RunsTable = "runs";
    public const string RunningTable = "runningruns";
    public const string RunsContainer = "runs";

    /// <summary>Config and summary up to this many characters are stored in the row; larger ones in Blob.</summary>
    public const int InlineJsonChars = 30_000;

    private const int MaxTextChars = 30_000;
    private const int MaxAttempts = 8;
    private static readonly TimeSpan IndexRefresh = TimeSpan.FromMinutes(1);

    /// <summary>
    /// How long a run row this instance's file_stream wrote is used for the next post instead of a
    /// read. Its ETag guards the post's own row write, so a stale copy never overwrites anything; the
    /// bound is on the pre-write checks (deleted, being rewound), which the write re-checks anyway.
    /// </summary>
    public static readonly TimeSpan StreamRowLifetime = TimeSpan.FromSeconds(5);

    private readonly ExpiringCache<RunKey, RunRow> _streamRows = new(clock, StreamRowLifetime);
    private readonly RunRowCommitter _committer = new();

    [GeneratedRegex("^[^/\\\\#?%:\\p{Cc}]{1,128}$")]
    private static partial Regex RunIdPattern();

    public RunsOptions Options => options.Value;

    private StorageAccount Storage => storage;

    public static string DefaultProject => "uncategorized";

    /// <summary>The entity a request means: the one named, else the caller's own.</summary>
    public static string ResolveEntity(Principal principal, string? entity) =>
        string.IsNullOrWhiteSpace(entity) ? principal.UserName : entity.Trim();

    public static string ValidateRunId(string? runId, string field = "name")
    {
        if (string.IsNullOrWhiteSpace(runId) || !RunIdPattern().IsMatch(runId))
        {
            throw new ValidationFailedException("A run name is 1–128 characters without '/', '\\', '#', '?', '%', ':' or control characters.", field);
        }
        return runId;
    }

    /// <summary>Throws unless the caller may read (or write) runs of <paramref name="entity"/>.</summary>
    public Task<Role> AuthorizeAsync(Principal principal, string entity, Role role, CancellationToken cancellationToken) =>
        tenancy.RequireRoleAsync(principal, entity, role, cancellationToken);

    /// <summary>The run, or null when it does not exist or was deleted.</summary>
    public async Task<RunRow?> FindRunAsync(RunKey key, CancellationToken cancellationToken)
    {
        var row = await FindStoredRunAsync(key, cancellationToken).ConfigureAwait(false);
        return row?.DeletedAt is null ? row : null;
    }

    /// <summary>
    /// The run for a file_stream post: the row this instance's last post of the run wrote (taken out,
    /// so concurrent posts never share one; see <see cref="StreamRowLifetime"/>), else read. Null when
    /// the run does not exist or was deleted.
    /// </summary>
    public async Task<RunRow?> TakeStreamRowAsync(RunKey key, CancellationToken cancellationToken) =>
        _streamRows.TryTake(key, out var row) ? row : await FindRunAsync(key, cancellationToken).ConfigureAwait(false);

    /// <summary>Keeps the row a file_stream post just wrote (with its new ETag) for the run's next post.</summary>
    public void KeepStreamRow(RunKey key, RunRow row) => _streamRows.Set(key, row);

    /// <summary>The stored row, deleted or not.</summary>
    private async Task<RunRow?> FindStoredRunAsync(RunKey key, CancellationToken cancellationToken)
    {
        var runs = await storage.TableAsync(RunsTable).ConfigureAwait(false);
        return await runs.GetAsync<RunRow>(PartitionOf(key.Entity, key.Project), TableKeys.Escape(key.RunId), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A run the caller may read, or null when it does not exist (no access at all is a 404).</summary>
    public async Task<RunRow?> GetRunAsync(Principal principal, RunKey key, CancellationToken cancellationToken)
    {
        await tenancy.RequireRoleAsync(principal, key.Entity, Role.Viewer, cancellationToken).ConfigureAwait(false);
        return await FindRunAsync(key, cancellationToken).ConfigureAwait(false);
    }

    public async Task<ProjectRow?> FindProjectAsync(string entity, string project, CancellationToken cancellationToken)
    {
        var projects = await storage.TableAsync(ProjectsTable).ConfigureAwait(false);
        return await projects.GetAsync<ProjectRow>(TableKeys.Escape(entity), TableKeys.Escape(project), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The runs of a project in row-key order, for listings.</summary>
    public async IAsyncEnumerable<RunRow> ListRunsAsync(string entity, string project, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var runs = await storage.TableAsync(RunsTable).ConfigureAwait(false);
        await foreach (var row in runs.QueryPartitionAsync<RunRow>(PartitionOf(entity, project), cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            if (row.DeletedAt is null)
            {
                yield return row;
            }
        }
    }

    public async Task<string> GetConfigAsync(RunRow run, CancellationToken cancellationToken) =>
        await ReadJsonAsync(run.Config, run.ConfigBlob, cancellationToken).ConfigureAwait(false) ?? "{}";

    public async Task<string> GetSummaryAsync(RunRow run, CancellationToken cancellationToken) =>
        await ReadJsonAsync(run.Summary, run.SummaryBlob, cancellationToken).ConfigureAwait(false) ?? "{}";

    public static IReadOnlyList<string> GetTags(RunRow run) =>
        string.IsNullOrEmpty(run.Tags) ? [] : JsonSerializer.Deserialize<List<string>>(run.Tags) ?? [];

    /// <summary>
    /// <c>upsertBucket</c>: creates the run (and its project) or updates it, found by storage id or
    /// by entity/project/name. Config is normalised to W&amp;B's wrapped form; summary replaces.
    /// Creating a run takes a token from the project's rate limit; the <c>RateLimit-*</c> headers go
    /// to <paramref name="rateLimitHeaders"/> when given.
    /// </summary>
    public async Task<UpsertRunResult> UpsertAsync(Principal principal, UpsertRunCommand command, CancellationToken cancellationToken, Microsoft.AspNetCore.Http.IHeaderDictionary? rateLimitHeaders = null)
    {
        RunKey key;
        var byId = !string.IsNullOrWhiteSpace(command.Id);
        if (byId)
        {
            key = RunIds.ParseRun(command.Id!);
        }
        else
        {
            var entity = EntityNames.ValidateEntity(ResolveEntity(principal, command.Entity), "entityName");
            var project = EntityNames.ValidateProject(string.IsNullOrWhiteSpace(command.Project) ? DefaultProject : command.Project.Trim(), "modelName");
            var runId = command.Name is null ? NewRunId() : ValidateRunId(command.Name.Trim(), "name");
            key = new RunKey(entity, project, runId);
        }
        await tenancy.RequireRoleAsync(principal, key.Entity, Role.Member, cancellationToken).ConfigureAwait(false);

        // Validate and normalise before touching storage, so bad input changes nothing.
        var config = command.Config is null ? null : RunJson.NormaliseConfig(command.Config);
        var summary = command.SummaryMetrics is null ? null : RunJson.RequireObject(command.SummaryMetrics, "summaryMetrics", RunJson.MaxSummaryChars);
        var state = command.State is null ? null : RunStates.Parse(command.State);
        string? tags = null;
        if (command.Tags is not null)
        {
            foreach (var tag in command.Tags)
            {
                if (string.IsNullOrWhiteSpace(tag) || tag.Length > 256)
                {
                    throw new ValidationFailedException("A tag is 1–256 characters.", "tags");
                }
            }
            tags = JsonSerializer.Serialize(command.Tags.Distinct(StringComparer.Ordinal).ToList());
        }
        foreach (var (value, field) in new[] { (command.Description, "description"), (command.Notes, "notes"), (command.DisplayName, "displayName"), (command.Host, "host"), (command.Program, "jobProgram"), (command.Repo, "jobRepo"), (command.Commit, "commit"), (command.GroupName, "groupName"), (command.JobType, "jobType"), (command.Sweep, "sweep") })
        {
            if (value is { Length: > MaxTextChars })
            {
                throw new TooLargeException($"'{field}' is {value.Length} characters; at most {MaxTextChars} are accepted.", field);
            }
        }

        var runs = await storage.TableAsync(RunsTable).ConfigureAwait(false);
        _streamRows.Remove(key);
        for (var attempt = 0; ; attempt++)
        {
            var existing = await FindStoredRunAsync(key, cancellationToken).ConfigureAwait(false);
            if (existing?.DeletedAt is not null)
            {
                // W&B refuses to reuse a deleted run's id: its kept data would otherwise resurface.
                throw byId
                    ? new NotFoundException($"Run '{key.RunId}' not found.")
                    : new ConflictException($"Run '{key.RunId}' was deleted in {key.Entity}/{key.Project}; choose another run id.");
            }
            if (existing is null && byId)
            {
                throw new NotFoundException($"Run '{key.RunId}' not found.");
            }
            if (existing is null && attempt == 0)
            {
                rateLimiter.Require(RateLimitedOperation.RunCreation, key.Entity, key.Project, rateLimitHeaders);
            }
            var now = clock.GetUtcNow();
            var row = existing ?? NewRow(key, principal.UserName, now);
            var previousState = existing?.State;
            var edit = new JsonEdit(this, key);
            try
            {
                if (command.DisplayName is not null) { row.DisplayName = command.DisplayName; }
                if (command.Description is not null) { row.Description = command.Description; }
                if (command.Notes is not null) { row.Notes = command.Notes; }
                if (command.GroupName is not null) { row.Group = command.GroupName; }
                if (command.JobType is not null) { row.JobType = command.JobType; }
                if (command.Host is not null) { row.Host = command.Host; }
                if (command.Program is not null) { row.Program = command.Program; }
                if (command.Repo is not null) { row.Repo = command.Repo; }
                if (command.Commit is not null) { row.Commit = command.Commit; }
                if (command.Sweep is not null) { row.SweepName = command.Sweep.Length == 0 ? null : command.Sweep; }
                if (tags is not null) { row.Tags = tags; }
                // An ended run is revived by new file_stream data, not by upsertBucket: the JS SDK
                // upserts the summary by name after its final file_stream post.
                if (state is not null) { row.State = state; }
                if (config is not null)
                {
                    (row.Config, row.ConfigBlob) = await edit.SetAsync("config", config, row.ConfigBlob, cancellationToken).ConfigureAwait(false);
                }
                if (summary is not null)
                {
                    (row.Summary, row.SummaryBlob) = await edit.SetAsync("summary", summary, row.SummaryBlob, cancellationToken).ConfigureAwait(false);
                }
                row.UpdatedAt = now;
                if (existing is null)
                {
                    await EnsureProjectAsync(key.Entity, key.Project, principal.UserName, now, cancellationToken).ConfigureAwait(false);
                    row.ETag = await runs.AddAsync(row, cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    row.ETag = await runs.UpdateAsync(row, existing.ETag, cancellationToken: cancellationToken).ConfigureAwait(false);
                }
            }
            catch (ConflictException) when (attempt < MaxAttempts)
            {
                await edit.RollbackAsync().ConfigureAwait(false);
                continue;
            }
            catch
            {
                await edit.RollbackAsync().ConfigureAwait(false);
                throw;
            }
            await edit.CommitAsync(stateChanged: previousState != row.State, row.ETag).ConfigureAwait(false);
            await SyncRunningIndexAsync(previousState, row, cancellationToken).ConfigureAwait(false);
            return new UpsertRunResult(row, existing is null);
        }
    }

    /// <summary>
    /// <c>deleteRun</c>: a soft delete. The run disappears from reads and listings and leaves the
    /// running index; its row, history and files stay in storage.
    /// </summary>
    public async Task<RunRow> DeleteAsync(Principal principal, string runStorageId, CancellationToken cancellationToken)
    {
        var key = RunIds.ParseRun(runStorageId);
        await tenancy.RequireRoleAsync(principal, key.Entity, Role.Member, cancellationToken).ConfigureAwait(false);
        var row = await UpdateAsync(key, (row, _) =>
        {
            row.DeletedAt = clock.GetUtcNow();
            row.UpdatedAt = row.DeletedAt.Value;
            return Task.FromResult(true);
        }, cancellationToken).ConfigureAwait(false)
            ?? throw new NotFoundException($"Run '{key.RunId}' not found.");
        var index = await storage.TableAsync(RunningTable).ConfigureAwait(false);
        try
        {
            await index.DeleteAsync(TableKeys.Escape(row.Entity), TableKeys.Compose(row.Project, row.RunId), cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (NotFoundException)
        {
            // Not live, so never indexed.
        }
        return row;
    }

    /// <summary><c>updateRunState</c>: sets the state as named (e.g. a client marking its run finished or failed).</summary>
    public async Task<RunRow> UpdateStateAsync(Principal principal, string runStorageId, string? state, CancellationToken cancellationToken)
    {
        var key = RunIds.ParseRun(runStorageId);
        var parsed = RunStates.Parse(state ?? "", "state");
        await tenancy.RequireRoleAsync(principal, key.Entity, Role.Member, cancellationToken).ConfigureAwait(false);
        return await UpdateAsync(key, (row, _) =>
        {
            if (row.State == parsed)
            {
                return Task.FromResult(false);
            }
            row.State = parsed;
            row.UpdatedAt = clock.GetUtcNow();
            if (RunStates.IsLive(parsed))
            {
                row.HeartbeatAt = row.UpdatedAt;
                row.IndexedHeartbeatAt = row.UpdatedAt;
            }
            return Task.FromResult(true);
        }, cancellationToken).ConfigureAwait(false)
            ?? throw new NotFoundException($"Run '{key.RunId}' not found.");
    }

    /// <summary><c>stopRun</c>: asks the run's client to stop; the run ends as <c>killed</c>.</summary>
    public async Task<RunRow> RequestStopAsync(Principal principal, string runStorageId, CancellationToken cancellationToken)
    {
        var key = RunIds.ParseRun(runStorageId);
        await tenancy.RequireRoleAsync(principal, key.Entity, Role.Member, cancellationToken).ConfigureAwait(false);
        return await UpdateAsync(key, (row, _) =>
        {
            row.StopRequested = true;
            return Task.FromResult(true);
        }, cancellationToken).ConfigureAwait(false)
            ?? throw new NotFoundException($"Run '{key.RunId}' not found.");
    }

    /// <summary>
    /// Applies what a file_stream request did to the run record: heartbeat, line counts, summary
    /// (the last summary line replaces it), and the end state. Returns null for an unknown run.
    /// <paramref name="current"/>, the row the caller already read, saves the first read (its ETag guards the write).
    /// </summary>
    public Task<RunRow?> ApplyStreamAsync(RunKey key, RunStreamUpdate update, CancellationToken cancellationToken, RunRow? current = null)
    {
        var summary = update.SummaryJson?.Trim();
        if (summary is { Length: > RunJson.MaxSummaryChars })
        {
            throw new TooLargeException($"The summary is {summary.Length} characters; at most {RunJson.MaxSummaryChars} are accepted.", "wandb-summary.json");
        }
        return UpdateAsync(key, async (row, edit) =>
        {
            if (row.RewindingSince is not null)
            {
                // Re-read after a lost ETag race: a rewind started; the caller answers 409.
                return false;
            }
            var now = clock.GetUtcNow();
            row.HeartbeatAt = now;
            if (update.HistoryLineCount is { } history) { row.HistoryLineCount = history; }
            if (update.EventsLineCount is { } events) { row.EventsLineCount = events; }
            if (update.LogLineCount is { } log) { row.LogLineCount = log; }
            if (update.LastStep is { } step) { row.LastStep = step; }
            if (!string.IsNullOrEmpty(summary))
            {
                (row.Summary, row.SummaryBlob) = await edit.SetAsync("summary", summary, row.SummaryBlob, cancellationToken).ConfigureAwait(false);
            }
            if (update.Complete)
            {
                row.ExitCode = update.ExitCode;
                row.State = row.StopRequested ? RunStates.Killed
                    : update.Failed || update.ExitCode is not (null or 0) ? RunStates.Failed
                    : RunStates.Finished;
            }
            else if (update.Preempting)
            {
                row.State = RunStates.Preempting;
            }
            else if (update.HasData && RunStates.IsEnded(row.State))
            {
                // New data for an ended run: it was resumed (or a crashed run came back).
                row.State = RunStates.Running;
                row.StopRequested = false;
                row.ExitCode = null;
            }
            else if (row.State == RunStates.Crashed)
            {
                row.State = RunStates.Running;
            }
            if (RunStates.IsLive(row.State) && (row.IndexedHeartbeatAt is null || now - row.IndexedHeartbeatAt.Value >= IndexRefresh))
            {
                row.IndexedHeartbeatAt = now;
            }
            row.UpdatedAt = now;
            return true;
        }, cancellationToken, current);
    }

    /// <summary>
    /// Marks live runs whose heartbeat is older than <see cref="RunsOptions.CrashAfter"/> as
    /// crashed (preempting ones as preempted). Reads only the running index. Returns how many.
    /// </summary>
    public async Task<int> MarkCrashedAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        var cutoff = now - options.Value.CrashAfter;
        var index = await storage.TableAsync(RunningTable).ConfigureAwait(false);
        var stale = new List<RunningRunRow>();
        await foreach (var entry in index.QueryAsync<RunningRunRow>(TableClient.CreateQueryFilter($"HeartbeatAt lt {cutoff}"), cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            stale.Add(entry);
        }
        var marked = 0;
        foreach (var entry in stale)
        {
            var key = new RunKey(entry.Entity, entry.Project, entry.RunId);
            var changed = false;
            try
            {
                var row = await UpdateAsync(key, (row, _) =>
                {
                    if (!RunStates.IsLive(row.State) || row.HeartbeatAt >= cutoff)
                    {
                        return Task.FromResult(false);
                    }
                    row.State = row.State == RunStates.Preempting ? RunStates.Preempted : RunStates.Crashed;
                    row.UpdatedAt = now;
                    changed = true;
                    return Task.FromResult(true);
                }, cancellationToken).ConfigureAwait(false);
                if (row is null || !RunStates.IsLive(row.State))
                {
                    await index.DeleteAsync(entry.PartitionKey, entry.RowKey, cancellationToken: cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    // Alive after all: move the index entry forward so it is not re-read every minute.
                    entry.HeartbeatAt = row.HeartbeatAt;
                    await index.UpsertAsync(entry, cancellationToken: cancellationToken).ConfigureAwait(false);
                }
            }
            catch (NotFoundException)
            {
                // The index row went away concurrently (another detector instance).
            }
            if (changed)
            {
                marked++;
                // A crashed run sends no `complete`: write its pending rollup pages here, as completion
                // would, so its charts read pages only. A post racing this (the client came back) wins
                // the state's ETag and carries the pages on; readers are exact either way.
                try
                {
                    await history.FlushRollupsAsync(key, cancellationToken).ConfigureAwait(false);
                }
                catch (ConflictException)
                {
                }
            }
        }
        return marked;
    }

    /// <summary>
    /// Read-modify-write of one run with ETag retries; null when the run does not exist. The first
    /// attempt may start from <paramref name="known"/> (a row just read); a stale one fails its
    /// If-Match and the retry reads the stored row.
    /// </summary>
    internal async Task<RunRow?> UpdateAsync(RunKey key, Func<RunRow, JsonEdit, Task<bool>> mutate, CancellationToken cancellationToken, RunRow? known = null)
    {
        var runs = await storage.TableAsync(RunsTable).ConfigureAwait(false);
        // A row this instance changes outside file_stream is re-read by the run's next post.
        _streamRows.Remove(key);
        for (var attempt = 0; ; attempt++)
        {
            var row = attempt == 0 && known is not null ? known : await FindRunAsync(key, cancellationToken).ConfigureAwait(false);
            if (row is null)
            {
                return null;
            }
            var previousState = row.State;
            var previousIndexed = row.IndexedHeartbeatAt;
            var edit = new JsonEdit(this, key);
            try
            {
                if (!await mutate(row, edit).ConfigureAwait(false))
                {
                    return row;
                }
                // Concurrent writes of one project's runs share a transaction (see RunRowCommitter).
                row.ETag = await _committer.UpdateAsync(runs, row, row.ETag, cancellationToken).ConfigureAwait(false);
            }
            catch (ConflictException) when (attempt < MaxAttempts)
            {
                await edit.RollbackAsync().ConfigureAwait(false);
                continue;
            }
            catch
            {
                await edit.RollbackAsync().ConfigureAwait(false);
                throw;
            }
            await edit.CommitAsync(stateChanged: previousState != row.State, row.ETag).ConfigureAwait(false);
            if (previousState != row.State || previousIndexed != row.IndexedHeartbeatAt)
            {
                await SyncRunningIndexAsync(previousState, row, cancellationToken).ConfigureAwait(false);
            }
            return row;
        }
    }

    private async Task SyncRunningIndexAsync(string? previousState, RunRow row, CancellationToken cancellationToken)
    {
        var index = await storage.TableAsync(RunningTable).ConfigureAwait(false);
        var rowKey = TableKeys.Compose(row.Project, row.RunId);
        if (RunStates.IsLive(row.State))
        {
            await index.UpsertAsync(new RunningRunRow
            {
                PartitionKey = TableKeys.Escape(row.Entity),
                RowKey = rowKey,
                Entity = row.Entity,
                Project = row.Project,
                RunId = row.RunId,
                HeartbeatAt = row.HeartbeatAt,
            }, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        else if (previousState is null || RunStates.IsLive(previousState))
        {
            try
            {
                await index.DeleteAsync(TableKeys.Escape(row.Entity), rowKey, cancellationToken: cancellationToken).ConfigureAwait(false);
            }
            catch (NotFoundException)
            {
                // Never indexed, or already removed.
            }
        }
    }

    private async Task EnsureProjectAsync(string entity, string project, string user, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (await FindProjectAsync(entity, project, cancellationToken).ConfigureAwait(false) is not null)
        {
            return;
        }
        var projects = await storage.TableAsync(ProjectsTable).ConfigureAwait(false);
        try
        {
            await projects.AddAsync(new ProjectRow { PartitionKey = TableKeys.Escape(entity), RowKey = TableKeys.Escape(project), Name = project, CreatedBy = user, CreatedAt = now }, cancellationToken).ConfigureAwait(false);
        }
        catch (ConflictException)
        {
            // Created concurrently by another run of the same project.
        }
    }

    private RunRow NewRow(RunKey key, string user, DateTimeOffset now) => new()
    {
        PartitionKey = PartitionOf(key.Entity, key.Project),
        RowKey = TableKeys.Escape(key.RunId),
        Entity = key.Entity,
        Project = key.Project,
        RunId = key.RunId,
        State = RunStates.Running,
        CreatedBy = user,
        CreatedAt = now,
        HeartbeatAt = now,
        IndexedHeartbeatAt = now,
    };

    private async Task<string?> ReadJsonAsync(string? inline, string? blobName, CancellationToken cancellationToken)
    {
        if (blobName is null)
        {
            return inline;
        }
        var container = await storage.ContainerAsync(RunsContainer).ConfigureAwait(false);
        var blob = await container.DownloadAsync(blobName, cancellationToken).ConfigureAwait(false);
        return blob?.Content.ToString();
    }

    internal static string PartitionOf(string entity, string project) => TableKeys.Compose(entity, project);

    private static string NewRunId() => RandomNumberGenerator.GetString("abcdefghijklmnopqrstuvwxyz0123456789", 8);

    /// <summary>
    /// Large JSON of one attempted row write: new blobs get unique names, so a lost ETag race only
    /// leaves blobs to delete, never a row pointing at someone else's content.
    /// </summary>
    internal sealed class JsonEdit(RunService service, RunKey key)
    {
        private readonly List<string> _written = [];
        private readonly List<string> _replaced = [];

        public async Task<(string? Inline, string? Blob)> SetAsync(string kind, string json, string? currentBlob, CancellationToken cancellationToken)
        {
            if (currentBlob is not null)
            {
                _replaced.Add(currentBlob);
            }
            if (json.Length <= InlineJsonChars)
            {
                return (json, null);
            }
            var container = await service.Storage.ContainerAsync(RunsContainer).ConfigureAwait(false);
            var name = $"{key.BlobPrefix}{kind}-{Guid.NewGuid():N}.json";
            await container.UploadAsync(name, BinaryData.FromString(json), "application/json", cancellationToken: cancellationToken).ConfigureAwait(false);
            _written.Add(name);
            return (null, name);
        }

        /// <summary>
        /// After the row write: drops replaced blobs and logs the change for the run index, coalesced
        /// per run (one entry per lease; a new run or a state change is always logged), naming the
        /// version the row write produced (<paramref name="committed"/>, its ETag).
        /// </summary>
        public Task CommitAsync(bool stateChanged, Azure.ETag committed) => Task.WhenAll(DeleteAsync(_replaced), Query.RunChangeLog.RecordCoalescedAsync(service.Storage, key, stateChanged, committed));

        public Task RollbackAsync() => DeleteAsync(_written);

        private async Task DeleteAsync(List<string> names)
        {
            if (names.Count == 0)
            {
                return;
            }
            var container = await service.Storage.ContainerAsync(RunsContainer).ConfigureAwait(false);
            foreach (var name in names)
            {
                await container.DeleteAsync(name, CancellationToken.None).ConfigureAwait(false);
            }
        }
    }
}
