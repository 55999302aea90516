using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Weightless.Core.GraphQL;
using Weightless.Core.Runs;

namespace Weightless.Ingest;

/// <summary>The two endpoints the W&amp;B clients call: GraphQL and file_stream.</summary>
internal sealed class WandbFunctions
{
    private readonly GraphQLEndpoint _graphql;
    private readonly FileStreamHandler _fileStream;

    public WandbFunctions(GraphQLEndpoint graphql, FileStreamHandler fileStream)
    {
        _graphql = graphql;
        _fileStream = fileStream;
    }

    [Function("GraphQL")]
    public Task<IResult> GraphQL([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "graphql")] HttpRequest req, CancellationToken cancellationToken) =>
        _graphql.HandleAsync(req.HttpContext, cancellationToken);

    [Function("FileStream")]
    public async Task<IResult> FileStream(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "files/{entity}/{project}/{run}/file_stream")] HttpRequest req,
        string entity,
        string project,
        string run,
        CancellationToken cancellationToken) =>
        TypedResults.Ok(await _fileStream.HandleAsync(req.HttpContext, entity, project, run, cancellationToken));
}
