using Azure.Data.Tables;
using Weightless.Core.Runs;

namespace Weightless.Core.History;

/// <summary>What appending history did.</summary>
/// <param name="LineCount">Distinct history line indexes stored (W&amp;B <c>historyLineCount</c>).</param>
/// <param name="LastStep">The last effective <c>_step</c>, or null before the first row.</param>
/// <param name="KeysAdded">Keys this append added to the key index.</param>
internal sealed record HistoryAppendResult(long LineCount, long? LastStep, int KeysAdded);

/// <summary>
/// A run's metrics history (<c>wandb-history.jsonl</c>): chunked verbatim lines, key index, step
/// index and M4 rollups in table <c>history</c> (see <see cref="LineStream"/> for keys and rules).
/// </summary>
internal sealed class HistoryStore
{
    public const string TableName = "history";
    public const string ArchiveTableName = "historyarchive";

    private readonly LineStream _stream;
    private readonly TimeProvider _time;
    private readonly RollupPageCache _pages = new();
    private readonly RawSeriesCache _raw = new();

    public HistoryStore(Storage.StorageAccount storage, TimeProvider time, Microsoft.Extensions.Options.IOptions<HistoryOptions>? options = null)
    {
        _stream = new LineStream(storage, TableName, stepped: true, options?.Value);
        _time = time;
    }

    internal LineStream Stream => _stream;

    public async Task<HistoryAppendResult> AppendHistoryAsync(RunKey run, long offset, IReadOnlyList<string> lines, CancellationToken cancellationToken = default)
    {
        var result = await _stream.AppendAsync(run, offset, lines, cancellationToken).ConfigureAwait(false);
        return new HistoryAppendResult(result.LineCount, result.LastStep, result.KeysAdded);
    }

    /// <summary>
    /// Writes the run's pending rollup pages (see <see cref="HistoryOptions"/>): a completing run calls it so
    /// its charts read pages only. Readers are exact without it.
    /// </summary>
    public async Task FlushRollupsAsync(RunKey run, CancellationToken cancellationToken = default) =>
        await _stream.FlushAsync(run, cancellationToken).ConfigureAwait(false);

    /// <summary>Stored lines [fromLine, fromLine + max), verbatim (gaps skipped).</summary>
    public Task<List<StoredLine>> ReadLinesAsync(RunKey run, long fromLine, int max, CancellationToken cancellationToken = default) =>
        _stream.ReadLinesAsync(run, fromLine, max, cancellationToken);

    public Task<long> GetLineCountAsync(RunKey run, CancellationToken cancellationToken = default) =>
        _stream.LineCountAsync(run, cancellationToken);

    /// <summary>The key index (W&amp;B <c>historyKeys</c> via <see cref="KeyIndex.ToHistoryKeys"/>).</summary>
    public async Task<KeyIndex> GetKeysAsync(RunKey run, CancellationToken cancellationToken = default) =>
        (await _stream.ReadStateAsync(run, cancellationToken).ConfigureAwait(false)).Keys;

    /// <summary>
    /// Effective rows with <c>_step</c> in [minStep, maxStep] (null = open), in step order. Each row has
    /// a flattened view (<see cref="HistoryRow.Flat"/>) and its nested shape (<see cref="HistoryRow.ToNested"/>).
    /// </summary>
    public async Task<IReadOnlyList<HistoryRow>> ReadRowsAsync(RunKey run, long? minStep, long? maxStep, CancellationToken cancellationToken = default)
    {
        var rows = new List<HistoryRow>();
        await foreach (var row in _stream.ReadRowsAsync(run, minStep, maxStep, cancellationToken).ConfigureAwait(false))
        {
            rows.Add(row);
        }
        return rows;
    }

    /// <summary>
    /// W&amp;B <c>sampledHistory</c>: the rows holding every one of <paramref name="keys"/>, evenly
    /// sampled down to <paramref name="samples"/> (always keeping the first and last), each reduced
    /// to those keys plus <c>_step</c> (flattened names).
    /// </summary>
    public async Task<IReadOnlyList<IReadOnlyDictionary<string, object?>>> SampleAsync(RunKey run, IReadOnlyList<string> keys, int samples, CancellationToken cancellationToken = default)
    {
        var matching = new List<IReadOnlyDictionary<string, object?>>();
        await foreach (var row in _stream.ReadRowsAsync(run, null, null, cancellationToken).ConfigureAwait(false))
        {
            if (!keys.All(row.Flat.ContainsKey))
            {
                continue;
            }
            var reduced = new Dictionary<string, object?>(StringComparer.Ordinal) { [HistoryValues.StepKey] = row.Step };
            foreach (var key in keys)
            {
                reduced[key] = row.Flat[key];
            }
            matching.Add(reduced);
        }
        return EvenSample(matching, samples);
    }

    /// <summary>Indexes round(i * (n - 1) / (s - 1)) for i in 0..s-1: evenly spread, first and last included.</summary>
    internal static List<T> EvenSample<T>(IReadOnlyList<T> items, int samples)
    {
        if (samples <= 0)
        {
            return [];
        }
        if (items.Count <= samples)
        {
            return [.. items];
        }
        if (samples == 1)
        {
            return [items[^1]];
        }
        var result = new List<T>(samples);
        for (var i = 0; i < samples; i++)
        {
            var index = (int)Math.Round(i * (double)(items.Count - 1) / (samples - 1), MidpointRounding.AwayFromZero);
            result.Add(items[index]);
        }
        return result;
    }

    /// <summary>
    /// Exact M4 of <paramref name="metric"/> over steps [minStep, maxStep]: identical to computing it from
    /// every raw row in the range with the returned bucket boundaries (see <see cref="M4Levels.PlanQuery"/>).
    /// Empty buckets are omitted.
    /// </summary>
    public async Task<IReadOnlyList<M4Bucket>> QueryM4Async(RunKey run, string metric, long minStep, long maxStep, int buckets, CancellationToken cancellationToken = default) =>
        (await QueryM4Async(run, [metric], minStep, maxStep, buckets, null, null, cancellationToken).ConfigureAwait(false))[metric];

    /// <summary>What M4 planning needs from a run's derived state (one point read).</summary>
    public async Task<M4RunExtent> GetM4ExtentAsync(RunKey run, CancellationToken cancellationToken = default)
    {
        var state = await _stream.ReadStateAsync(run, cancellationToken).ConfigureAwait(false);
        return new M4RunExtent(state.FirstStep, state.MaxStep, state.Applied, state.RollupLevels, state.ETag, state.RollupApplied, state.RollupMaxStep);
    }

    /// <summary>
    /// Exact M4 of each of <paramref name="metrics"/> over steps [minStep, maxStep] in one pass over the run:
    /// level buckets inside the range come from the plan's rollup level (one page range read for every
    /// metric, split into concurrent reads when large), and so do the partial level buckets at the ends
    /// where the run has no data beyond the range (its first/last step, from <paramref name="extent"/>,
    /// read when not given); other partial ends come from raw rows read concurrently with the pages.
    /// Pages count only through the rollup watermark's last step (<see cref="M4RunExtent.PagesLastStep"/>): the
    /// steps after it (rollups still pending on the writer) come from raw rows too, so a streaming run is exact.
    /// <paramref name="stats"/>, when given, collects where the time went.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, IReadOnlyList<M4Bucket>>> QueryM4Async(RunKey run, IReadOnlyList<string> metrics, long minStep, long maxStep, int buckets, M4RunExtent? extent, M4QueryStats? stats, CancellationToken cancellationToken = default)
    {
        var result = new Dictionary<string, IReadOnlyList<M4Bucket>>(StringComparer.Ordinal);
        if (maxStep < minStep)
        {
            foreach (var metric in metrics)
            {
                result[metric] = [];
            }
            return result;
        }
        var runExtent = extent ?? await GetM4ExtentAsync(run, cancellationToken).ConfigureAwait(false);
        var plan = M4Levels.PlanQuery(minStep, maxStep, buckets, runExtent.Levels);
        if (!plan.IsRaw)
        {
            plan = plan with
            {
                NoDataBefore = runExtent.FirstStep is { } first && minStep <= first,
                NoDataAfter = maxStep >= (runExtent.LastStep ?? -1),
            };
        }
        var (rollupStart, rollupEnd) = plan.RollupSpan();
        // Pages hold the steps through PagesLastStep: the span ends after it (mid-bucket: the pages hold that
        // bucket's steps up to it, raw rows the rest).
        rollupEnd = runExtent.PagesLastStep is { } pagesLast ? Math.Min(rollupEnd, pagesLast + 1) : rollupStart;
        var rawRanges = new List<(long From, long To)>();
        Task<RollupRead>? rollupRead = null;
        if (rollupStart < rollupEnd)
        {
            var firstPage = M4Levels.PageIndex(rollupStart / plan.LevelWidth);
            var lastPage = M4Levels.PageIndex(M4Levels.FloorDiv(rollupEnd - 1, plan.LevelWidth));
            rollupRead = ReadRollupAsync(run, plan.Level, firstPage, lastPage, metrics, runExtent, stats, cancellationToken);
            if (minStep < rollupStart)
            {
                rawRanges.Add((minStep, rollupStart - 1));
            }
            // Steps after the span, up to the run's last step as the extent saw it (none past it: the span then
            // ends at the last step, as every page is written).
            if (rollupEnd <= Math.Min(maxStep, runExtent.LastStep ?? maxStep))
            {
                rawRanges.Add((rollupEnd, maxStep));
            }
        }
        else
        {
            rawRanges.Add((minStep, maxStep));
        }
        var rawReads = rawRanges.Select(r => Timed(stats, M4Stage.RawRead, ReadPointsAsync(run, metrics, r.From, r.To, runExtent, cancellationToken))).ToList();
        await Task.WhenAll(rawReads.Cast<Task>().Append(rollupRead ?? Task.CompletedTask)).ConfigureAwait(false);

        var levelBuckets = rollupRead is null ? metrics.Select(_ => new List<(long, M4Accumulator)>()).ToArray() : rollupRead.Result.Buckets;
        // A span ending mid-bucket takes that bucket's steps up to the rollup watermark's last step from its
        // page; a page that absorbed later lines (a flush landing meanwhile) may hold steps past it. The read's
        // last page is the one holding that bucket: then the bucket comes from raw rows instead.
        var alignedEnd = M4Levels.FloorDiv(rollupEnd, plan.LevelWidth) * plan.LevelWidth;
        if (rollupRead is not null && alignedEnd < rollupEnd && rollupRead.Result.LastPageApplied > runExtent.PagesApplied)
        {
            rawReads.Add(Timed(stats, M4Stage.RawRead, ReadPointsAsync(run, metrics, Math.Max(alignedEnd, minStep), rollupEnd - 1, null, cancellationToken)));
            await rawReads[^1].ConfigureAwait(false);
            rollupEnd = Math.Max(rollupStart, alignedEnd);
        }
        var watch = System.Diagnostics.Stopwatch.StartNew();
        for (var i = 0; i < metrics.Count; i++)
        {
            result[metrics[i]] = M4Compute.Combine(plan, rollupStart, rollupEnd, levelBuckets[i], rawReads.SelectMany(r => r.Result[i]));
        }
        stats?.Add(M4Stage.Combine, watch.Elapsed, metrics.Count);
        return result;
    }

    private const int MaxEntitiesPerRead = 1000;

    /// <summary>
    /// The level's buckets in pages [firstPage, lastPage] of <paramref name="metrics"/>, decoded, cheapest source
    /// first: what this instance decoded under the same state ETag (<see cref="_pages"/>), then stored snapshots
    /// under that ETag (<see cref="RollupSnapshot"/>: one point read per metric, decoded straight from the snapshot's
    /// bytes), then a page range query for the metrics still missing — which, when it covers all of the run's pages
    /// at the level, stores their snapshots so the next cold read (a new instance, an evicted cache) needs point
    /// reads only.
    /// </summary>
    private async Task<RollupRead> ReadRollupAsync(RunKey run, int level, long firstPage, long lastPage, IReadOnlyList<string> metrics, M4RunExtent extent, M4QueryStats? stats, CancellationToken cancellationToken)
    {
        // Sized for every slot of the pages up front: a list grown by doubling copies its (large-object-heap) arrays.
        var capacity = (int)Math.Min((lastPage - firstPage + 1) * M4Levels.PageSlots, 1 << 16);
        var buckets = metrics.Select(_ => new List<(long, M4Accumulator)>(capacity)).ToArray();
        if (extent.StateETag is not { } etag)
        {
            var all = await QueryPagesAsync(run, level, firstPage, lastPage, metrics, stats, cancellationToken).ConfigureAwait(false);
            return new RollupRead(buckets, Decode(all, metrics, Enumerable.Range(0, metrics.Count), buckets, level, lastPage, stats));
        }
        var key = RollupPageCache.Key(run.PartitionKey, level, firstPage, lastPage, metrics);
        if (_pages.Get(key, etag) is { } held)
        {
            return held;
        }
        var table = await _stream.TableAsync().ConfigureAwait(false);
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var snapshots = await Task.WhenAll(metrics.Select(m => table.GetAsync<TableEntity>(run.PartitionKey, RollupSnapshot.RowKey(level, m), cancellationToken))).ConfigureAwait(false);
        stats?.Add(M4Stage.SnapshotRead, watch.Elapsed, snapshots.Count(s => s is not null && RollupSnapshot.IsCurrent(s, etag)));
        watch.Restart();
        long lastPageApplied = 0;
        var missing = new List<int>();
        for (var i = 0; i < metrics.Count; i++)
        {
            if (snapshots[i] is { } snapshot && RollupSnapshot.IsCurrent(snapshot, etag))
            {
                lastPageApplied = Math.Max(lastPageApplied, RollupSnapshot.ReadBuckets(snapshot, level, firstPage, lastPage, buckets[i]));
            }
            else
            {
                missing.Add(i);
            }
        }
        stats?.Add(M4Stage.Decode, watch.Elapsed, metrics.Count - missing.Count);
        if (missing.Count > 0)
        {
            var missingNames = missing.Select(i => metrics[i]).ToList();
            var read = await QueryPagesAsync(run, level, firstPage, lastPage, missingNames, stats, cancellationToken).ConfigureAwait(false);
            lastPageApplied = Math.Max(lastPageApplied, Decode(read, metrics, missing, buckets, level, lastPage, stats));
            if (RollupSnapshot.Covers(extent, level, firstPage, lastPage))
            {
                watch.Restart();
                var byMetric = read.Where(p => p.GetString("Metric") is not null).ToLookup(p => p.GetString("Metric")!, StringComparer.Ordinal);
                var writes = missingNames
                    .Select(m => RollupSnapshot.Build(run, level, m, etag, byMetric[m]))
                    .OfType<TableEntity>()
                    .Select(s => table.UpsertAsync(s, TableUpdateMode.Replace, cancellationToken))
                    .ToList();
                await Task.WhenAll(writes).ConfigureAwait(false);
                stats?.Add(M4Stage.SnapshotWrite, watch.Elapsed, writes.Count);
            }
        }
        var decoded = new RollupRead(buckets, lastPageApplied);
        _pages.Put(key, etag, decoded);
        return decoded;
    }

    /// <summary>
    /// Adds the level buckets of <paramref name="pages"/> to <paramref name="buckets"/> for the metrics at
    /// <paramref name="wanted"/> positions of <paramref name="metrics"/> (pages of other metrics skipped); returns the
    /// highest watermark on page <paramref name="lastPage"/>.
    /// </summary>
    private static long Decode(List<TableEntity> pages, IReadOnlyList<string> metrics, IEnumerable<int> wanted, List<(long, M4Accumulator)>[] buckets, int level, long lastPage, M4QueryStats? stats)
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var metricIndex = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var i in wanted)
        {
            metricIndex[metrics[i]] = i;
        }
        long lastPageApplied = 0;
        var pageCount = 0;
        foreach (var entity in pages)
        {
            if (entity.GetString("Metric") is { } name && metricIndex.TryGetValue(name, out var index))
            {
                var page = entity.GetInt64("Page") ?? 0;
                if (page == lastPage)
                {
                    lastPageApplied = Math.Max(lastPageApplied, entity.GetInt64("Applied") ?? 0);
                }
                M4Page.ReadBuckets(LineStream.PageFormat(entity), M4Levels.Widths[level], page, LineCodec.ReadData(entity), buckets[index]);
                pageCount++;
            }
        }
        stats?.Add(M4Stage.Decode, watch.Elapsed, pageCount);
        return lastPageApplied;
    }

    /// <summary>
    /// A page range query. One page entity per metric per page; a table query answers at most 1,000 entities
    /// per round trip, so large ranges are split into concurrent reads instead of sequential continuations.
    /// </summary>
    private async Task<List<TableEntity>> QueryPagesAsync(RunKey run, int level, long firstPage, long lastPage, IReadOnlyList<string> metrics, M4QueryStats? stats, CancellationToken cancellationToken)
    {
        var pagesPerRead = Math.Max(8, MaxEntitiesPerRead / Math.Max(1, metrics.Count));
        var reads = new List<Task<List<TableEntity>>>();
        for (var from = firstPage; from <= lastPage; from += pagesPerRead)
        {
            var to = Math.Min(lastPage, from + pagesPerRead - 1);
            reads.Add(Timed(stats, M4Stage.PageRead, _stream.ReadPagesAsync(run, level, from, to, metrics, cancellationToken)));
        }
        return [.. (await Task.WhenAll(reads).ConfigureAwait(false)).SelectMany(r => r)];
    }

    /// <summary>
    /// Each metric's numeric points in rows with <c>_step</c> in [from, to] (one list per metric, in
    /// <paramref name="metrics"/> order; shared, callers only read them). A run of at most
    /// <see cref="RawSeriesCache.MaxLines"/> lines, with a known state (<paramref name="extent"/>), is read
    /// whole once per state — every metric, shared by concurrent calls and kept (<see cref="_raw"/>) — and
    /// the range sliced from it. Otherwise a range covering all of the run's steps reads every row without
    /// consulting the step index.
    /// </summary>
    private async Task<IReadOnlyList<M4Point>[]> ReadPointsAsync(RunKey run, IReadOnlyList<string> metrics, long from, long to, M4RunExtent? extent, CancellationToken cancellationToken)
    {
        if (extent is { StateETag: { } etag, Applied: var applied } && applied <= RawSeriesCache.MaxLines)
        {
            var series = await _raw.GetOrReadAsync(run.PartitionKey, etag, () => ReadRawSeriesAsync(run, applied), cancellationToken).ConfigureAwait(false);
            return metrics.Select(m => series.Range(m, from, to)).ToArray();
        }
        var points = metrics.Select(_ => new List<M4Point>()).ToArray();
        var whole = extent is { } e && (from <= 0 || (e.FirstStep is { } first && from <= first)) && to >= (e.LastStep ?? -1);
        await foreach (var row in _stream.ReadRowsAsync(run, whole ? null : from, whole ? null : to, cancellationToken).ConfigureAwait(false))
        {
            for (var i = 0; i < metrics.Count; i++)
            {
                if (row.Flat.TryGetValue(metrics[i], out var value) && HistoryValues.AsNumber(value) is { } number)
                {
                    points[i].Add(new M4Point(row.Step!.Value, number));
                }
            }
        }
        return points;
    }

    /// <summary>
    /// Every numeric key's points in the effective rows of lines [0, <paramref name="applied"/>) — the rows
    /// <see cref="LineStream.ReadRowsAsync"/> gives for the state with that watermark: a row counts when its
    /// step is above every earlier row's.
    /// </summary>
    private async Task<RawSeries> ReadRawSeriesAsync(RunKey run, long applied)
    {
        var builder = new RawSeries.Builder();
        long? running = null;
        await foreach (var line in _stream.ScanLinesAsync(run, 0, applied, CancellationToken.None).ConfigureAwait(false))
        {
            if (HistoryValues.ParseRow(line.Index, line.Text) is not { Step: { } step } row || (running is { } max && step <= max))
            {
                continue;
            }
            running = step;
            builder.Add(row, step);
        }
        return builder.Build();
    }

    private static async Task<T> Timed<T>(M4QueryStats? stats, M4Stage stage, Task<T> task) where T : System.Collections.ICollection
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var value = await task.ConfigureAwait(false);
        stats?.Add(stage, watch.Elapsed, value.Count);
        return value;
    }

    /// <summary>
    /// Fork: copies <paramref name="from"/>'s history lines up to and including the row at
    /// <paramref name="lastStep"/> (every line before the first effective row with a higher step) into
    /// <paramref name="to"/> at the same line offsets, which derives the target's index and rollups.
    /// Returns the number of lines copied (the fork's starting history offset).
    /// </summary>
    public async Task<long> CopyPrefixAsync(RunKey from, RunKey to, long lastStep, CancellationToken cancellationToken = default)
    {
        var end = await _stream.FirstLineAfterStepAsync(from, lastStep, cancellationToken).ConfigureAwait(false);
        var batch = new List<string>();
        long batchStart = 0;
        await foreach (var line in _stream.ScanLinesAsync(from, 0, end, cancellationToken).ConfigureAwait(false))
        {
            if (batch.Count == 0)
            {
                batchStart = line.Index;
            }
            if (line.Index != batchStart + batch.Count || batch.Count == LineStream.MaxLinesPerEntity)
            {
                await _stream.AppendAsync(to, batchStart, batch, cancellationToken).ConfigureAwait(false);
                batch = [];
                batchStart = line.Index;
            }
            batch.Add(line.Text);
        }
        if (batch.Count > 0)
        {
            await _stream.AppendAsync(to, batchStart, batch, cancellationToken).ConfigureAwait(false);
        }
        await _stream.FlushAsync(to, cancellationToken).ConfigureAwait(false);
        return end;
    }

    /// <summary>
    /// Rewind (<c>resume_from</c>): keeps the history up to and including the row at <paramref name="lastStep"/>,
    /// moves every later line (and any line stored past a gap) to table <c>historyarchive</c> under an
    /// archive id (nothing is destroyed), and rebuilds the key index, step index and rollups.
    /// </summary>
    public async Task<HistoryRewindResult> RewindAsync(RunKey run, long lastStep, CancellationToken cancellationToken = default)
    {
        var keep = await _stream.FirstLineAfterStepAsync(run, lastStep, cancellationToken).ConfigureAwait(false);
        var archiveId = "a" + _time.GetUtcNow().ToString("yyyyMMddHHmmssfff", System.Globalization.CultureInfo.InvariantCulture);
        var archived = await _stream.TruncateAsync(run, keep, ArchiveTableName, archiveId, cancellationToken).ConfigureAwait(false);
        return new HistoryRewindResult(keep, archived, archiveId);
    }
}

/// <summary>
/// What M4 planning needs from a run's derived state: its first and last effective step (first: null when
/// unknown, for states stored before it was recorded), the line watermark they hold for, its rollup level count,
/// and the rollup watermark (<paramref name="RollupApplied"/> lines, whose last effective step is
/// <paramref name="RollupLastStep"/>, are in the pages; null: all of them, as for states stored before rollups were deferred).
/// </summary>
internal readonly record struct M4RunExtent(long? FirstStep, long? LastStep, long Applied, int Levels, Azure.ETag? StateETag = null, long? RollupApplied = null, long? RollupLastStep = null)
{
    /// <summary>Lines folded into the rollup pages.</summary>
    public long PagesApplied => RollupApplied ?? Applied;

    /// <summary>The last step the rollup pages are complete through (null: no page holds anything yet).</summary>
    public long? PagesLastStep => RollupApplied is null ? LastStep : RollupLastStep;
}

/// <summary>After a rewind: the history line count kept, lines moved to the archive, and the archive id.</summary>
internal sealed record HistoryRewindResult(long LineCount, long ArchivedLines, string ArchiveId);

/// <summary>The stages of an M4 query, for <see cref="M4QueryStats"/>.</summary>
internal enum M4Stage
{
    /// <summary>One rollup page range read (items: page entities).</summary>
    PageRead,

    /// <summary>One raw edge read, rows parsed (items: metrics' point lists).</summary>
    RawRead,

    /// <summary>Decoding the pages' level buckets (items: pages).</summary>
    Decode,

    /// <summary>Merging level buckets and raw points into output buckets (items: series).</summary>
    Combine,

    /// <summary>Point reads of stored rollup snapshots, one per metric, concurrent (items: snapshots current under the state ETag).</summary>
    SnapshotRead,

    /// <summary>Storing the snapshots a page range query made possible (items: snapshots written).</summary>
    SnapshotWrite,
}

/// <summary>Where M4 queries spent their time: per stage, summed wall time, calls and items (thread-safe; reads run concurrently).</summary>
internal sealed class M4QueryStats
{
    private static readonly int StageCount = Enum.GetValues<M4Stage>().Length;
    private readonly long[] _ticks = new long[StageCount];
    private readonly long[] _calls = new long[StageCount];
    private readonly long[] _items = new long[StageCount];

    public void Add(M4Stage stage, TimeSpan elapsed, long items)
    {
        Interlocked.Add(ref _ticks[(int)stage], elapsed.Ticks);
        Interlocked.Increment(ref _calls[(int)stage]);
        Interlocked.Add(ref _items[(int)stage], items);
    }

    public (TimeSpan Elapsed, long Calls, long Items) this[M4Stage stage] =>
        (TimeSpan.FromTicks(Interlocked.Read(ref _ticks[(int)stage])), Interlocked.Read(ref _calls[(int)stage]), Interlocked.Read(ref _items[(int)stage]));
}
