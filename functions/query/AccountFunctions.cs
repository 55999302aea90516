using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Weightless.Core.Auth;
using Weightless.Core.Http;
using Weightless.Core.Tenancy;

namespace Weightless.Query;

/// <summary>Who am I, users, teams, memberships and API keys.</summary>
internal sealed class AccountFunctions
{
    private readonly Authenticator _auth;
    private readonly AccountApi _accounts;

    public AccountFunctions(Authenticator auth, AccountApi accounts)
    {
        _auth = auth;
        _accounts = accounts;
    }

    [Function("GetViewer")]
    public async Task<IResult> GetViewer([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/viewer")] HttpRequest req, CancellationToken cancellationToken)
    {
        var principal = await _auth.AuthenticateAsync(req.HttpContext, cancellationToken);
        return TypedResults.Ok(await _accounts.ViewerAsync(principal, cancellationToken));
    }

    [Function("ListEntities")]
    public async Task<IResult> ListEntities([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/admin/entities")] HttpRequest req, CancellationToken cancellationToken)
    {
        var principal = await _auth.AuthenticateAsync(req.HttpContext, cancellationToken);
        return TypedResults.Ok(await _accounts.ListEntitiesAsync(principal, cancellationToken));
    }

    [Function("CreateUser")]
    public async Task<IResult> CreateUser([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/v1/admin/users")] HttpRequest req, CancellationToken cancellationToken)
    {
        var principal = await _auth.AuthenticateAsync(req.HttpContext, cancellationToken);
        var body = await RequestBody.ReadJsonAsync<CreateUserRequest>(req, cancellationToken);
        var created = await _accounts.CreateUserAsync(principal, body, cancellationToken);
        return TypedResults.Created($"/api/v1/users/{created.Name}", created);
    }

    [Function("CreateTeam")]
    public async Task<IResult> CreateTeam([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/v1/teams")] HttpRequest req, CancellationToken cancellationToken)
    {
        var principal = await _auth.AuthenticateAsync(req.HttpContext, cancellationToken);
        var body = await RequestBody.ReadJsonAsync<CreateTeamRequest>(req, cancellationToken);
        var created = await _accounts.CreateTeamAsync(principal, body, cancellationToken);
        return TypedResults.Created($"/api/v1/teams/{created.Name}", created);
    }

    [Function("ListTeamMembers")]
    public async Task<IResult> ListTeamMembers([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/teams/{team}/members")] HttpRequest req, string team, CancellationToken cancellationToken)
    {
        var principal = await _auth.AuthenticateAsync(req.HttpContext, cancellationToken);
        return TypedResults.Ok(await _accounts.ListMembersAsync(principal, team, cancellationToken));
    }

    [Function("SetTeamMember")]
    public async Task<IResult> SetTeamMember([HttpTrigger(AuthorizationLevel.Anonymous, "put", Route = "api/v1/teams/{team}/members")] HttpRequest req, string team, CancellationToken cancellationToken)
    {
        var principal = await _auth.AuthenticateAsync(req.HttpContext, cancellationToken);
        var body = await RequestBody.ReadJsonAsync<SetMemberRequest>(req, cancellationToken);
        return TypedResults.Ok(await _accounts.SetMemberAsync(principal, team, body, cancellationToken));
    }

    [Function("RemoveTeamMember")]
    public async Task<IResult> RemoveTeamMember([HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "api/v1/teams/{team}/members/{user}")] HttpRequest req, string team, string user, CancellationToken cancellationToken)
    {
        var principal = await _auth.AuthenticateAsync(req.HttpContext, cancellationToken);
        await _accounts.RemoveMemberAsync(principal, team, user, cancellationToken);
        return TypedResults.NoContent();
    }

    [Function("CreateApiKey")]
    public async Task<IResult> CreateApiKey([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/v1/users/{user}/keys")] HttpRequest req, string user, CancellationToken cancellationToken)
    {
        var principal = await _auth.AuthenticateAsync(req.HttpContext, cancellationToken);
        var body = req.ContentLength is null or 0 ? new CreateKeyRequest(null) : await RequestBody.ReadJsonAsync<CreateKeyRequest>(req, cancellationToken);
        var created = await _accounts.CreateKeyAsync(principal, user, body, cancellationToken);
        return TypedResults.Created($"/api/v1/users/{user}/keys/{created.Id}", created);
    }

    [Function("ListApiKeys")]
    public async Task<IResult> ListApiKeys([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/users/{user}/keys")] HttpRequest req, string user, CancellationToken cancellationToken)
    {
        var principal = await _auth.AuthenticateAsync(req.HttpContext, cancellationToken);
        return TypedResults.Ok(await _accounts.ListKeysAsync(principal, user, cancellationToken));
    }

    [Function("RevokeApiKey")]
    public async Task<IResult> RevokeApiKey([HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "api/v1/users/{user}/keys/{keyId}")] HttpRequest req, string user, string keyId, CancellationToken cancellationToken)
    {
        var principal = await _auth.AuthenticateAsync(req.HttpContext, cancellationToken);
        await _accounts.RevokeKeyAsync(principal, user, keyId, cancellationToken);
        return TypedResults.NoContent();
    }
}
