using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Weightless.Core.Auth;
using Weightless.Core.Errors;
using Weightless.Core.Http;
using Weightless.Core.Runs;
using Weightless.Core.Tenancy;

namespace Weightless.Ingest;

/// <summary>Body of <c>POST .../runs/{run}/fork</c>.</summary>
internal sealed record ForkRunRequest(string? NewRunId, long? Step);

/// <summary>Body of <c>POST .../runs/{run}/rewind</c>.</summary>
internal sealed record RewindRunRequest(long? Step);

/// <summary>
/// REST fork and rewind. They write runs and history, so the ingest app hosts them (the
/// GraphQL <c>rewindRun</c> that the clients send goes through the same <see cref="RunBranchService"/>).
/// </summary>
internal sealed class RunBranchFunctions
{
    private readonly Authenticator _auth;
    private readonly RunBranchService _branches;

    public RunBranchFunctions(Authenticator auth, RunBranchService branches)
    {
        _auth = auth;
        _branches = branches;
    }

    [Function("ForkRun")]
    public async Task<IResult> Fork(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/v1/entities/{entity}/projects/{project}/runs/{run}/fork")] HttpRequest req,
        string entity,
        string project,
        string run,
        CancellationToken cancellationToken)
    {
        var principal = await _auth.AuthenticateAsync(req.HttpContext, cancellationToken);
        var body = await RequestBody.ReadJsonAsync<ForkRunRequest>(req, cancellationToken);
        var step = body.Step ?? throw new ValidationFailedException("'step' is required: the parent's step the fork starts from (kept).", "step");
        var child = await _branches.ForkAsync(principal, Key(entity, project, run), string.IsNullOrWhiteSpace(body.NewRunId) ? null : body.NewRunId.Trim(), step, cancellationToken);
        return TypedResults.Created($"/api/v1/entities/{child.Entity}/projects/{child.Project}/runs/{child.RunId}", Describe(child));
    }

    [Function("RewindRun")]
    public async Task<IResult> Rewind(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/v1/entities/{entity}/projects/{project}/runs/{run}/rewind")] HttpRequest req,
        string entity,
        string project,
        string run,
        CancellationToken cancellationToken)
    {
        var principal = await _auth.AuthenticateAsync(req.HttpContext, cancellationToken);
        var body = await RequestBody.ReadJsonAsync<RewindRunRequest>(req, cancellationToken);
        var step = body.Step ?? throw new ValidationFailedException("'step' is required: the last step to keep.", "step");
        var result = await _branches.RewindAsync(principal, Key(entity, project, run), step, cancellationToken);
        var answer = Describe(result.Run);
        answer["archivedLines"] = result.ArchivedLines;
        answer["archiveId"] = result.ArchiveId;
        return TypedResults.Ok(answer);
    }

    private static RunKey Key(string entity, string project, string run) => new(
        EntityNames.ValidateEntity(entity, "entity"),
        EntityNames.ValidateProject(project, "project"),
        RunService.ValidateRunId(run, "run"));

    private static Dictionary<string, object?> Describe(RunRow run) => new()
    {
        ["entity"] = run.Entity,
        ["project"] = run.Project,
        ["runId"] = run.RunId,
        ["state"] = run.State,
        ["historyLineCount"] = run.HistoryLineCount,
        ["lastStep"] = run.LastStep,
        ["forkedFrom"] = run.ForkedFrom,
        ["forkedFromStep"] = run.ForkedFromStep,
    };
}
