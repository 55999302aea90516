using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Weightless.Core.Auth;
using Weightless.Core.Query;

namespace Weightless.Query.Api;

/// <summary>Entities the caller belongs to and their projects.</summary>
internal sealed class ProjectFunctions
{
    private readonly Authenticator _auth;
    private readonly RunQueryService _runs;

    public ProjectFunctions(Authenticator auth, RunQueryService runs)
    {
        _auth = auth;
        _runs = runs;
    }

    [Function("ListMyEntities")]
    public async Task<IResult> ListMyEntities([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/entities")] HttpRequest req, CancellationToken cancellationToken)
    {
        var principal = await _auth.AuthenticateAsync(req.HttpContext, cancellationToken);
        return QueryParameters.Json(await _runs.ListEntitiesAsync(principal, cancellationToken));
    }

    [Function("GetEntity")]
    public async Task<IResult> GetEntity([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/entities/{entity}")] HttpRequest req, string entity, CancellationToken cancellationToken)
    {
        var principal = await _auth.AuthenticateAsync(req.HttpContext, cancellationToken);
        return QueryParameters.Json(await _runs.GetEntityAsync(principal, entity, cancellationToken));
    }

    [Function("ListProjects")]
    public async Task<IResult> ListProjects([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/entities/{entity}/projects")] HttpRequest req, string entity, CancellationToken cancellationToken)
    {
        var principal = await _auth.AuthenticateAsync(req.HttpContext, cancellationToken);
        return QueryParameters.Json(await _runs.ListProjectsAsync(principal, entity, cancellationToken));
    }

    [Function("GetProject")]
    public async Task<IResult> GetProject([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/entities/{entity}/projects/{project}")] HttpRequest req, string entity, string project, CancellationToken cancellationToken)
    {
        var principal = await _auth.AuthenticateAsync(req.HttpContext, cancellationToken);
        return QueryParameters.Json(await _runs.GetProjectAsync(principal, entity, project, cancellationToken));
    }
}
