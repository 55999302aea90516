using Microsoft.AspNetCore.Http;
using Weightless.Core.Auth;
using Weightless.Core.Errors;
using Weightless.Core.History;
using Weightless.Core.Tenancy;

namespace Weightless.Core.Runs;

/// <summary>
/// <c>POST /files/{entity}/{project}/{run}/file_stream</c>: the history engine stores the lines,
/// then the run record takes the heartbeat, line counts, summary and end state. The answer is
/// what W&amp;B answers: <c>{"exitcode": null, "limits": {}, "stopped": bool}</c> — current clients
/// stop the run when <c>stopped</c> is true.
/// </summary>
internal sealed class FileStreamHandler(Authenticator authenticator, RunService runs, FileStreamIngestor ingestor, ProjectRateLimiter rateLimiter, TimeProvider clock)
{
    // (user, entity) pairs found to hold the Member role: a removed membership stops streaming
    // within the same bound as a revoked key.
    private readonly ExpiringCache<(string User, string Entity), bool> _members = new(clock, Authenticator.StreamingKeyLifetime);

    public async Task<IReadOnlyDictionary<string, object?>> HandleAsync(HttpContext http, string entity, string project, string runId, CancellationToken cancellationToken)
    {
        var principal = await authenticator.AuthenticateStreamingAsync(http, cancellationToken).ConfigureAwait(false);
        var key = new RunKey(
            EntityNames.ValidateEntity(entity, "entity"),
            EntityNames.ValidateProject(project, "project"),
            RunService.ValidateRunId(runId, "run"));
        if (!_members.TryGet((principal.UserName, key.Entity), out _))
        {
            await runs.AuthorizeAsync(principal, key.Entity, Role.Member, cancellationToken).ConfigureAwait(false);
            _members.Set((principal.UserName, key.Entity), true);
        }
        rateLimiter.Require(RateLimitedOperation.FileStream, key.Entity, key.Project, http.Response.Headers);
        // W&B creates runs with upsertBucket first; a stream for an unknown run is a client error.
        var current = await runs.TakeStreamRowAsync(key, cancellationToken).ConfigureAwait(false)
            ?? throw new NotFoundException($"Run '{key.RunId}' not found in {key.Entity}/{key.Project}; create it with upsertBucket first.");
        if (current.RewindingSince is not null)
        {
            throw new ConflictException($"Run '{key.RunId}' is being rewound; retry shortly.");
        }
        var body = await RequestBodies.ReadAsync(http.Request, cancellationToken).ConfigureAwait(false);
        var request = FileStreamRequest.Parse(body);
        var applied = await ingestor.ApplyAsync(key, request, cancellationToken).ConfigureAwait(false);
        var run = await runs.ApplyStreamAsync(key, new RunStreamUpdate
        {
            HistoryLineCount = applied.HistoryLineCount,
            EventsLineCount = applied.EventsLineCount,
            LogLineCount = applied.LogLineCount,
            LastStep = applied.LastStep,
            SummaryJson = applied.SummaryJson,
            Complete = applied.Complete,
            ExitCode = applied.ExitCode,
            Failed = applied.Failed,
            Preempting = applied.Preempting,
            HasData = request.Files.Values.Any(f => f.Content.Count > 0),
        }, cancellationToken, current).ConfigureAwait(false)
            ?? throw new NotFoundException($"Run '{key.RunId}' not found in {key.Entity}/{key.Project}.");
        if (run.RewindingSince is not null)
        {
            // The rewind began while this post was stored (its row write lost the ETag race and the
            // stored row says so): the client retries once the rewind is done.
            throw new ConflictException($"Run '{key.RunId}' is being rewound; retry shortly.");
        }
        var stopped = run.StopRequested;
        runs.KeepStreamRow(key, run);
        return new Dictionary<string, object?>
        {
            ["exitcode"] = null,
            ["limits"] = new Dictionary<string, object?>(),
            ["stopped"] = stopped,
        };
    }
}
