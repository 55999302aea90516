using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Weightless.Core.Auth;
using Weightless.Core.Http;
using Weightless.Core.Query;
using Weightless.Core.Runs;

namespace Weightless.Query.Api;

/// <summary>What runs logged: history keys, scans, samples, M4 chart buckets, system metrics, console output and files.</summary>
internal sealed class HistoryFunctions
{
    private readonly Authenticator _auth;
    private readonly HistoryQueryService _history;

    public HistoryFunctions(Authenticator auth, HistoryQueryService history)
    {
        _auth = auth;
        _history = history;
    }

    [Function("GetHistoryKeys")]
    public async Task<IResult> GetHistoryKeys([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/entities/{entity}/projects/{project}/runs/{run}/history/keys")] HttpRequest req, string entity, string project, string run, CancellationToken cancellationToken)
    {
        var principal = await _auth.AuthenticateAsync(req.HttpContext, cancellationToken);
        return QueryParameters.Json(await _history.GetKeysAsync(principal, new RunKey(entity, project, run), cancellationToken));
    }

    [Function("ScanHistory")]
    public async Task<IResult> ScanHistory([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/entities/{entity}/projects/{project}/runs/{run}/history")] HttpRequest req, string entity, string project, string run, CancellationToken cancellationToken)
    {
        var principal = await _auth.AuthenticateAsync(req.HttpContext, cancellationToken);
        var limit = QueryParameters.Range(QueryParameters.Int(req, "limit"), 1000, 1, 10_000, "limit");
        return QueryParameters.Json(await _history.ScanAsync(principal, new RunKey(entity, project, run), QueryParameters.Long(req, "minStep"), QueryParameters.Long(req, "maxStep"), QueryParameters.List(req, "keys"), limit, QueryParameters.String(req, "cursor"), cancellationToken));
    }

    [Function("SampleHistory")]
    public async Task<IResult> SampleHistory([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/entities/{entity}/projects/{project}/runs/{run}/history/sampled")] HttpRequest req, string entity, string project, string run, CancellationToken cancellationToken)
    {
        var principal = await _auth.AuthenticateAsync(req.HttpContext, cancellationToken);
        var samples = QueryParameters.Range(QueryParameters.Int(req, "samples"), 500, 1, 100_000, "samples");
        return QueryParameters.Json(await _history.SampleAsync(principal, new RunKey(entity, project, run), QueryParameters.List(req, "keys") ?? [], samples, QueryParameters.Long(req, "minStep"), QueryParameters.Long(req, "maxStep"), cancellationToken));
    }

    [Function("QueryHistoryM4")]
    public async Task<IResult> QueryHistoryM4([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/v1/entities/{entity}/projects/{project}/runs/history/m4")] HttpRequest req, string entity, string project, CancellationToken cancellationToken)
    {
        var timing = new M4WireTiming();
        var principal = await _auth.AuthenticateAsync(req.HttpContext, cancellationToken);
        var (format, columns) = M4FormatOf(req);
        var body = await RequestBody.ReadJsonAsync<M4Request>(req, cancellationToken);
        timing.Phase("auth");
        return M4Answer(req, await _history.QueryM4Async(principal, entity, project, body, cancellationToken, timing), format, columns, timing);
    }

    /// <summary>One run's M4 buckets with the parameters in the query string (the POST form takes many runs).</summary>
    [Function("GetRunHistoryM4")]
    public async Task<IResult> GetRunHistoryM4([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/entities/{entity}/projects/{project}/runs/{run}/history/m4")] HttpRequest req, string entity, string project, string run, CancellationToken cancellationToken)
    {
        var timing = new M4WireTiming();
        var principal = await _auth.AuthenticateAsync(req.HttpContext, cancellationToken);
        var (format, columns) = M4FormatOf(req);
        var request = new M4Request([run], QueryParameters.List(req, "metrics"), QueryParameters.String(req, "xAxis"), QueryParameters.Double(req, "min"), QueryParameters.Double(req, "max"), QueryParameters.Int(req, "buckets"));
        timing.Phase("auth");
        return M4Answer(req, await _history.QueryM4Async(principal, entity, project, request, cancellationToken, timing), format, columns, timing);
    }

    /// <summary>The <c>format</c> (JSON by default, or <c>columns</c>) and the <c>columns</c> of a columns answer, checked before any reads.</summary>
    private static (string? Format, IReadOnlyList<string> Columns) M4FormatOf(HttpRequest req) =>
        (M4Wire.ParseFormat(QueryParameters.String(req, "format")), M4Wire.ParseColumns(QueryParameters.List(req, "columns")));

    /// <summary>The answer in its format; the columns answer carries the call's phases as a Server-Timing header.</summary>
    private static IResult M4Answer(HttpRequest req, M4Result response, string? format, IReadOnlyList<string> columns, M4WireTiming timing)
    {
        if (format is null)
        {
            return QueryParameters.Json(response);
        }
        var bytes = M4Wire.Encode(response, columns);
        timing.Phase("encode");
        req.HttpContext.Response.Headers[M4WireTiming.HeaderName] = timing.HeaderValue();
        return TypedResults.Bytes(bytes, M4Wire.ContentType);
    }

    /// <summary>The history keys of many runs of a project in one answer (what a workspace plans its panels from).</summary>
    [Function("QueryProjectHistoryKeys")]
    public async Task<IResult> QueryProjectHistoryKeys([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/v1/entities/{entity}/projects/{project}/runs/history/keys")] HttpRequest req, string entity, string project, CancellationToken cancellationToken)
    {
        var timing = new M4WireTiming();
        var principal = await _auth.AuthenticateAsync(req.HttpContext, cancellationToken);
        var body = await RequestBody.ReadJsonAsync<ProjectHistoryKeysRequest>(req, cancellationToken);
        timing.Phase("auth");
        var keys = await _history.GetKeysAsync(principal, entity, project, body.Runs, cancellationToken, body.First, timing);
        req.HttpContext.Response.Headers[M4WireTiming.HeaderName] = timing.HeaderValue();
        return QueryParameters.Json(keys);
    }

    [Function("GetSystemMetrics")]
    public async Task<IResult> GetSystemMetrics([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/entities/{entity}/projects/{project}/runs/{run}/system-metrics")] HttpRequest req, string entity, string project, string run, CancellationToken cancellationToken)
    {
        var principal = await _auth.AuthenticateAsync(req.HttpContext, cancellationToken);
        var samples = QueryParameters.Range(QueryParameters.Int(req, "samples"), 1000, 1, 100_000, "samples");
        return QueryParameters.Json(await _history.SystemMetricsAsync(principal, new RunKey(entity, project, run), QueryParameters.List(req, "keys"), samples, cancellationToken));
    }

    [Function("GetConsoleLog")]
    public async Task<IResult> GetConsoleLog([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/entities/{entity}/projects/{project}/runs/{run}/logs")] HttpRequest req, string entity, string project, string run, CancellationToken cancellationToken)
    {
        var principal = await _auth.AuthenticateAsync(req.HttpContext, cancellationToken);
        var limit = QueryParameters.Range(QueryParameters.Int(req, "limit"), 1000, 1, 10_000, "limit");
        return QueryParameters.Json(await _history.ConsoleAsync(principal, new RunKey(entity, project, run), QueryParameters.String(req, "cursor"), limit, cancellationToken));
    }

    [Function("ListRunFiles")]
    public async Task<IResult> ListRunFiles([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/entities/{entity}/projects/{project}/runs/{run}/files")] HttpRequest req, string entity, string project, string run, CancellationToken cancellationToken)
    {
        var principal = await _auth.AuthenticateAsync(req.HttpContext, cancellationToken);
        var limit = QueryParameters.Range(QueryParameters.Int(req, "limit"), 100, 1, 1000, "limit");
        return QueryParameters.Json(await _history.FilesAsync(principal, new RunKey(entity, project, run), QueryParameters.String(req, "cursor"), limit, cancellationToken));
    }
}
