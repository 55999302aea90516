using Microsoft.AspNetCore.Http;
using Weightless.Core.Auth;
using Weightless.Core.Errors;
using Weightless.Core.History;
using Weightless.Core.Tenancy;
using Microsoft.Extensions.Logging;

namespace Weightless.Core.Runs;

/// <summary>
/// <c>POST /files/{entity}/{project}/{run}/file_stream</c>: the history engine stores the lines,
/// then the run record takes the heartbeat, line counts, summary and end state. The answer is
/// what W&amp;B answers: <c>{"exitcode": null, "limits": {}, "stopped": bool}</c> — current clients
/// stop the run when <c>stopped</c> is true.
/// </summary>
internal sealed class FileStreamHandler(Authenticator authenticator, RunService runs, FileStreamIngestor ingestor, ProjectRateLimiter rateLimiter, TimeProvider clock, ILogger<FileStreamHandler> logger)
{
    private readonly FileStreamStageProfile? _profile = FileStreamStageProfile.FromEnvironment(logger);

    // (user, entity) pairs found to hold the Member role: a removed membership stops streaming
    // within the same bound as a revoked key.
    private readonly ExpiringCache<(string User, string Entity), bool> _members = new(clock, Authenticator.StreamingKeyLifetime);

    public async Task<IReadOnlyDictionary<string, object?>> HandleAsync(HttpContext http, string entity, string project, string runId, CancellationToken cancellationToken)
    {
        var stage = _profile?.Start();
        var principal = await authenticator.AuthenticateStreamingAsync(http, cancellationToken).ConfigureAwait(false);
        stage?.Lap(FileStreamStageProfile.Stage.Authenticate);
        var key = new RunKey(
            EntityNames.ValidateEntity(entity, "entity"),
            EntityNames.ValidateProject(project, "project"),
            RunService.ValidateRunId(runId, "run"));
        if (!_members.TryGet((principal.UserName, key.Entity), out _))
        {
            await runs.AuthorizeAsync(principal, key.Entity, Role.Member, cancellationToken).ConfigureAwait(false);
            _members.Set((principal.UserName, key.Entity), true);
        }
        stage?.Lap(FileStreamStageProfile.Stage.Authorize);
        rateLimiter.Require(RateLimitedOperation.FileStream, key.Entity, key.Project, http.Response.Headers);
        stage?.Lap(FileStreamStageProfile.Stage.RateLimit);
        // W&B creates runs with upsertBucket first; a stream for an unknown run is a client error.
        var current = await runs.TakeStreamRowAsync(key, cancellationToken).ConfigureAwait(false)
            ?? throw new NotFoundException($"Run '{key.RunId}' not found in {key.Entity}/{key.Project}; create it with upsertBucket first.");
        if (current.RewindingSince is not null)
        {
            throw new ConflictException($"Run '{key.RunId}' is being rewound; retry shortly.");
        }
        stage?.Lap(FileStreamStageProfile.Stage.RunLookup);
        FileStreamRequest request;
        using (var body = await RequestBodies.ReadPooledAsync(http.Request, cancellationToken).ConfigureAwait(false))
        {
            // The parsed request holds its own strings: the body's buffer goes back to the pool right away.
            request = FileStreamRequest.Parse(body.Memory);
        }
        stage?.Lap(FileStreamStageProfile.Stage.ParseBody);
        var applied = await ingestor.ApplyAsync(key, request, cancellationToken).ConfigureAwait(false);
        stage?.Lap(FileStreamStageProfile.Stage.AppendFiles);
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
            HasData = request.HasContent,
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
        stage?.Lap(FileStreamStageProfile.Stage.CommitRunRow);
        stage?.End();
        return new Dictionary<string, object?>
        {
            ["exitcode"] = null,
            ["limits"] = new Dictionary<string, object?>(),
            ["stopped"] = stopped,
        };
    }
}

/// <summary>
/// Where a file_stream post's time goes, stage by stage (wall time: CPU plus storage waits), when
/// <c>WEIGHTLESS_FILESTREAM_PROFILE=N</c> is set: every N posts the averages are logged. Off (null)
/// otherwise, so the hot path pays nothing.
/// </summary>
internal sealed class FileStreamStageProfile
{
    public const string EnvironmentVariable = "WEIGHTLESS_FILESTREAM_PROFILE";

    public enum Stage
    {
        Authenticate,
        Authorize,
        RateLimit,
        RunLookup,
        ParseBody,
        AppendFiles,
        CommitRunRow,
    }

    private static readonly Stage[] Stages = Enum.GetValues<Stage>();
    private readonly long[] _ticks = new long[Stages.Length];
    private readonly ILogger _logger;
    private readonly int _every;
    private long _posts;

    private FileStreamStageProfile(ILogger logger, int every)
    {
        _logger = logger;
        _every = every;
    }

    public static FileStreamStageProfile? FromEnvironment(ILogger logger) =>
        int.TryParse(Environment.GetEnvironmentVariable(EnvironmentVariable), out var every) && every > 0 ? new FileStreamStageProfile(logger, every) : null;

    public Timer Start() => new(this);

    internal sealed class Timer(FileStreamStageProfile profile)
    {
        private long _last = System.Diagnostics.Stopwatch.GetTimestamp();

        public void Lap(Stage stage)
        {
            var now = System.Diagnostics.Stopwatch.GetTimestamp();
            Interlocked.Add(ref profile._ticks[(int)stage], now - _last);
            _last = now;
        }

        public void End()
        {
            var posts = Interlocked.Increment(ref profile._posts);
            if (posts % profile._every == 0)
            {
                var perPost = string.Join("  ", Stages.Select(s => $"{s} {System.Diagnostics.Stopwatch.GetElapsedTime(0, Interlocked.Read(ref profile._ticks[(int)s])).TotalMilliseconds / posts:N2}"));
                profile._logger.LogInformation("file_stream stages after {Posts} posts, ms per post: {Stages}", posts, perPost);
            }
        }
    }
}
