using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Weightless.Core.Auth;
using Weightless.Core.Errors;
using Weightless.Core.History;
using Weightless.Core.Runs;
using Weightless.Core.Tenancy;

namespace Weightless.Core.Query;

/// <summary>
/// The REST API's reads of what runs logged: history keys, scans, samples, M4 chart buckets, system
/// metrics, console output and files. Every call checks the caller may view the entity and that the
/// run exists in the project.
/// </summary>
internal sealed class HistoryQueryService(RunQueryService runs, HistoryStore history, EventsStore events, ConsoleLogStore console, RunFileService files)
{
    public const int MaxM4Runs = 100;
    public const int MaxM4Metrics = 50;
    public const int MaxBuckets = 10_000;

    /// <summary>Runs read at once by one keys call, and by one M4 call on a real-valued x axis (which reads every row).</summary>
    public const int MaxConcurrentRuns = 16;

    /// <summary>Storage reads (about one per run × metric on a cold read) one M4 call on <c>_step</c> keeps in flight at most.</summary>
    public const int MaxM4ReadsInFlight = 400;

    /// <summary>Where M4 reads spend their time (the bench prints it).</summary>
    public M4QueryStats Stats { get; } = new();

    public async Task<HistoryKeysDto> GetKeysAsync(Principal principal, RunKey key, CancellationToken cancellationToken)
    {
        await runs.RequireRunAsync(principal, key, Role.Viewer, cancellationToken).ConfigureAwait(false);
        var keys = await history.GetKeysAsync(key, cancellationToken).ConfigureAwait(false);
        var lineCount = await history.GetLineCountAsync(key, cancellationToken).ConfigureAwait(false);
        return new HistoryKeysDto(keys.Keys.Select(k => new HistoryKeyDto(k, keys.TypeCounts(k))).ToList(), keys.LastStep, lineCount);
    }

    public const int MaxKeysRuns = 1000;

    /// <summary>
    /// The history keys of many runs of one project in one answer — what a workspace plans its chart
    /// panels from (one request instead of one per run): types with counts summed, how many of the runs
    /// logged each key, and each run's last step. Each run's key index is one point read.
    /// <para>
    /// Without run ids, <paramref name="first"/> names the project's first N runs in the runs list's default
    /// order (newest first): a workspace asks for its charted runs' keys together with the runs list instead
    /// of after it (the answer's <c>lastSteps</c> says which runs they were).
    /// </para>
    /// </summary>
    public async Task<ProjectHistoryKeysDto> GetKeysAsync(Principal principal, string entity, string project, IReadOnlyList<string>? runIds, CancellationToken cancellationToken, int? first = null, M4WireTiming? timing = null)
    {
        var ids = runIds?.Distinct(StringComparer.Ordinal).ToList() ?? [];
        var listed = false;
        if (ids.Count == 0 && first is { } firstCount)
        {
            if (firstCount is < 1 or > MaxKeysRuns)
            {
                throw new ValidationFailedException($"'first' must be 1–{MaxKeysRuns}.", "first");
            }
            var page = await runs.ListRunsAsync(principal, entity, project, new RunQuerySpec(null, RunQueryEngine.DefaultSort, firstCount, null), cancellationToken).ConfigureAwait(false);
            ids = page.Runs.Select(r => r.Id).ToList();
            listed = true;
            timing?.Phase("list");
            if (ids.Count == 0)
            {
                return new ProjectHistoryKeysDto([], new Dictionary<string, long?>(StringComparer.Ordinal));
            }
        }
        else if (ids.Count is 0 or > MaxKeysRuns || ids.Any(string.IsNullOrWhiteSpace))
        {
            throw new ValidationFailedException($"Name 1–{MaxKeysRuns} runs, or 'first'.", "runs");
        }
        if (!listed)
        {
            // (Runs the list gave are live runs of the project, and listing checked the caller's role.)
            await runs.RequireRunsAsync(principal, entity, project, ids, Role.Viewer, MaxConcurrentRuns, cancellationToken).ConfigureAwait(false);
            timing?.Phase("access");
        }
        var indexes = new KeyIndex[ids.Count];
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = MaxConcurrentRuns, CancellationToken = cancellationToken };
        await Parallel.ForEachAsync(Enumerable.Range(0, ids.Count), parallel, async (i, ct) =>
            indexes[i] = await history.GetKeysAsync(new RunKey(entity, project, ids[i]), ct).ConfigureAwait(false)).ConfigureAwait(false);
        timing?.Phase("keys");
        var merged = new SortedDictionary<string, (Dictionary<string, long> Types, int Runs)>(StringComparer.Ordinal);
        foreach (var index in indexes)
        {
            foreach (var name in index.Keys)
            {
                if (!merged.TryGetValue(name, out var entry))
                {
                    entry = (new Dictionary<string, long>(StringComparer.Ordinal), 0);
                }
                foreach (var (type, count) in index.TypeCounts(name))
                {
                    entry.Types[type] = entry.Types.GetValueOrDefault(type) + count;
                }
                merged[name] = (entry.Types, entry.Runs + 1);
            }
        }
        var keys = merged.Select(k => new ProjectHistoryKeyDto(k.Key, k.Value.Types, k.Value.Runs)).ToList();
        var lastSteps = ids.Select((id, i) => (id, indexes[i].LastStep)).ToDictionary(p => p.id, p => p.LastStep, StringComparer.Ordinal);
        return new ProjectHistoryKeysDto(keys, lastSteps);
    }

    /// <summary>Rows with <c>_step</c> in [minStep, maxStep], at most <paramref name="limit"/>; the cursor is the next step to read.</summary>
    public async Task<HistoryPageDto> ScanAsync(Principal principal, RunKey key, long? minStep, long? maxStep, IReadOnlyList<string>? keys, int limit, string? cursor, CancellationToken cancellationToken)
    {
        await runs.RequireRunAsync(principal, key, Role.Viewer, cancellationToken).ConfigureAwait(false);
        var from = minStep;
        if (cursor is not null)
        {
            if (!long.TryParse(cursor, NumberStyles.None, CultureInfo.InvariantCulture, out var next))
            {
                throw new ValidationFailedException("The cursor is not one this API issued.", "cursor");
            }
            from = next;
        }
        var rows = new List<JsonObject>();
        string? nextCursor = null;
        await foreach (var row in history.Stream.ReadRowsAsync(key, from, maxStep, cancellationToken).ConfigureAwait(false))
        {
            if (rows.Count == limit)
            {
                nextCursor = row.Step!.Value.ToString(CultureInfo.InvariantCulture);
                break;
            }
            rows.Add(Project(row, keys));
        }
        return new HistoryPageDto(rows, nextCursor);
    }

    public async Task<SampledHistoryDto> SampleAsync(Principal principal, RunKey key, IReadOnlyList<string> keys, int samples, long? minStep, long? maxStep, CancellationToken cancellationToken)
    {
        if (keys.Count == 0)
        {
            throw new ValidationFailedException("Name at least one key.", "keys");
        }
        await runs.RequireRunAsync(principal, key, Role.Viewer, cancellationToken).ConfigureAwait(false);
        var matching = new List<HistoryRow>();
        await foreach (var row in history.Stream.ReadRowsAsync(key, minStep, maxStep, cancellationToken).ConfigureAwait(false))
        {
            if (keys.All(row.Flat.ContainsKey))
            {
                matching.Add(row);
            }
        }
        return new SampledHistoryDto(HistoryStore.EvenSample(matching, samples).Select(r => Project(r, keys)).ToList(), matching.Count);
    }

    /// <summary>
    /// Exact M4 buckets for every run × metric, as the engine made them: both answers are written straight from
    /// them (<see cref="M4Wire"/>, <see cref="M4ResultJsonConverter"/>). On <c>_step</c> the history engine answers from rollups (raw rows only at the range edges); on
    /// any other x axis the buckets are computed from the rows.
    /// <para>
    /// The caller's role and the project are checked first; then each run's existence (one point read per run)
    /// is checked concurrently with the history reads, which would otherwise wait a whole round of point reads for
    /// it. Nothing leaves before every run is confirmed: a missing run is a 404 naming it, and the reads made
    /// meanwhile are dropped.
    /// </para>
    /// </summary>
    public async Task<M4Result> QueryM4Async(Principal principal, string entity, string project, M4Request request, CancellationToken cancellationToken, M4WireTiming? timing = null)
    {
        var runIds = request.Runs?.Distinct(StringComparer.Ordinal).ToList() ?? [];
        var metrics = request.Metrics?.Distinct(StringComparer.Ordinal).ToList() ?? [];
        if (runIds.Count is 0 or > MaxM4Runs)
        {
            throw new ValidationFailedException($"Name 1–{MaxM4Runs} runs.", "runs");
        }
        if (metrics.Count is 0 or > MaxM4Metrics || metrics.Any(string.IsNullOrWhiteSpace))
        {
            throw new ValidationFailedException($"Name 1–{MaxM4Metrics} metrics.", "metrics");
        }
        var buckets = request.Buckets ?? 1000;
        if (buckets is < 1 or > MaxBuckets)
        {
            throw new ValidationFailedException($"'buckets' must be 1–{MaxBuckets}.", "buckets");
        }
        if (request.Min is { } lo && request.Max is { } hi && hi < lo)
        {
            throw new ValidationFailedException("'max' must not be below 'min'.", "max");
        }
        var xAxis = string.IsNullOrWhiteSpace(request.XAxis) ? HistoryValues.StepKey : request.XAxis.Trim();
        var keys = runIds.Select(id => new RunKey(entity, project, id)).ToList();
        IReadOnlyList<M4SeriesResult>? series = null;
        await runs.RequireRunsAsync(principal, entity, project, runIds, Role.Viewer, MaxM4Runs, cancellationToken, async ct =>
        {
            timing?.Phase("access");
            series = xAxis == HistoryValues.StepKey
                ? await StepM4Async(keys, metrics, request, buckets, timing, ct).ConfigureAwait(false)
                : await ValueM4Async(keys, metrics, xAxis, request, buckets, ct).ConfigureAwait(false);
            timing?.Phase("read");
        }).ConfigureAwait(false);
        // (Only when the run existence reads outlast the history reads.)
        timing?.Phase("runs");
        return new M4Result(xAxis, buckets, series!);
    }

    /// <summary>
    /// M4 on <c>_step</c>: every run's state (one point read each, all at once), one plan for all of them, then
    /// one pass per run serving every metric (rollup snapshots or pages plus raw edges). The work is storage round
    /// trips (a point read per metric on a cold read), so runs are not read a few at a time but as many as keep
    /// about <see cref="MaxM4ReadsInFlight"/> reads in flight: every run of a 10 × 20 or 20 × 5 chart at once, while a
    /// 100 × 50 call does not open thousands of connections at once.
    /// </summary>
    private async Task<IReadOnlyList<M4SeriesResult>> StepM4Async(List<RunKey> keys, List<string> metrics, M4Request request, int buckets, M4WireTiming? timing, CancellationToken cancellationToken)
    {
        var extents = await Task.WhenAll(keys.Select(k => history.GetM4ExtentAsync(k, cancellationToken))).ConfigureAwait(false);
        timing?.Phase("extent");
        var minStep = (long)Math.Max(0, Math.Ceiling(request.Min ?? 0));
        var dataMax = extents.Max(e => e.LastStep ?? -1);
        var maxStep = request.Max is { } m ? (long)Math.Floor(Math.Min(m, long.MaxValue / 2)) : dataMax;
        // Every run is planned with the levels all of them have, so the series share bucket boundaries.
        var levels = extents.Min(e => e.Levels);
        var source = M4Levels.PlanQuery(minStep, Math.Max(minStep, maxStep), buckets, levels).IsRaw ? "raw" : "rollup";
        var results = new IReadOnlyDictionary<string, IReadOnlyList<M4Bucket>>[keys.Count];
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, MaxM4ReadsInFlight / metrics.Count), CancellationToken = cancellationToken };
        await Parallel.ForEachAsync(Enumerable.Range(0, keys.Count), parallel, async (r, ct) =>
            results[r] = await history.QueryM4Async(keys[r], metrics, minStep, maxStep, buckets, extents[r] with { Levels = levels }, Stats, ct).ConfigureAwait(false)).ConfigureAwait(false);
        var series = new List<M4SeriesResult>(keys.Count * metrics.Count);
        for (var r = 0; r < keys.Count; r++)
        {
            foreach (var metric in metrics)
            {
                series.Add(new M4SeriesResult(keys[r].RunId, metric, source, results[r][metric], null));
            }
        }
        return series;
    }

    /// <summary>M4 over a real-valued x axis: every run's rows read, equal-width buckets over the range all runs share.</summary>
    private async Task<IReadOnlyList<M4SeriesResult>> ValueM4Async(List<RunKey> keys, List<string> metrics, string xAxis, M4Request request, int buckets, CancellationToken cancellationToken)
    {
        var points = new List<(double X, double Y)>[keys.Count, metrics.Count];
        var ranges = new (double Min, double Max)[keys.Count];
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = MaxConcurrentRuns, CancellationToken = cancellationToken };
        await Parallel.ForEachAsync(Enumerable.Range(0, keys.Count), parallel, async (r, ct) =>
        {
            double runMin = double.PositiveInfinity, runMax = double.NegativeInfinity;
            for (var mi = 0; mi < metrics.Count; mi++)
            {
                points[r, mi] = [];
            }
            await foreach (var row in history.Stream.ReadRowsAsync(keys[r], null, null, ct).ConfigureAwait(false))
            {
                if (!row.Flat.TryGetValue(xAxis, out var xValue) || HistoryValues.AsNumber(xValue) is not { } x || !double.IsFinite(x))
                {
                    continue;
                }
                for (var mi = 0; mi < metrics.Count; mi++)
                {
                    if (row.Flat.TryGetValue(metrics[mi], out var yValue) && HistoryValues.AsNumber(yValue) is { } y)
                    {
                        points[r, mi].Add((x, y));
                        runMin = Math.Min(runMin, x);
                        runMax = Math.Max(runMax, x);
                    }
                }
            }
            ranges[r] = (runMin, runMax);
        }).ConfigureAwait(false);
        var dataMin = ranges.Min(r => r.Min);
        var dataMax = ranges.Max(r => r.Max);
        var min = request.Min ?? (double.IsFinite(dataMin) ? dataMin : 0);
        var max = request.Max ?? (double.IsFinite(dataMax) ? dataMax : min);
        var series = new List<M4SeriesResult>(keys.Count * metrics.Count);
        for (var r = 0; r < keys.Count; r++)
        {
            for (var mi = 0; mi < metrics.Count; mi++)
            {
                series.Add(new M4SeriesResult(keys[r].RunId, metrics[mi], "raw", null, XM4.Compute(points[r, mi], min, max, buckets)));
            }
        }
        return series;
    }

    public async Task<SystemMetricsDto> SystemMetricsAsync(Principal principal, RunKey key, IReadOnlyList<string>? keys, int samples, CancellationToken cancellationToken)
    {
        await runs.RequireRunAsync(principal, key, Role.Viewer, cancellationToken).ConfigureAwait(false);
        var index = await events.GetKeysAsync(key, cancellationToken).ConfigureAwait(false);
        var rows = await events.ReadRowsAsync(key, cancellationToken).ConfigureAwait(false);
        var matching = keys is null ? rows : rows.Where(r => keys.Any(r.Flat.ContainsKey)).ToList();
        var sampled = HistoryStore.EvenSample(matching, samples);
        var projection = keys is null ? null : (IReadOnlyList<string>)[.. keys, "_runtime", "_timestamp"];
        return new SystemMetricsDto(keys ?? index.Keys.ToList(), sampled.Select(r => Project(r, projection)).ToList(), matching.Count);
    }

    public async Task<LogPageDto> ConsoleAsync(Principal principal, RunKey key, string? cursor, int limit, CancellationToken cancellationToken)
    {
        await runs.RequireRunAsync(principal, key, Role.Viewer, cancellationToken).ConfigureAwait(false);
        long from = 0;
        if (cursor is not null && !long.TryParse(cursor, NumberStyles.None, CultureInfo.InvariantCulture, out from))
        {
            throw new ValidationFailedException("The cursor is not one this API issued.", "cursor");
        }
        var lines = await console.ReadAsync(key, from, limit + 1, cancellationToken).ConfigureAwait(false);
        var count = await console.GetLineCountAsync(key, cancellationToken).ConfigureAwait(false);
        var page = lines.Take(limit).Select(l => new LogLineDto(l.Index, l.Text, l.IsStderr ? "stderr" : "stdout")).ToList();
        var next = lines.Count > limit ? lines[limit].Index.ToString(CultureInfo.InvariantCulture) : null;
        return new LogPageDto(page, count, next);
    }

    public async Task<FilePageDto> FilesAsync(Principal principal, RunKey key, string? cursor, int limit, CancellationToken cancellationToken)
    {
        await runs.RequireRunAsync(principal, key, Role.Viewer, cancellationToken).ConfigureAwait(false);
        var (list, hasMore) = await files.ListAsync(key, cursor, limit, cancellationToken).ConfigureAwait(false);
        var result = new List<RunFileDto>();
        foreach (var file in list)
        {
            var url = await files.DownloadUrlAsync(key, file.Name, cancellationToken).ConfigureAwait(false);
            result.Add(new RunFileDto(file.Name, file.SizeBytes, file.Md5, file.UpdatedAt, file.ContentType, url.ToString()));
        }
        return new FilePageDto(result, hasMore && result.Count > 0 ? result[^1].Name : null);
    }

    /// <summary>A row's flattened values (only <paramref name="keys"/> and <c>_step</c> when given), strict JSON.</summary>
    public static JsonObject Project(HistoryRow row, IReadOnlyList<string>? keys)
    {
        var result = new JsonObject();
        if (keys is null)
        {
            foreach (var (name, value) in row.Flat)
            {
                result[name] = JsonText.ToApiNode(value);
            }
            return result;
        }
        if (row.Flat.TryGetValue(HistoryValues.StepKey, out var step))
        {
            result[HistoryValues.StepKey] = JsonText.ToApiNode(step);
        }
        foreach (var name in keys)
        {
            if (row.Flat.TryGetValue(name, out var value))
            {
                result[name] = JsonText.ToApiNode(value);
            }
        }
        return result;
    }
}

/// <summary>
/// One series of an M4 answer as the engine made it: step buckets (<paramref name="Steps"/>, x axis <c>_step</c>) or
/// buckets over a real-valued x axis (<paramref name="Values"/>); exactly one is set. Both answers are written
/// straight from them.
/// </summary>
internal sealed record M4SeriesResult(string Run, string Metric, string Source, IReadOnlyList<M4Bucket>? Steps, IReadOnlyList<M4BucketDto>? Values)
{
    public int Count => Steps?.Count ?? Values!.Count;

    /// <summary>Bucket <paramref name="index"/> as both answers write it, whichever kind the series holds.</summary>
    public M4WireBucket Bucket(int index)
    {
        if (Steps is { } steps)
        {
            var b = steps[index];
            return new(b.StartStep, b.EndStep, b.Count, b.NonFiniteCount, XY(b.First), XY(b.Last), XY(b.Min), XY(b.Max));
        }
        var v = Values![index];
        return new(v.Start, v.End, v.Count, v.NonFinite, XY(v.First), XY(v.Last), XY(v.Min), XY(v.Max));
    }

    private static (double X, double Y)? XY(M4Point? point) => point is { } p ? (p.Step, p.Value) : null;

    private static (double X, double Y)? XY(M4PointDto? point) => point is { } p ? (p.X, p.Y) : null;

    public M4SeriesDto ToDto() => new(Run, Metric, Values ?? Steps!.Select(ToDto).ToList(), Source);

    private static M4BucketDto ToDto(M4Bucket b) => new(
        b.StartStep, b.EndStep, b.Count, b.NonFiniteCount, Point(b.First), Point(b.Last), Point(b.Min), Point(b.Max));

    private static M4PointDto? Point(M4Point? p) => p is { } point ? new M4PointDto(point.Step, point.Value) : null;
}

/// <summary>One bucket as the answers write it (steps or real-valued x alike); points are absent where the bucket has none.</summary>
internal readonly record struct M4WireBucket(double Start, double End, long Count, long NonFinite, (double X, double Y)? First, (double X, double Y)? Last, (double X, double Y)? Min, (double X, double Y)? Max);

/// <summary>An M4 answer as the engine made it (see <see cref="M4SeriesResult"/>); as JSON it is exactly its <see cref="ToDto"/>.</summary>
[JsonConverter(typeof(M4ResultJsonConverter))]
internal sealed record M4Result(string XAxis, int Buckets, IReadOnlyList<M4SeriesResult> Series)
{
    public M4ResponseDto ToDto() => new(XAxis, Buckets, Series.Select(s => s.ToDto()).ToList());

    /// <summary>The answer a JSON answer describes (its buckets as real-valued ones).</summary>
    public static M4Result From(M4ResponseDto response) =>
        new(response.XAxis, response.Buckets, response.Series.Select(s => new M4SeriesResult(s.Run, s.Metric, s.Source, null, s.Buckets)).ToList());
}

/// <summary>
/// Writes an <see cref="M4Result"/> as the JSON answer (<see cref="M4ResponseDto"/>'s shape, names and number
/// format, points left out when absent) straight from the engine's buckets: a chart answer of 100 series × 1,000
/// buckets would otherwise first build half a million DTO objects to be written once.
/// </summary>
internal sealed class M4ResultJsonConverter : JsonConverter<M4Result>
{
    public override M4Result Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        throw new NotSupportedException("M4 answers are written, not read.");

    public override void Write(Utf8JsonWriter writer, M4Result value, JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        writer.WriteString("xAxis", value.XAxis);
        writer.WriteNumber("buckets", value.Buckets);
        writer.WriteStartArray("series");
        foreach (var series in value.Series)
        {
            writer.WriteStartObject();
            writer.WriteString("run", series.Run);
            writer.WriteString("metric", series.Metric);
            writer.WriteStartArray("buckets");
            for (var i = 0; i < series.Count; i++)
            {
                Bucket(writer, series.Bucket(i));
            }
            writer.WriteEndArray();
            writer.WriteString("source", series.Source);
            writer.WriteEndObject();
        }
        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    /// <summary>One bucket object: its bounds, counts and the points it has.</summary>
    private static void Bucket(Utf8JsonWriter writer, M4WireBucket bucket)
    {
        writer.WriteStartObject();
        Number(writer, "start", bucket.Start);
        Number(writer, "end", bucket.End);
        writer.WriteNumber("count", bucket.Count);
        writer.WriteNumber("nonFinite", bucket.NonFinite);
        Point(writer, "first", bucket.First);
        Point(writer, "last", bucket.Last);
        Point(writer, "min", bucket.Min);
        Point(writer, "max", bucket.Max);
        writer.WriteEndObject();
    }

    private static void Point(Utf8JsonWriter writer, string name, (double X, double Y)? point)
    {
        if (point is not { } p)
        {
            return;
        }
        writer.WriteStartObject(name);
        Number(writer, "x", p.X);
        Number(writer, "y", p.Y);
        writer.WriteEndObject();
    }

    /// <summary>A number as the answer's serializer options write it (non-finite values as their named literals; M4 points are finite).</summary>
    private static void Number(Utf8JsonWriter writer, string name, double value)
    {
        if (double.IsFinite(value))
        {
            writer.WriteNumber(name, value);
        }
        else
        {
            writer.WriteString(name, double.IsNaN(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity");
        }
    }
}

/// <summary>M4 over a real-valued x axis (<c>_runtime</c>, <c>_timestamp</c>, custom step metrics): equal-width buckets over [min, max].</summary>
internal static class XM4
{
    public static List<M4BucketDto> Compute(IEnumerable<(double X, double Y)> points, double min, double max, int buckets)
    {
        var width = max > min ? (max - min) / buckets : 1;
        var accumulators = new SortedDictionary<int, Accumulator>();
        foreach (var (x, y) in points)
        {
            if (x < min || x > max)
            {
                continue;
            }
            var index = Math.Min(buckets - 1, (int)Math.Floor((x - min) / width));
            accumulators.TryGetValue(index, out var a);
            a.Add(x, y);
            accumulators[index] = a;
        }
        return accumulators.Select(kv =>
        {
            var a = kv.Value;
            var start = min + kv.Key * width;
            var end = kv.Key == buckets - 1 ? Math.Max(max, start + width) : min + (kv.Key + 1) * width;
            return a.HasPoints
                ? new M4BucketDto(start, end, a.Count, a.NonFinite, a.First, a.Last, a.Min, a.Max)
                : new M4BucketDto(start, end, a.Count, a.NonFinite, null, null, null, null);
        }).ToList();
    }

    private struct Accumulator
    {
        public long Count;
        public long NonFinite;
        public bool HasPoints;
        public M4PointDto First;
        public M4PointDto Last;
        public M4PointDto Min;
        public M4PointDto Max;

        public void Add(double x, double y)
        {
            Count++;
            if (!double.IsFinite(y))
            {
                NonFinite++;
                return;
            }
            var p = new M4PointDto(x, y);
            if (!HasPoints)
            {
                HasPoints = true;
                First = Last = Min = Max = p;
                return;
            }
            if (x < First.X) { First = p; }
            if (x >= Last.X) { Last = p; }
            if (y < Min.Y || (y == Min.Y && x < Min.X)) { Min = p; }
            if (y > Max.Y || (y == Max.Y && x < Max.X)) { Max = p; }
        }
    }
}
