using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Weightless.Core.Auth;
using Weightless.Core.Query;
using Weightless.Core.Runs;

namespace Weightless.Query.Api;

/// <summary>Streamed exports: the runs table (CSV, JSON lines) and a run's history (CSV, JSON lines, Parquet).</summary>
internal sealed class ExportFunctions
{
    private readonly Authenticator _auth;
    private readonly ExportService _exports;

    public ExportFunctions(Authenticator auth, ExportService exports)
    {
        _auth = auth;
        _exports = exports;
    }

    [Function("ExportRuns")]
    public async Task<IResult> ExportRuns([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/entities/{entity}/projects/{project}/runs/export")] HttpRequest req, string entity, string project, CancellationToken cancellationToken)
    {
        var principal = await _auth.AuthenticateAsync(req.HttpContext, cancellationToken);
        var format = ExportService.ParseFormat(QueryParameters.String(req, "format"), allowParquet: false);
        var export = await _exports.ExportRunsAsync(principal, entity, project, format, RunFilter.Parse(QueryParameters.String(req, "filter")), RunQueryEngine.ParseSort(QueryParameters.List(req, "sort")), QueryParameters.Bool(req, "includeDeleted"), cancellationToken);
        return Stream(export, cancellationToken);
    }

    [Function("ExportHistory")]
    public async Task<IResult> ExportHistory([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/entities/{entity}/projects/{project}/runs/{run}/history/export")] HttpRequest req, string entity, string project, string run, CancellationToken cancellationToken)
    {
        var principal = await _auth.AuthenticateAsync(req.HttpContext, cancellationToken);
        var format = ExportService.ParseFormat(QueryParameters.String(req, "format"), allowParquet: true);
        var export = await _exports.ExportHistoryAsync(principal, new RunKey(entity, project, run), format, QueryParameters.List(req, "keys"), QueryParameters.Long(req, "minStep"), QueryParameters.Long(req, "maxStep"), cancellationToken);
        return Stream(export, cancellationToken);
    }

    private static IResult Stream(ExportStream export, CancellationToken cancellationToken) =>
        TypedResults.Stream(stream => export.WriteAsync(stream, cancellationToken), export.ContentType, export.FileName);
}
