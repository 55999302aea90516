using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Weightless.Core.Auth;
using Weightless.Core.Errors;
using Weightless.Core.History;
using Weightless.Core.Tenancy;

namespace Weightless.Core.Runs;

internal sealed record RunRewindResult(RunRow Run, long ArchivedLines, string ArchiveId);

/// <summary>
/// Fork (<c>fork_from="run?_step=N"</c>) and rewind (<c>resume_from="run?_step=N"</c>), seed
/// §1.5.3 / §1.5.7. W&amp;B's clients continue at step N+1 in both cases, so step N itself is kept:
/// the history APIs used here are inclusive of N.
/// </summary>
internal sealed class RunBranchService(RunService runs, HistoryStore history, TimeProvider clock)
{
    private static readonly JsonSerializerOptions SummaryJson = new() { NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };

    /// <summary>
    /// Keeps the history up to and including <paramref name="step"/>; later lines move to the
    /// history archive (never destroyed). Summary (last value per key), last step and
    /// historyLineCount are recomputed from what remains. Config is kept.
    /// </summary>
    public async Task<RunRewindResult> RewindAsync(Principal principal, RunKey key, long step, CancellationToken cancellationToken)
    {
        ValidateStep(step);
        await runs.AuthorizeAsync(principal, key.Entity, Role.Member, cancellationToken).ConfigureAwait(false);
        var now = clock.GetUtcNow();
        var busy = false;
        _ = await runs.UpdateAsync(key, (row, _) =>
        {
            busy = row.RewindingSince is not null;
            row.RewindingSince = now;
            return Task.FromResult(!busy);
        }, cancellationToken).ConfigureAwait(false)
            ?? throw new NotFoundException($"Run '{key.RunId}' not found in {key.Entity}/{key.Project}.");
        if (busy)
        {
            throw new ConflictException($"Run '{key.RunId}' is already being rewound; retry shortly.");
        }
        HistoryRewindResult rewound;
        (string Summary, long? LastStep) recomputed;
        try
        {
            rewound = await history.RewindAsync(key, step, cancellationToken).ConfigureAwait(false);
            recomputed = await RecomputeAsync(key, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await ClearRewindingAsync(key).ConfigureAwait(false);
            throw;
        }
        var run = await runs.UpdateAsync(key, async (row, edit) =>
        {
            row.RewindingSince = null;
            row.HistoryLineCount = rewound.LineCount;
            row.LastStep = recomputed.LastStep;
            (row.Summary, row.SummaryBlob) = await edit.SetAsync("summary", recomputed.Summary, row.SummaryBlob, cancellationToken).ConfigureAwait(false);
            row.UpdatedAt = clock.GetUtcNow();
            return true;
        }, CancellationToken.None).ConfigureAwait(false)
            ?? throw new NotFoundException($"Run '{key.RunId}' not found in {key.Entity}/{key.Project}.");
        return new RunRewindResult(run, rewound.ArchivedLines, rewound.ArchiveId);
    }

    /// <summary>
    /// A new run in the parent's project with the parent's config and its history up to and
    /// including <paramref name="step"/>; the link (parent and step) is recorded on the new run.
    /// </summary>
    public async Task<RunRow> ForkAsync(Principal principal, RunKey parentKey, string? newRunId, long step, CancellationToken cancellationToken)
    {
        ValidateStep(step);
        await runs.AuthorizeAsync(principal, parentKey.Entity, Role.Member, cancellationToken).ConfigureAwait(false);
        var parent = await runs.FindRunAsync(parentKey, cancellationToken).ConfigureAwait(false)
            ?? throw new NotFoundException($"Run '{parentKey.RunId}' not found in {parentKey.Entity}/{parentKey.Project}.");
        if (newRunId is not null)
        {
            RunService.ValidateRunId(newRunId, "newRunId");
            if (newRunId == parentKey.RunId)
            {
                throw new ValidationFailedException("A fork needs a run id different from its parent's.", "newRunId");
            }
            if (await runs.FindRunAsync(parentKey with { RunId = newRunId }, cancellationToken).ConfigureAwait(false) is not null)
            {
                throw new ConflictException($"Run '{newRunId}' already exists in {parentKey.Entity}/{parentKey.Project}.");
            }
        }
        var created = await runs.UpsertAsync(principal, new UpsertRunCommand
        {
            Entity = parentKey.Entity,
            Project = parentKey.Project,
            Name = newRunId,
            Config = await runs.GetConfigAsync(parent, cancellationToken).ConfigureAwait(false),
            GroupName = parent.Group,
            JobType = parent.JobType,
        }, cancellationToken).ConfigureAwait(false);
        if (!created.Inserted)
        {
            throw new ConflictException($"Run '{created.Run.RunId}' already exists in {parentKey.Entity}/{parentKey.Project}.");
        }
        return await CopyPrefixAsync(parentKey, created.Run.Key, step, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The clients' <c>wandb.init(fork_from="parent?_step=N")</c>: they send no fork request but put
    /// <c>_wandb.branch_point = {run_id, step}</c> into the config of the new run's first
    /// <c>upsertBucket</c>, then stream history from the offset that answer's <c>historyLineCount</c>
    /// gives. A run that names another run of its project there and has no history and no link yet
    /// (so a retried upsert also completes) gets the parent's history up to N and the link.
    /// Rewinding (<c>resume_from</c>) names the run itself and goes through <c>rewindRun</c> instead.
    /// </summary>
    public async Task<RunRow> ApplyConfigBranchPointAsync(RunRow run, string? config, CancellationToken cancellationToken)
    {
        if (run.ForkedFrom is not null || run.HistoryLineCount != 0 || ReadBranchPoint(config) is not var (parentId, step) || parentId == run.RunId)
        {
            return run;
        }
        var parentKey = run.Key with { RunId = parentId };
        if (await runs.FindRunAsync(parentKey, cancellationToken).ConfigureAwait(false) is null)
        {
            throw new NotFoundException($"fork_from: run '{parentId}' not found in {run.Entity}/{run.Project}.");
        }
        return await CopyPrefixAsync(parentKey, run.Key, step, cancellationToken).ConfigureAwait(false);
    }

    /// <summary><c>_wandb.branch_point</c> of a config sent raw or W&amp;B-wrapped (<c>{"_wandb":{"value":{…}}}</c>).</summary>
    internal static (string RunId, long Step)? ReadBranchPoint(string? config)
    {
        if (string.IsNullOrEmpty(config) || !config.Contains("branch_point", StringComparison.Ordinal))
        {
            return null;
        }
        JsonNode? internals;
        try
        {
            internals = JsonNode.Parse(config) is JsonObject root ? root["_wandb"] : null;
        }
        catch (JsonException)
        {
            return null;
        }
        if (internals is JsonObject wrapped && wrapped.ContainsKey("value"))
        {
            internals = wrapped["value"];
        }
        if (internals is not JsonObject inner || inner["branch_point"] is not JsonObject point
            || point["run_id"] is not JsonValue runValue || !runValue.TryGetValue<string>(out var runId) || string.IsNullOrWhiteSpace(runId)
            || point["step"] is not JsonValue stepValue || !stepValue.TryGetValue<double>(out var step))
        {
            return null;
        }
        if (double.IsNaN(step) || step < 0 || step > long.MaxValue || step != Math.Floor(step))
        {
            throw new ValidationFailedException("fork_from: '_step' must be a whole step, 0 or more.", "config");
        }
        return (RunService.ValidateRunId(runId.Trim(), "config"), (long)step);
    }

    private async Task<RunRow> CopyPrefixAsync(RunKey parentKey, RunKey childKey, long step, CancellationToken cancellationToken)
    {
        var copied = await history.CopyPrefixAsync(parentKey, childKey, step, cancellationToken).ConfigureAwait(false);
        var recomputed = await RecomputeAsync(childKey, cancellationToken).ConfigureAwait(false);
        return await runs.UpdateAsync(childKey, async (row, edit) =>
        {
            row.ForkedFrom = $"{parentKey.Entity}/{parentKey.Project}/{parentKey.RunId}";
            row.ForkedFromStep = step;
            row.HistoryLineCount = copied;
            row.LastStep = recomputed.LastStep;
            (row.Summary, row.SummaryBlob) = await edit.SetAsync("summary", recomputed.Summary, row.SummaryBlob, cancellationToken).ConfigureAwait(false);
            return true;
        }, cancellationToken).ConfigureAwait(false)
            ?? throw new NotFoundException($"Run '{childKey.RunId}' not found.");
    }

    /// <summary>The summary W&amp;B derives from history: the last value logged for each key.</summary>
    private async Task<(string Summary, long? LastStep)> RecomputeAsync(RunKey key, CancellationToken cancellationToken)
    {
        var summary = new JsonObject();
        long? lastStep = null;
        foreach (var row in await history.ReadRowsAsync(key, null, null, cancellationToken).ConfigureAwait(false))
        {
            foreach (var (name, value) in row.ToNested())
            {
                summary[name] = value?.DeepClone();
            }
            if (row.Step is { } s && (lastStep is null || s > lastStep))
            {
                lastStep = s;
            }
        }
        return (summary.ToJsonString(SummaryJson), lastStep);
    }

    private async Task ClearRewindingAsync(RunKey key)
    {
        await runs.UpdateAsync(key, (row, _) =>
        {
            row.RewindingSince = null;
            return Task.FromResult(true);
        }, CancellationToken.None).ConfigureAwait(false);
    }

    private static void ValidateStep(long step)
    {
        if (step < 0)
        {
            throw new ValidationFailedException("'step' is a step of the run's history, 0 or more.", "step");
        }
    }
}
