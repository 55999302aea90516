using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Weightless.Core.Artifacts;
using Weightless.Core.Auth;
using Weightless.Core.Http;

namespace Weightless.Query;

/// <summary>Artifacts over REST: collections, versions with files, edits, aliases, soft delete/restore and lineage.</summary>
internal sealed class ArtifactFunctions
{
    private const string Base = "api/v1/entities/{entity}/projects/{project}/artifacts";

    private readonly Authenticator _auth;
    private readonly ArtifactApi _artifacts;

    public ArtifactFunctions(Authenticator auth, ArtifactApi artifacts)
    {
        _auth = auth;
        _artifacts = artifacts;
    }

    [Function("ListArtifactCollections")]
    public async Task<IResult> ListCollections([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = Base)] HttpRequest req, string entity, string project, CancellationToken cancellationToken)
    {
        var principal = await _auth.AuthenticateAsync(req.HttpContext, cancellationToken);
        return TypedResults.Ok(await _artifacts.ListCollectionsAsync(principal, entity, project, req.Query["type"].FirstOrDefault(), cancellationToken));
    }

    [Function("EditArtifactCollection")]
    public async Task<IResult> EditCollection([HttpTrigger(AuthorizationLevel.Anonymous, "patch", Route = Base + "/{collection}")] HttpRequest req, string entity, string project, string collection, CancellationToken cancellationToken)
    {
        var principal = await _auth.AuthenticateAsync(req.HttpContext, cancellationToken);
        var body = await RequestBody.ReadJsonAsync<ArtifactCollectionEditRequest>(req, cancellationToken);
        return TypedResults.Ok(await _artifacts.EditCollectionAsync(principal, entity, project, collection, body, cancellationToken));
    }

    [Function("ListArtifactVersions")]
    public async Task<IResult> ListVersions([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = Base + "/{collection}/versions")] HttpRequest req, string entity, string project, string collection, CancellationToken cancellationToken)
    {
        var principal = await _auth.AuthenticateAsync(req.HttpContext, cancellationToken);
        var includeDeleted = string.Equals(req.Query["includeDeleted"].FirstOrDefault(), "true", StringComparison.OrdinalIgnoreCase);
        return TypedResults.Ok(await _artifacts.ListVersionsAsync(principal, entity, project, collection, includeDeleted, cancellationToken));
    }

    [Function("GetArtifactVersion")]
    public async Task<IResult> GetVersion([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = Base + "/{collection}/versions/{version}")] HttpRequest req, string entity, string project, string collection, string version, CancellationToken cancellationToken)
    {
        var principal = await _auth.AuthenticateAsync(req.HttpContext, cancellationToken);
        var first = int.TryParse(req.Query["first"].FirstOrDefault(), out var n) ? n : (int?)null;
        return TypedResults.Ok(await _artifacts.GetVersionAsync(principal, entity, project, collection, version, req.Query["after"].FirstOrDefault(), first, cancellationToken));
    }

    [Function("EditArtifactVersion")]
    public async Task<IResult> EditVersion([HttpTrigger(AuthorizationLevel.Anonymous, "patch", Route = Base + "/{collection}/versions/{version}")] HttpRequest req, string entity, string project, string collection, string version, CancellationToken cancellationToken)
    {
        var principal = await _auth.AuthenticateAsync(req.HttpContext, cancellationToken);
        var body = await RequestBody.ReadJsonAsync<ArtifactEditRequest>(req, cancellationToken);
        return TypedResults.Ok(await _artifacts.EditAsync(principal, entity, project, collection, version, body, cancellationToken));
    }

    [Function("DeleteArtifactVersion")]
    public async Task<IResult> DeleteVersion([HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = Base + "/{collection}/versions/{version}")] HttpRequest req, string entity, string project, string collection, string version, CancellationToken cancellationToken)
    {
        var principal = await _auth.AuthenticateAsync(req.HttpContext, cancellationToken);
        return TypedResults.Ok(await _artifacts.SetDeletedAsync(principal, entity, project, collection, version, deleted: true, cancellationToken));
    }

    [Function("RestoreArtifactVersion")]
    public async Task<IResult> RestoreVersion([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = Base + "/{collection}/versions/{version}/restore")] HttpRequest req, string entity, string project, string collection, string version, CancellationToken cancellationToken)
    {
        var principal = await _auth.AuthenticateAsync(req.HttpContext, cancellationToken);
        return TypedResults.Ok(await _artifacts.SetDeletedAsync(principal, entity, project, collection, version, deleted: false, cancellationToken));
    }

    [Function("SetArtifactAlias")]
    public async Task<IResult> SetAlias([HttpTrigger(AuthorizationLevel.Anonymous, "put", Route = Base + "/{collection}/aliases/{alias}")] HttpRequest req, string entity, string project, string collection, string alias, CancellationToken cancellationToken)
    {
        var principal = await _auth.AuthenticateAsync(req.HttpContext, cancellationToken);
        var body = await RequestBody.ReadJsonAsync<ArtifactAliasRequest>(req, cancellationToken);
        return TypedResults.Ok(await _artifacts.SetAliasAsync(principal, entity, project, collection, alias, body, cancellationToken));
    }

    [Function("RemoveArtifactAlias")]
    public async Task<IResult> RemoveAlias([HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = Base + "/{collection}/aliases/{alias}")] HttpRequest req, string entity, string project, string collection, string alias, CancellationToken cancellationToken)
    {
        var principal = await _auth.AuthenticateAsync(req.HttpContext, cancellationToken);
        await _artifacts.RemoveAliasAsync(principal, entity, project, collection, alias, cancellationToken);
        return TypedResults.NoContent();
    }

    [Function("GetArtifactVersionLineage")]
    public async Task<IResult> VersionLineage([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = Base + "/{collection}/versions/{version}/lineage")] HttpRequest req, string entity, string project, string collection, string version, CancellationToken cancellationToken)
    {
        var principal = await _auth.AuthenticateAsync(req.HttpContext, cancellationToken);
        return TypedResults.Ok(await _artifacts.VersionLineageAsync(principal, entity, project, collection, version, req.Query["direction"].FirstOrDefault(), Depth(req), cancellationToken));
    }

    [Function("GetRunArtifactLineage")]
    public async Task<IResult> RunLineage([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/entities/{entity}/projects/{project}/runs/{run}/artifact-lineage")] HttpRequest req, string entity, string project, string run, CancellationToken cancellationToken)
    {
        var principal = await _auth.AuthenticateAsync(req.HttpContext, cancellationToken);
        return TypedResults.Ok(await _artifacts.RunLineageAsync(principal, entity, project, run, req.Query["direction"].FirstOrDefault(), Depth(req), cancellationToken));
    }

    private static int? Depth(HttpRequest req) =>
        int.TryParse(req.Query["depth"].FirstOrDefault(), out var depth) ? depth : null;
}
