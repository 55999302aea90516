using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Weightless.Core.Auth;
using Weightless.Core.Http;
using Weightless.Core.Workspaces;
using Weightless.Query.Api;

namespace Weightless.Query;

/// <summary>The caller's saved workspace layout of a project (the dashboard's panels, columns and colours).</summary>
internal sealed class WorkspaceFunctions
{
    private const string Route = "api/v1/entities/{entity}/projects/{project}/workspace";

    private readonly Authenticator _auth;
    private readonly WorkspaceService _workspaces;

    public WorkspaceFunctions(Authenticator auth, WorkspaceService workspaces)
    {
        _auth = auth;
        _workspaces = workspaces;
    }

    [Function("GetWorkspace")]
    public async Task<IResult> GetWorkspace([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = Route)] HttpRequest req, string entity, string project, CancellationToken cancellationToken)
    {
        var principal = await _auth.AuthenticateAsync(req.HttpContext, cancellationToken);
        return WithETag(req, await _workspaces.GetAsync(principal, entity, project, cancellationToken));
    }

    [Function("PutWorkspace")]
    public async Task<IResult> PutWorkspace([HttpTrigger(AuthorizationLevel.Anonymous, "put", Route = Route)] HttpRequest req, string entity, string project, CancellationToken cancellationToken)
    {
        var principal = await _auth.AuthenticateAsync(req.HttpContext, cancellationToken);
        var layout = await RequestBody.ReadJsonAsync<WorkspaceLayout>(req, cancellationToken);
        var ifMatch = req.Headers.IfMatch.ToString();
        var createOnly = req.Headers.IfNoneMatch.ToString().Trim() == "*";
        var saved = await _workspaces.SaveAsync(principal, entity, project, layout, string.IsNullOrWhiteSpace(ifMatch) ? null : ifMatch.Trim(), createOnly, cancellationToken);
        return WithETag(req, saved);
    }

    private static IResult WithETag(HttpRequest req, WorkspaceDocument document)
    {
        if (document.ETag is { } etag)
        {
            req.HttpContext.Response.Headers.ETag = etag;
        }
        return QueryParameters.Json(document);
    }
}
