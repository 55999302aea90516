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

    public HistoryStore(Storage.StorageAccount storage, TimeProvider time)
    {
        _stream = new LineStream(storage, TableName, stepped: true);
        _time = time;
    }

    internal LineStream Stream => _stream;

    public async Task<HistoryAppendResult> AppendHistoryAsync(RunKey run, long offset, IReadOnlyList<string> lines, CancellationToken cancellationToken = default)
    {
        var result = await _stream.AppendAsync(run, offset, lines, cancellationToken).ConfigureAwait(false);
        return new HistoryAppendResult(result.LineCount, result.LastStep, result.KeysAdded);
    }

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
    /// every raw row in the range with the returned bucket boundaries. Buckets fully inside the range
    /// come from the coarsest rollup level that still yields at least <paramref name="buckets"/> buckets;
    /// the partial level buckets at the two ends are computed from raw rows. Empty buckets are omitted.
    /// </summary>
    public async Task<IReadOnlyList<M4Bucket>> QueryM4Async(RunKey run, string metric, long minStep, long maxStep, int buckets, CancellationToken cancellationToken = default)
    {
        if (maxStep < minStep)
        {
            return [];
        }
        var plan = M4Levels.PlanQuery(minStep, maxStep, buckets);
        var levelBuckets = new List<(long, M4Accumulator)>();
        var rawPoints = new List<M4Point>();
        var (rollupStart, rollupEnd) = plan.RollupSpan();
        var rawRanges = new List<(long From, long To)>();
        if (rollupStart < rollupEnd)
        {
            var firstBucket = rollupStart / plan.LevelWidth;
            var lastBucket = rollupEnd / plan.LevelWidth - 1;
            var pages = await _stream.ReadPagesAsync(run, plan.Level, M4Levels.PageIndex(firstBucket), M4Levels.PageIndex(lastBucket), metric, cancellationToken).ConfigureAwait(false);
            foreach (var entity in pages)
            {
                var pageIndex = entity.GetInt64("Page") ?? 0;
                foreach (var (slot, accumulator) in LineStream.DecodePage(entity).Slots)
                {
                    levelBuckets.Add((pageIndex * M4Levels.PageSlots + slot, accumulator));
                }
            }
            if (minStep < rollupStart)
            {
                rawRanges.Add((minStep, rollupStart - 1));
            }
            if (rollupEnd <= maxStep)
            {
                rawRanges.Add((rollupEnd, maxStep));
            }
        }
        else
        {
            rawRanges.Add((minStep, maxStep));
        }
        foreach (var (from, to) in rawRanges)
        {
            await foreach (var row in _stream.ReadRowsAsync(run, from, to, cancellationToken).ConfigureAwait(false))
            {
                if (row.Flat.TryGetValue(metric, out var value) && HistoryValues.AsNumber(value) is { } number)
                {
                    rawPoints.Add(new M4Point(row.Step!.Value, number));
                }
            }
        }
        return M4Compute.Combine(plan, levelBuckets, rawPoints);
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

/// <summary>After a rewind: the history line count kept, lines moved to the archive, and the archive id.</summary>
internal sealed record HistoryRewindResult(long LineCount, long ArchivedLines, string ArchiveId);
