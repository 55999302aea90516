using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Weightless.Core.Auth;
using Weightless.Core.Http;
using Weightless.Core.Registry;

namespace Weightless.Query;

/// <summary>The Registry over REST: registries of an organization, members and roles, protected aliases, collections, linked versions, aliases and search.</summary>
internal sealed class RegistryFunctions
{
    private const string Base = "api/v1/orgs/{org}/registries";
    private const string One = Base + "/{registry}";
    private const string Collection = One + "/collections/{collection}";

    private readonly Authenticator _auth;
    private readonly RegistryService _registries;

    public RegistryFunctions(Authenticator auth, RegistryService registries)
    {
        _auth = auth;
        _registries = registries;
    }

    [Function("ListRegistries")]
    public async Task<IResult> List([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = Base)] HttpRequest req, string org, CancellationToken cancellationToken)
    {
        var principal = await _auth.AuthenticateAsync(req.HttpContext, cancellationToken);
        return TypedResults.Ok(await _registries.ListAsync(principal, org, cancellationToken));
    }

    [Function("CreateRegistry")]
    public async Task<IResult> Create([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = Base)] HttpRequest req, string org, CancellationToken cancellationToken)
    {
        var principal = await _auth.AuthenticateAsync(req.HttpContext, cancellationToken);
        var body = await RequestBody.ReadJsonAsync<CreateRegistryRequest>(req, cancellationToken);
        var created = await _registries.CreateAsync(principal, org, body, cancellationToken);
        return TypedResults.Created($"/api/v1/orgs/{org}/registries/{created.Name}", created);
    }

    [Function("GetRegistry")]
    public async Task<IResult> Get([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = One)] HttpRequest req, string org, string registry, CancellationToken cancellationToken)
    {
        var principal = await _auth.AuthenticateAsync(req.HttpContext, cancellationToken);
        return TypedResults.Ok(await _registries.GetAsync(principal, org, registry, cancellationToken));
    }

    [Function("EditRegistry")]
    public async Task<IResult> Edit([HttpTrigger(AuthorizationLevel.Anonymous, "patch", Route = One)] HttpRequest req, string org, string registry, CancellationToken cancellationToken)
    {
        var principal = await _auth.AuthenticateAsync(req.HttpContext, cancellationToken);
        var body = await RequestBody.ReadJsonAsync<EditRegistryRequest>(req, cancellationToken);
        return TypedResults.Ok(await _registries.EditAsync(principal, org, registry, body, cancellationToken));
    }

    [Function("DeleteRegistry")]
    public async Task<IResult> Delete([HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = One)] HttpRequest req, string org, string registry, CancellationToken cancellationToken)
    {
        var principal = await _auth.AuthenticateAsync(req.HttpContext, cancellationToken);
        await _registries.DeleteAsync(principal, org, registry, cancellationToken);
        return TypedResults.NoContent();
    }

    [Function("SetRegistryProtectedAliases")]
    public async Task<IResult> SetProtectedAliases([HttpTrigger(AuthorizationLevel.Anonymous, "put", Route = One + "/protected-aliases")] HttpRequest req, string org, string registry, CancellationToken cancellationToken)
    {
        var principal = await _auth.AuthenticateAsync(req.HttpContext, cancellationToken);
        var body = await RequestBody.ReadJsonAsync<ProtectedAliasesRequest>(req, cancellationToken);
        return TypedResults.Ok(await _registries.SetProtectedAliasesAsync(principal, org, registry, body, cancellationToken));
    }

    [Function("ListRegistryMembers")]
    public async Task<IResult> ListMembers([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = One + "/members")] HttpRequest req, string org, string registry, CancellationToken cancellationToken)
    {
        var principal = await _auth.AuthenticateAsync(req.HttpContext, cancellationToken);
        return TypedResults.Ok(await _registries.ListMembersAsync(principal, org, registry, cancellationToken));
    }

    [Function("SetRegistryMember")]
    public async Task<IResult> SetMember([HttpTrigger(AuthorizationLevel.Anonymous, "put", Route = One + "/members")] HttpRequest req, string org, string registry, CancellationToken cancellationToken)
    {
        var principal = await _auth.AuthenticateAsync(req.HttpContext, cancellationToken);
        var body = await RequestBody.ReadJsonAsync<SetRegistryMemberRequest>(req, cancellationToken);
        return TypedResults.Ok(await _registries.SetMemberAsync(principal, org, registry, body, cancellationToken));
    }

    [Function("RemoveRegistryMember")]
    public async Task<IResult> RemoveMember([HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = One + "/members/{kind}/{member}")] HttpRequest req, string org, string registry, string kind, string member, CancellationToken cancellationToken)
    {
        var principal = await _auth.AuthenticateAsync(req.HttpContext, cancellationToken);
        await _registries.RemoveMemberAsync(principal, org, registry, kind, member, cancellationToken);
        return TypedResults.NoContent();
    }

    [Function("ListRegistryCollections")]
    public async Task<IResult> ListCollections([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = One + "/collections")] HttpRequest req, string org, string registry, CancellationToken cancellationToken)
    {
        var principal = await _auth.AuthenticateAsync(req.HttpContext, cancellationToken);
        return TypedResults.Ok(await _registries.ListCollectionsAsync(principal, org, registry, Filter(req), cancellationToken));
    }

    [Function("CreateRegistryCollection")]
    public async Task<IResult> CreateCollection([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = One + "/collections")] HttpRequest req, string org, string registry, CancellationToken cancellationToken)
    {
        var principal = await _auth.AuthenticateAsync(req.HttpContext, cancellationToken);
        var body = await RequestBody.ReadJsonAsync<CreateRegistryCollectionRequest>(req, cancellationToken);
        var created = await _registries.CreateCollectionAsync(principal, org, registry, body, cancellationToken);
        return TypedResults.Created($"/api/v1/orgs/{org}/registries/{registry}/collections/{created.Name}", created);
    }

    [Function("GetRegistryCollection")]
    public async Task<IResult> GetCollection([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = Collection)] HttpRequest req, string org, string registry, string collection, CancellationToken cancellationToken)
    {
        var principal = await _auth.AuthenticateAsync(req.HttpContext, cancellationToken);
        return TypedResults.Ok(await _registries.GetCollectionAsync(principal, org, registry, collection, cancellationToken));
    }

    [Function("EditRegistryCollection")]
    public async Task<IResult> EditCollection([HttpTrigger(AuthorizationLevel.Anonymous, "patch", Route = Collection)] HttpRequest req, string org, string registry, string collection, CancellationToken cancellationToken)
    {
        var principal = await _auth.AuthenticateAsync(req.HttpContext, cancellationToken);
        var body = await RequestBody.ReadJsonAsync<EditRegistryCollectionRequest>(req, cancellationToken);
        return TypedResults.Ok(await _registries.EditCollectionAsync(principal, org, registry, collection, body, cancellationToken));
    }

    [Function("DeleteRegistryCollection")]
    public async Task<IResult> DeleteCollection([HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = Collection)] HttpRequest req, string org, string registry, string collection, CancellationToken cancellationToken)
    {
        var principal = await _auth.AuthenticateAsync(req.HttpContext, cancellationToken);
        await _registries.DeleteCollectionAsync(principal, org, registry, collection, cancellationToken);
        return TypedResults.NoContent();
    }

    [Function("ListRegistryVersions")]
    public async Task<IResult> ListVersions([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = Collection + "/versions")] HttpRequest req, string org, string registry, string collection, CancellationToken cancellationToken)
    {
        var principal = await _auth.AuthenticateAsync(req.HttpContext, cancellationToken);
        return TypedResults.Ok(await _registries.ListVersionsAsync(principal, org, registry, collection, Filter(req), cancellationToken));
    }

    [Function("LinkRegistryVersion")]
    public async Task<IResult> Link([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = Collection + "/versions")] HttpRequest req, string org, string registry, string collection, CancellationToken cancellationToken)
    {
        var principal = await _auth.AuthenticateAsync(req.HttpContext, cancellationToken);
        var body = await RequestBody.ReadJsonAsync<LinkRegistryVersionRequest>(req, cancellationToken);
        var linked = await _registries.LinkAsync(principal, org, registry, collection, body, cancellationToken);
        return TypedResults.Created($"/api/v1/orgs/{org}/registries/{registry}/collections/{collection}/versions/{linked.Version}", linked);
    }

    [Function("UnlinkRegistryVersion")]
    public async Task<IResult> Unlink([HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = Collection + "/versions/{version}")] HttpRequest req, string org, string registry, string collection, string version, CancellationToken cancellationToken)
    {
        var principal = await _auth.AuthenticateAsync(req.HttpContext, cancellationToken);
        await _registries.UnlinkAsync(principal, org, registry, collection, version, cancellationToken);
        return TypedResults.NoContent();
    }

    [Function("SetRegistryAlias")]
    public async Task<IResult> SetAlias([HttpTrigger(AuthorizationLevel.Anonymous, "put", Route = Collection + "/aliases/{alias}")] HttpRequest req, string org, string registry, string collection, string alias, CancellationToken cancellationToken)
    {
        var principal = await _auth.AuthenticateAsync(req.HttpContext, cancellationToken);
        var body = await RequestBody.ReadJsonAsync<SetRegistryAliasRequest>(req, cancellationToken);
        return TypedResults.Ok(await _registries.SetAliasAsync(principal, org, registry, collection, alias, body, cancellationToken));
    }

    [Function("RemoveRegistryAlias")]
    public async Task<IResult> RemoveAlias([HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = Collection + "/aliases/{alias}")] HttpRequest req, string org, string registry, string collection, string alias, CancellationToken cancellationToken)
    {
        var principal = await _auth.AuthenticateAsync(req.HttpContext, cancellationToken);
        await _registries.RemoveAliasAsync(principal, org, registry, collection, alias, cancellationToken);
        return TypedResults.NoContent();
    }

    [Function("SearchRegistries")]
    public async Task<IResult> Search([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/orgs/{org}/registry-search")] HttpRequest req, string org, CancellationToken cancellationToken)
    {
        var principal = await _auth.AuthenticateAsync(req.HttpContext, cancellationToken);
        return TypedResults.Ok(await _registries.SearchAsync(principal, org, Filter(req), cancellationToken));
    }

    /// <summary><c>q</c>, <c>type</c>, <c>tag</c>, <c>alias</c> and <c>metadata.&lt;key&gt;=&lt;value&gt;</c> query parameters.</summary>
    private static RegistryFilter Filter(HttpRequest req)
    {
        static string? One(HttpRequest r, string name) => r.Query[name].FirstOrDefault() is { Length: > 0 } v ? v : null;
        var metadata = req.Query
            .Where(q => q.Key.StartsWith("metadata.", StringComparison.Ordinal) && q.Key.Length > "metadata.".Length)
            .ToDictionary(q => q.Key["metadata.".Length..], q => q.Value.FirstOrDefault() ?? "", StringComparer.Ordinal);
        return new RegistryFilter(One(req, "q"), One(req, "type"), One(req, "tag"), One(req, "alias"), metadata);
    }
}
