using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Weightless.Core.Auth;
using Weightless.Core.Http;
using Weightless.Core.Query;
using Weightless.Core.Runs;

namespace Weightless.Query.Api;

/// <summary>Runs of a project: list (filter, sort, cursor), group, read, edit, move, delete and undelete.</summary>
internal sealed class RunFunctions
{
    private readonly Authenticator _auth;
    private readonly RunQueryService _runs;

    public RunFunctions(Authenticator auth, RunQueryService runs)
    {
        _auth = auth;
        _runs = runs;
    }

    [Function("ListRuns")]
    public async Task<IResult> ListRuns([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/entities/{entity}/projects/{project}/runs")] HttpRequest req, string entity, string project, CancellationToken cancellationToken)
    {
        var principal = await _auth.AuthenticateAsync(req.HttpContext, cancellationToken);
        var spec = new RunQuerySpec(
            RunFilter.Parse(QueryParameters.String(req, "filter")),
            RunQueryEngine.ParseSort(QueryParameters.List(req, "sort")),
            RunQueryEngine.ValidateLimit(QueryParameters.Int(req, "limit")),
            QueryParameters.String(req, "cursor"),
            QueryParameters.Bool(req, "includeDeleted"));
        return QueryParameters.Json(await _runs.ListRunsAsync(principal, entity, project, spec, cancellationToken));
    }

    [Function("QueryRuns")]
    public async Task<IResult> QueryRuns([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/v1/entities/{entity}/projects/{project}/runs/query")] HttpRequest req, string entity, string project, CancellationToken cancellationToken)
    {
        var principal = await _auth.AuthenticateAsync(req.HttpContext, cancellationToken);
        var body = await RequestBody.ReadJsonAsync<RunQueryRequest>(req, cancellationToken);
        var spec = new RunQuerySpec(
            body.Filter is { } filter ? RunFilter.Parse(filter) : null,
            RunQueryEngine.ParseSort(QueryParameters.SortOf(body.Sort)),
            RunQueryEngine.ValidateLimit(body.Limit),
            string.IsNullOrWhiteSpace(body.Cursor) ? null : body.Cursor,
            body.IncludeDeleted ?? false);
        return QueryParameters.Json(await _runs.ListRunsAsync(principal, entity, project, spec, cancellationToken));
    }

    [Function("GroupRuns")]
    public async Task<IResult> GroupRuns([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/entities/{entity}/projects/{project}/runs/groups")] HttpRequest req, string entity, string project, CancellationToken cancellationToken)
    {
        var principal = await _auth.AuthenticateAsync(req.HttpContext, cancellationToken);
        var filter = RunFilter.Parse(QueryParameters.String(req, "filter"));
        return QueryParameters.Json(await _runs.GroupRunsAsync(principal, entity, project, QueryParameters.List(req, "by") ?? [], filter, QueryParameters.Bool(req, "includeDeleted"), cancellationToken));
    }

    [Function("GetRun")]
    public async Task<IResult> GetRun([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/entities/{entity}/projects/{project}/runs/{run}")] HttpRequest req, string entity, string project, string run, CancellationToken cancellationToken)
    {
        var principal = await _auth.AuthenticateAsync(req.HttpContext, cancellationToken);
        return QueryParameters.Json(await _runs.GetRunAsync(principal, new RunKey(entity, project, run), cancellationToken));
    }

    [Function("UpdateRun")]
    public async Task<IResult> UpdateRun([HttpTrigger(AuthorizationLevel.Anonymous, "patch", Route = "api/v1/entities/{entity}/projects/{project}/runs/{run}")] HttpRequest req, string entity, string project, string run, CancellationToken cancellationToken)
    {
        var principal = await _auth.AuthenticateAsync(req.HttpContext, cancellationToken);
        var body = await RequestBody.ReadJsonAsync<RunPatchRequest>(req, cancellationToken);
        return QueryParameters.Json(await _runs.UpdateRunAsync(principal, new RunKey(entity, project, run), body, cancellationToken));
    }

    [Function("DeleteRun")]
    public async Task<IResult> DeleteRun([HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "api/v1/entities/{entity}/projects/{project}/runs/{run}")] HttpRequest req, string entity, string project, string run, CancellationToken cancellationToken)
    {
        var principal = await _auth.AuthenticateAsync(req.HttpContext, cancellationToken);
        await _runs.DeleteRunAsync(principal, new RunKey(entity, project, run), cancellationToken);
        return TypedResults.NoContent();
    }

    [Function("UndeleteRun")]
    public async Task<IResult> UndeleteRun([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/v1/entities/{entity}/projects/{project}/runs/{run}/undelete")] HttpRequest req, string entity, string project, string run, CancellationToken cancellationToken)
    {
        var principal = await _auth.AuthenticateAsync(req.HttpContext, cancellationToken);
        return QueryParameters.Json(await _runs.UndeleteRunAsync(principal, new RunKey(entity, project, run), cancellationToken));
    }

    [Function("MoveRun")]
    public async Task<IResult> MoveRun([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/v1/entities/{entity}/projects/{project}/runs/{run}/move")] HttpRequest req, string entity, string project, string run, CancellationToken cancellationToken)
    {
        var principal = await _auth.AuthenticateAsync(req.HttpContext, cancellationToken);
        var body = await RequestBody.ReadJsonAsync<MoveRunRequest>(req, cancellationToken);
        return QueryParameters.Json(await _runs.MoveRunAsync(principal, new RunKey(entity, project, run), body, cancellationToken));
    }
}
