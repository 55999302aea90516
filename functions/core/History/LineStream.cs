using System.Globalization;
using Azure;
using Azure.Data.Tables;
using Weightless.Core.Errors;
using Weightless.Core.Runs;
using Weightless.Core.Storage;

namespace Weightless.Core.History;

/// <summary>A stored line and its index in its file.</summary>
internal readonly record struct StoredLine(long Index, string Text);

/// <summary>What an append did: distinct lines stored, last effective step, keys new to the index.</summary>
internal sealed record StreamAppendResult(long LineCount, long? LastStep, int KeysAdded);

/// <summary>
/// A JSON-lines file of a run (<c>wandb-history.jsonl</c>, <c>wandb-events.jsonl</c>) stored as
/// chunks, with its key index and (for history) M4 rollups and a step index, all in one table
/// partition per run (<see cref="RunKey.PartitionKey"/>, tenant first).
///
/// Row keys:
/// <list type="bullet">
/// <item><c>c:{start}:{end}</c> — a chunk: lines [start, end) verbatim, compressed (<see cref="LineCodec"/>);
/// at most <see cref="MaxLinesPerEntity"/> lines and <see cref="MaxEntityDataBytes"/> bytes; a single line
/// too large even for that spills to blob. A post becomes consecutive chunks; the same post always
/// becomes the same chunks, so a retry rewrites them.</item>
/// <item><c>keys</c> — the derived state: watermark <c>Applied</c> (lines [0, Applied) are folded into
/// the key index and step index), the rollup watermark <c>RollupApplied</c> with <c>RollupMaxStep</c> (lines
/// [0, RollupApplied), whose effective steps are at most RollupMaxStep, are in the rollup pages; states
/// stored before it existed have RollupApplied = Applied), the last step and the key index. ETag-guarded.</item>
/// <item><c>s:{start}:{end}</c> — step index: effective steps of lines [start, end) and the running
/// max step before them, to find lines by step without scanning.</item>
/// <item><c>m:{level}:{page}:{metric}</c> — M4 rollup pages (history only), see <see cref="M4Levels"/>.</item>
/// <item><c>n:{level}:{metric}</c> — a snapshot of one metric's pages at one level, written by chart reads (see <see cref="RollupSnapshot"/>).</item>
/// </list>
///
/// Overlap rule (a line index has exactly one value): chunks are ordered by start ascending, then
/// length descending; each line index takes its text from the first chunk in that order covering
/// it. The result depends only on the set of stored chunks, never on arrival order, so the same post
/// sent many times, shuffled or concurrently reads back identically; a longer re-send (a client merging
/// a retried post with new lines) wins over the shorter one it contains, which is then deleted as
/// redundant. Clients resend lines verbatim, so overlapping chunks agree on shared indexes; derived
/// data assumes that.
///
/// Derived data advances only over the contiguous prefix of stored lines (a chunk beyond a gap waits
/// until the gap is filled), in rounds: read state, resolve the lines after the watermark, fold them,
/// and commit the step-index entry and state in one transaction If-Match the state's ETag.
/// Rollup pages are deferred: a round adds its points to the run's pending rollups (in memory, the points
/// of lines [RollupApplied, Applied)) and writes the touched pages only when a flush is due (see
/// <see cref="HistoryOptions"/>: enough pending lines, pending too long, the run completing, a rebuild, or
/// an instance that had to rebuild its pending rollups from the stored lines). A flush writes the pages
/// (each carries its own watermark and is written If-Match its ETag, or Add when new) and advances
/// RollupApplied in the round's transaction; when they do not fit one, in consecutive transactions that each
/// carry the state If-Match its ETag, only the last advancing RollupApplied (so pages may be ahead of the
/// rollup watermark, never behind). A re-sent or concurrent round finds the watermarks past its lines and
/// adds nothing: no double counting. Readers take pages as complete through RollupMaxStep only and read the
/// steps after it from raw rows (<see cref="HistoryStore.QueryM4Async(RunKey, IReadOnlyList{string}, long, long, int, M4RunExtent?, M4QueryStats?, CancellationToken)"/>).
///
/// Non-monotonic steps: as W&amp;B does, a history row counts (key index, rollups, row reads) only when
/// its <c>_step</c> is a non-negative integer greater than every earlier row's step; other lines stay
/// stored verbatim (and count as lines) but are dropped from every view. Events rows have no step and
/// all count.
/// </summary>
internal sealed class LineStream
{
    public const int MaxLinesPerEntity = 2048;
    /// <summary>
    /// Compressed bytes per chunk entity. Azure allows 1 MiB per entity; Azurite measures binary
    /// properties base64-encoded (4/3), so 700 KiB (~956 KB encoded) fits both.
    /// </summary>
    public const int MaxEntityDataBytes = 700 * 1024;
    public const int MaxRoundLines = 16384;
    private const int MaxRawBytesPerEntity = 8 * 1024 * 1024;
    private const int MaxAttempts = 60;
    private const long MaxBatchWireBytes = 3_500_000;
    private const string StateRow = "keys";
    private const int MaxCachedRuns = 512;

    /// <summary>Pending rollup points per run at most (~2.4 MB): a run with many metrics writes its pages sooner than the line threshold.</summary>
    private const long MaxPendingPoints = 100_000;

    private readonly StorageAccount _storage;
    private readonly string _tableName;
    private readonly bool _stepped;
    private readonly int _flushLines;
    private readonly TimeSpan _flushAge;

    // The derived state and rollup pages each run's last round committed, with their ETags, so the
    // next post skips reading them. A cached state is trusted only inside one atomic transaction that
    // is If-Match its ETag (a stale entry then fails with 412 and the round is redone from storage);
    // any other decision (nothing to fold, deleting redundant chunks) reloads the state first. An entry
    // is taken out while a request uses it, so two requests of this instance never share one. It also
    // holds the run's pending rollups (null: not known here, rebuilt from the stored lines when needed).
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, CachedRound> _cache = new(StringComparer.Ordinal);

    private sealed record CachedRound(StreamState State, Dictionary<string, TableEntity> Pages, PendingRollup? Pending);

    /// <summary>
    /// The rollup points of lines [RollupApplied, Applied) not yet written to pages, and since when they wait
    /// (the first pending point's fold). <see cref="Rebuilt"/>: read back from the stored lines (a cache miss),
    /// which a flush then pays off once.
    /// </summary>
    private sealed class PendingRollup
    {
        public RollupPoints Points { get; } = new();

        public long Since { get; set; } = System.Diagnostics.Stopwatch.GetTimestamp();

        public bool Rebuilt { get; init; }
    }

    public LineStream(StorageAccount storage, string tableName, bool stepped, HistoryOptions? options = null)
    {
        _storage = storage;
        _tableName = tableName;
        _stepped = stepped;
        options ??= new HistoryOptions();
        _flushLines = Math.Max(1, options.RollupFlushLines);
        _flushAge = TimeSpan.FromSeconds(Math.Max(0, options.RollupFlushSeconds));
    }

    public Task<TableStore> TableAsync() => _storage.TableAsync(_tableName);

    // ---------------------------------------------------------------- keys

    public static string ChunkKey(long start, long end) =>
        "c:" + start.ToString("D12", CultureInfo.InvariantCulture) + ":" + end.ToString("D12", CultureInfo.InvariantCulture);

    private static string ChunkFloor(long start) => "c:" + Math.Max(0, start).ToString("D12", CultureInfo.InvariantCulture);

    private const string ChunkCeiling = "c;";

    public static string StepIndexKey(long start, long end) =>
        "s:" + start.ToString("D12", CultureInfo.InvariantCulture) + ":" + end.ToString("D12", CultureInfo.InvariantCulture);

    internal readonly record struct ChunkRef(long Start, long End, string RowKey)
    {
        public long Length => End - Start;

        public static ChunkRef Parse(string rowKey) =>
            new(long.Parse(rowKey.AsSpan(2, 12), CultureInfo.InvariantCulture), long.Parse(rowKey.AsSpan(15, 12), CultureInfo.InvariantCulture), rowKey);
    }

    internal readonly record struct Segment(ChunkRef Chunk, long From, long To);

    /// <summary>
    /// Applies the overlap rule to <paramref name="chunks"/> from line <paramref name="from"/>: the segments
    /// that supply each line (in line order, possibly with gaps), and the chunks that supply nothing.
    /// </summary>
    internal static (List<Segment> Segments, List<ChunkRef> Redundant) Resolve(IEnumerable<ChunkRef> chunks, long from, long to = long.MaxValue)
    {
        var segments = new List<Segment>();
        var redundant = new List<ChunkRef>();
        var next = from;
        foreach (var chunk in chunks.OrderBy(c => c.Start).ThenByDescending(c => c.Length))
        {
            if (chunk.End <= next)
            {
                if (chunk.Start >= from)
                {
                    redundant.Add(chunk);
                }
                continue;
            }
            if (chunk.Start >= to)
            {
                break;
            }
            var a = Math.Max(chunk.Start, next);
            var b = Math.Min(chunk.End, to);
            segments.Add(new Segment(chunk, a, b));
            next = b;
        }
        return (segments, redundant);
    }

    // ---------------------------------------------------------------- writing chunks

    /// <summary>Turns a post's lines into chunk entities (deterministically: the same lines give the same chunks).</summary>
    internal List<(TableEntity Entity, byte[]? SpilledData, int First, int Count)> BuildChunks(RunKey run, long offset, IReadOnlyList<string> lines)
    {
        var result = new List<(TableEntity, byte[]?, int, int)>();
        var i = 0;
        while (i < lines.Count)
        {
            var count = 0;
            long raw = 0;
            while (i + count < lines.Count && count < MaxLinesPerEntity && (count == 0 || raw + lines[i + count].Length * 3L <= MaxRawBytesPerEntity))
            {
                raw += lines[i + count].Length * 3L;
                count++;
            }
            byte[] data;
            while (true)
            {
                data = LineCodec.Encode(lines, i, count);
                if (data.Length <= MaxEntityDataBytes || count == 1)
                {
                    break;
                }
                count = (count + 1) / 2;
            }
            var start = offset + i;
            var entity = new TableEntity(run.PartitionKey, ChunkKey(start, start + count))
            {
                ["Start"] = start,
                ["End"] = start + count,
            };
            byte[]? spilled = null;
            if (data.Length > MaxEntityDataBytes)
            {
                entity["Blob"] = SpillBlobName(run, start, start + count);
                spilled = data;
            }
            else
            {
                LineCodec.WriteData(entity, data);
            }
            result.Add((entity, spilled, i, count));
            i += count;
        }
        return result;
    }

    private string SpillBlobName(RunKey run, long start, long end) =>
        $"{run.BlobPrefix}{_tableName}/{start:D12}-{end:D12}";

    public async Task WriteChunksAsync(RunKey run, List<(TableEntity Entity, byte[]? SpilledData, int First, int Count)> chunks, CancellationToken cancellationToken)
    {
        var spills = chunks.Where(c => c.SpilledData is not null).ToList();
        if (spills.Count > 0)
        {
            var container = await _storage.ContainerAsync("history").ConfigureAwait(false);
            foreach (var (entity, data, _, _) in spills)
            {
                await container.UploadAsync(entity.GetString("Blob"), BinaryData.FromBytes(data!), "application/octet-stream", cancellationToken: cancellationToken).ConfigureAwait(false);
            }
        }
        var table = await TableAsync().ConfigureAwait(false);
        // Binary properties travel base64-encoded (4/3 of their size), which TableStore's batch size
        // estimate does not count; group by wire size here so every transaction stays under 4 MiB.
        var group = new List<TableTransactionAction>();
        long groupBytes = 0;
        foreach (var (entity, _, _, _) in chunks)
        {
            var wireBytes = WireBytes(entity);
            if (group.Count > 0 && groupBytes + wireBytes > MaxBatchWireBytes)
            {
                await table.SubmitBatchAsync(group, cancellationToken).ConfigureAwait(false);
                group = [];
                groupBytes = 0;
            }
            group.Add(new TableTransactionAction(TableTransactionActionType.UpsertReplace, entity));
            groupBytes += wireBytes;
        }
        await table.SubmitBatchAsync(group, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>An entity's size on the wire, roughly: binary properties travel base64-encoded (4/3), plus room for the rest.</summary>
    private static long WireBytes(TableEntity entity) =>
        ((IDictionary<string, object>)entity).Values.OfType<byte[]>().Sum(b => (b.Length + 2) / 3 * 4L) + 4096;

    private async Task<List<string>> DecodeChunkAsync(TableEntity entity, CancellationToken cancellationToken)
    {
        if (entity.GetString("Blob") is { } blob)
        {
            var container = await _storage.ContainerAsync("history").ConfigureAwait(false);
            var content = await container.DownloadAsync(blob, cancellationToken).ConfigureAwait(false)
                ?? throw new NotFoundException("A spilled history chunk is missing.");
            return LineCodec.Decode(content.Content.ToMemory().Span);
        }
        return LineCodec.Decode(LineCodec.ReadData(entity));
    }

    public async Task<List<ChunkRef>> ListChunksAsync(RunKey run, long fromStart, CancellationToken cancellationToken)
    {
        var table = await TableAsync().ConfigureAwait(false);
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {run.PartitionKey} and RowKey ge {ChunkFloor(fromStart)} and RowKey lt {ChunkCeiling}");
        var result = new List<ChunkRef>();
        await foreach (var entity in table.QueryAsync<TableEntity>(filter, select: ["RowKey"], cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            result.Add(ChunkRef.Parse(entity.RowKey));
        }
        return result;
    }

    // ---------------------------------------------------------------- state

    internal sealed class StreamState
    {
        public long Applied { get; set; }
        public long? MaxStep { get; set; }

        /// <summary>Lines [0, RollupApplied) are in the rollup pages (history; see the class remarks).</summary>
        public long RollupApplied { get; set; }

        /// <summary>The last effective step of lines [0, RollupApplied): the pages are complete through it.</summary>
        public long? RollupMaxStep { get; set; }

        /// <summary>The first effective step, when known (states stored before it was recorded have none).</summary>
        public long? FirstStep { get; set; }

        /// <summary>
        /// Lines [0, StepIndexed) have step-index entries. The entry for lines [StepIndexed, Applied) is written
        /// with the next rollup flush (one entity less per post); until then <see cref="StepTail"/> describes it.
        /// </summary>
        public long StepIndexed { get; set; }

        /// <summary>The running max step before line <see cref="StepIndexed"/>.</summary>
        public long? StepTailMaxBefore { get; set; }

        /// <summary>The first effective step of lines [StepIndexed, Applied), if any.</summary>
        public long? StepTailMinStep { get; set; }

        /// <summary>The step-index entry of lines [StepIndexed, Applied), not stored yet (null when empty).</summary>
        public StepIndexEntry? StepTail => StepIndexed < Applied
            ? new StepIndexEntry(StepIndexed, Applied, StepTailMaxBefore, StepTailMinStep, StepTailMinStep is null ? null : MaxStep)
            : null;

        /// <summary>The rollup levels kept (ids below it, see <see cref="M4Levels"/>): all for a new state, the legacy set for a state stored before more levels existed.</summary>
        public int RollupLevels { get; set; } = M4Levels.LevelCount;

        public KeyIndex Keys { get; set; } = new();
        public ETag? ETag { get; set; }
    }

    public async Task<StreamState> ReadStateAsync(RunKey run, CancellationToken cancellationToken)
    {
        var table = await TableAsync().ConfigureAwait(false);
        var entity = await table.GetAsync<TableEntity>(run.PartitionKey, StateRow, cancellationToken).ConfigureAwait(false);
        if (entity is null)
        {
            return new StreamState();
        }
        var maxStep = entity.GetInt64("MaxStep") is { } m && m >= 0 ? m : (long?)null;
        var applied = entity.GetInt64("Applied") ?? 0;
        // A state stored before rollups were deferred has every folded line in its pages.
        var rollupApplied = entity.GetInt64("RollupApplied");
        // So has every line of a state stored before step-index entries were deferred.
        var stepIndexed = entity.GetInt64("StepIndexed");
        var json = LineCodec.Decompress(LineCodec.ReadData(entity));
        return new StreamState
        {
            Applied = applied,
            MaxStep = maxStep,
            RollupApplied = rollupApplied ?? applied,
            RollupMaxStep = rollupApplied is null ? maxStep : entity.GetInt64("RollupMaxStep") is { } r && r >= 0 ? r : null,
            FirstStep = entity.GetInt64("FirstStep") is { } f && f >= 0 ? f : null,
            StepIndexed = stepIndexed ?? applied,
            StepTailMaxBefore = entity.GetInt64("StepTailMaxBefore") is { } tb && tb >= 0 ? tb : null,
            StepTailMinStep = entity.GetInt64("StepTailMinStep") is { } tm && tm >= 0 ? tm : null,
            RollupLevels = entity.GetInt32("Levels") ?? M4Levels.LegacyLevelCount,
            Keys = KeyIndex.Deserialize(json, maxStep),
            ETag = entity.ETag,
        };
    }

    private static TableEntity StateEntity(RunKey run, StreamState state)
    {
        var entity = new TableEntity(run.PartitionKey, StateRow)
        {
            ["Applied"] = state.Applied,
            ["MaxStep"] = state.MaxStep ?? -1L,
            ["RollupApplied"] = state.RollupApplied,
            ["RollupMaxStep"] = state.RollupMaxStep ?? -1L,
            ["FirstStep"] = state.FirstStep ?? -1L,
            ["StepIndexed"] = state.StepIndexed,
            ["StepTailMaxBefore"] = state.StepTailMaxBefore ?? -1L,
            ["StepTailMinStep"] = state.StepTailMinStep ?? -1L,
            ["Levels"] = state.RollupLevels,
            ["KeyCount"] = state.Keys.Count,
        };
        LineCodec.WriteData(entity, LineCodec.Compress(state.Keys.Serialize()));
        return entity;
    }

    // ---------------------------------------------------------------- append

    /// <summary>Stores lines [offset, offset + lines.Count) and folds every newly contiguous line into the derived data.</summary>
    public async Task<StreamAppendResult> AppendAsync(RunKey run, long offset, IReadOnlyList<string> lines, CancellationToken cancellationToken)
    {
        if (offset < 0)
        {
            throw new ValidationFailedException("A line offset must not be negative.", "offset");
        }
        var chunks = BuildChunks(run, offset, lines);
        var own = new Dictionary<string, (int First, int Count)>(StringComparer.Ordinal);
        foreach (var chunk in chunks)
        {
            own[chunk.Entity.RowKey] = (chunk.First, chunk.Count);
        }
        // A small post that continues this instance's cached state commits its chunks in the round's
        // transaction (one storage call per post, see AdvanceAsync); any other post stores them first.
        var unwritten = SharesRoundTransaction(chunks) ? chunks : null;
        if (unwritten is null)
        {
            await WriteChunksAsync(run, chunks, cancellationToken).ConfigureAwait(false);
        }
        return await AdvanceAsync(run, own, lines, unwritten, flush: false, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Chunks this small (no spilled blob, well under a transaction's size) may ride in the round's transaction.</summary>
    private static bool SharesRoundTransaction(List<(TableEntity Entity, byte[]? SpilledData, int First, int Count)> chunks) =>
        chunks.Count is > 0 and <= MaxChunksInRound
        && chunks.All(c => c.SpilledData is null)
        && chunks.Sum(c => WireBytes(c.Entity)) <= MaxChunkBytesInRound;

    private const int MaxChunksInRound = 8;
    private const long MaxChunkBytesInRound = 1_000_000;

    /// <summary>Folds stored lines past the watermark into the derived data until it reaches a gap, and writes the pending rollup pages.</summary>
    public Task<StreamAppendResult> AdvanceAsync(RunKey run, CancellationToken cancellationToken) =>
        AdvanceAsync(run, new Dictionary<string, (int, int)>(StringComparer.Ordinal), [], null, flush: true, cancellationToken);

    /// <summary>
    /// Writes the run's pending rollup pages (lines [RollupApplied, Applied)), if any (one point read when none):
    /// what a completing run and a fork do so finished runs read pages only.
    /// </summary>
    public async Task FlushAsync(RunKey run, CancellationToken cancellationToken)
    {
        if (!_stepped)
        {
            return;
        }
        var stored = await ReadStateAsync(run, cancellationToken).ConfigureAwait(false);
        if (stored.RollupApplied < stored.Applied)
        {
            await AdvanceAsync(run, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <param name="unwritten">
    /// The post's chunks when not stored yet: they go into the first round's transaction when that round
    /// folds them from the cached state (the If-Match on the state then guards chunks and derived data
    /// together, so a stale cache stores nothing); before any other round, or after that transaction
    /// fails, they are stored on their own first, as without a cache.
    /// </param>
    /// <param name="flush">Write the pending rollup pages whether or not a flush is due.</param>
    private async Task<StreamAppendResult> AdvanceAsync(RunKey run, Dictionary<string, (int First, int Count)> own, IReadOnlyList<string> ownLines, List<(TableEntity Entity, byte[]? SpilledData, int First, int Count)>? unwritten, bool flush, CancellationToken cancellationToken)
    {
        var keysAdded = 0;
        var conflicts = 0;
        _cache.TryRemove(run.PartitionKey, out var known);
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var ownSegments = known is not null ? OwnChunksFrom(own, known.State.Applied) : null;
            if (unwritten is not null && ownSegments is null)
            {
                await WriteChunksAsync(run, unwritten, cancellationToken).ConfigureAwait(false);
                unwritten = null;
            }
            var state = known?.State ?? await ReadStateAsync(run, cancellationToken).ConfigureAwait(false);
            List<Segment> segments;
            if (ownSegments is not null)
            {
                // The post continues the cached watermark: fold its own lines without listing chunks (a
                // table query, a full scan on Azurite). Committing rests on the cached state's ETag, and
                // every writer that leaves a chunk unfolded behind a gap changes that ETag (TouchStateAsync),
                // so a missed chunk makes the commit fail and the round is redone from a listing.
                segments = ownSegments;
            }
            else if (known is not null && flush && own.Count == 0 && known.Pending is not null && state.RollupApplied < state.Applied)
            {
                // A flush of this instance's pending rollups: its transaction is If-Match the cached state,
                // so it needs no listing (lines stored past the watermark are folded by their own writers).
                segments = [];
            }
            else
            {
                var listing = await ListChunksAsync(run, state.Applied - MaxLinesPerEntity, cancellationToken).ConfigureAwait(false);
                (segments, _) = Resolve(listing, state.Applied);
                // Redundancy is judged from the listing's floor so a shorter chunk already behind the watermark is found too.
                var (_, redundant) = Resolve(listing, Math.Max(0, state.Applied - MaxLinesPerEntity));
                if (known is not null && (redundant.Count > 0 || segments.Count == 0 || segments[0].From != state.Applied))
                {
                    // Deleting chunks or answering "nothing to fold" must not rest on a state that may be stale.
                    known = null;
                    continue;
                }
                await DeleteRedundantAsync(run, redundant, cancellationToken).ConfigureAwait(false);
            }
            var lineCount = state.Applied + segments.Sum(s => s.To - s.From);
            var round = new List<Segment>();
            var end = state.Applied;
            foreach (var segment in segments)
            {
                if (segment.From != end || end - state.Applied >= MaxRoundLines)
                {
                    break;
                }
                var to = Math.Min(segment.To, state.Applied + MaxRoundLines);
                round.Add(segment with { To = to });
                end = to;
            }
            var flushOnly = round.Count == 0 && flush && _stepped && state.RollupApplied < state.Applied;
            if (round.Count == 0 && !flushOnly)
            {
                if (segments.Count > 0)
                {
                    // Stored lines wait behind a gap. Whoever fills it may hold a cached state and skip
                    // the listing; changing the state's ETag makes that writer list and fold these too.
                    try
                    {
                        await TouchStateAsync(run, state, segments[^1].To, cancellationToken).ConfigureAwait(false);
                    }
                    catch (Exception ex) when (ex is ConflictException or NotFoundException && ++conflicts < MaxAttempts)
                    {
                        // The state moved (or was rebuilt) since we read it; the gap may be filled now: look again.
                        continue;
                    }
                    return new StreamAppendResult(lineCount, state.MaxStep, keysAdded);
                }
                Remember(run, state, known?.Pages, known?.Pending);
                return new StreamAppendResult(lineCount, state.MaxStep, keysAdded);
            }
            var consumedListing = segments.Count == round.Count && (round.Count == 0 || segments[^1].To == end);
            var cachedPages = known?.Pages;
            var pending = known?.Pending;
            known = null;
            try
            {
                // A new instance (or one that lost its cache) first reads the lines still pending back.
                pending ??= await LoadPendingAsync(run, state, cancellationToken).ConfigureAwait(false);
                var lines = round.Count == 0 ? [] : await LoadSegmentsAsync(run, round, own, ownLines, cancellationToken).ConfigureAwait(false);
                var (added, pages, stillPending) = await ApplyRoundAsync(run, state, lines, pending, cachedPages, inferAbsentPages: conflicts == 0, unwritten, flush, cancellationToken).ConfigureAwait(false);
                unwritten = null;
                keysAdded += added;
                known = state.ETag is null ? null : new CachedRound(state, pages, stillPending);
                if (consumedListing)
                {
                    // Everything contiguous in our listing is folded. A chunk written after our listing is
                    // folded by its own writer, whose listing (made after its write) sees ours.
                    Remember(run, state, known?.Pages, known?.Pending);
                    return new StreamAppendResult(lineCount, state.MaxStep, keysAdded);
                }
            }
            catch (Exception ex) when (ex is ConflictException or NotFoundException && ++conflicts < MaxAttempts)
            {
                // Another writer advanced the state or a page first, or a chunk we listed was replaced: redo the round.
                await Task.Delay(Random.Shared.Next(5, 20 + 10 * Math.Min(conflicts, 10)), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// The rollup points of lines [RollupApplied, Applied) read back from storage, judged against RollupMaxStep
    /// as their rounds judged them (effective steps only). Bounded by the flush policy's pending lines (plus one round).
    /// </summary>
    private async Task<PendingRollup> LoadPendingAsync(RunKey run, StreamState state, CancellationToken cancellationToken)
    {
        if (!_stepped || state.RollupApplied >= state.Applied)
        {
            return new PendingRollup();
        }
        var pending = new PendingRollup { Rebuilt = true };
        var running = state.RollupMaxStep;
        await foreach (var line in ScanLinesAsync(run, state.RollupApplied, state.Applied, cancellationToken).ConfigureAwait(false))
        {
            var row = HistoryValues.ParseRow(line.Index, line.Text);
            if (row?.Step is not { } step || (running is { } max && step <= max))
            {
                continue;
            }
            running = step;
            pending.Points.Add(row, step);
        }
        return pending;
    }

    /// <summary>
    /// The post's own chunks as the round's segments when they start exactly at the watermark, else null.
    /// One post's chunks are consecutive (<see cref="BuildChunks"/>).
    /// </summary>
    private static List<Segment>? OwnChunksFrom(Dictionary<string, (int First, int Count)> own, long applied)
    {
        if (own.Count == 0)
        {
            return null;
        }
        var chunks = own.Keys.Select(ChunkRef.Parse).OrderBy(c => c.Start).ToList();
        return chunks[0].Start == applied ? chunks.ConvertAll(c => new Segment(c, c.Start, c.End)) : null;
    }

    /// <summary>
    /// Changes the state's ETag (If-Match the one read; the first state of a stream is added), recording
    /// the end of the lines waiting behind a gap. A conflict means the state moved first.
    /// </summary>
    private async Task TouchStateAsync(RunKey run, StreamState state, long waitingEnd, CancellationToken cancellationToken)
    {
        var table = await TableAsync().ConfigureAwait(false);
        if (state.ETag is { } etag)
        {
            var touch = new TableEntity(run.PartitionKey, StateRow) { ["WaitingEnd"] = waitingEnd };
            await table.UpdateAsync(touch, etag, TableUpdateMode.Merge, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            var entity = StateEntity(run, state);
            entity["WaitingEnd"] = waitingEnd;
            await table.AddAsync(entity, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Keeps a committed state (with its last flush's pages and the pending rollups) for the run's next post, bounded in runs.</summary>
    private void Remember(RunKey run, StreamState state, Dictionary<string, TableEntity>? pages, PendingRollup? pending)
    {
        if (state.ETag is null)
        {
            return;
        }
        if (_cache.Count >= MaxCachedRuns)
        {
            _cache.Clear();
        }
        var entry = new CachedRound(state, pages ?? new Dictionary<string, TableEntity>(StringComparer.Ordinal), pending);
        // Two requests of this instance may finish in either order: keep the further advanced state.
        _cache.AddOrUpdate(run.PartitionKey, entry, (_, other) => other.State.Applied > state.Applied ? other : entry);
    }

    private async Task DeleteRedundantAsync(RunKey run, List<ChunkRef> redundant, CancellationToken cancellationToken)
    {
        if (redundant.Count == 0)
        {
            return;
        }
        var table = await TableAsync().ConfigureAwait(false);
        foreach (var chunk in redundant)
        {
            try
            {
                await table.DeleteAsync(run.PartitionKey, chunk.RowKey, cancellationToken: cancellationToken).ConfigureAwait(false);
            }
            catch (NotFoundException)
            {
                // Someone else removed it first.
            }
        }
    }

    private async Task<List<StoredLine>> LoadSegmentsAsync(RunKey run, List<Segment> segments, Dictionary<string, (int First, int Count)> own, IReadOnlyList<string> ownLines, CancellationToken cancellationToken)
    {
        var table = await TableAsync().ConfigureAwait(false);
        var result = new List<StoredLine>((int)(segments[^1].To - segments[0].From));
        foreach (var segment in segments)
        {
            IReadOnlyList<string> chunkLines;
            int first;
            if (own.TryGetValue(segment.Chunk.RowKey, out var mine))
            {
                chunkLines = ownLines;
                first = mine.First;
            }
            else
            {
                var entity = await table.GetAsync<TableEntity>(run.PartitionKey, segment.Chunk.RowKey, cancellationToken).ConfigureAwait(false)
                    ?? throw new NotFoundException("A chunk was replaced while it was being read.");
                chunkLines = await DecodeChunkAsync(entity, cancellationToken).ConfigureAwait(false);
                first = 0;
            }
            for (var index = segment.From; index < segment.To; index++)
            {
                result.Add(new StoredLine(index, chunkLines[first + (int)(index - segment.Chunk.Start)]));
            }
        }
        return result;
    }

    /// <summary>
    /// One round: fold the lines (which start at the watermark; none for a flush alone) into the key index and
    /// <paramref name="pending"/>, and commit: the step-index entry and the state, plus — when a flush is due — the
    /// pending rollups' pages with RollupApplied advanced to the round's end. ONE transaction If-Match the state's
    /// ETag when it fits, else consecutive transactions each carrying the state If-Match its latest ETag (the last
    /// one advances RollupApplied). Returns the keys added, the pages to keep for the next flush (written ones with
    /// their new ETags, or <paramref name="cachedPages"/> when nothing was written) and the rollups still pending.
    /// </summary>
    private async Task<(int KeysAdded, Dictionary<string, TableEntity> Pages, PendingRollup Pending)> ApplyRoundAsync(RunKey run, StreamState state, List<StoredLine> lines, PendingRollup pending, Dictionary<string, TableEntity>? cachedPages, bool inferAbsentPages, List<(TableEntity Entity, byte[]? SpilledData, int First, int Count)>? unwrittenChunks, bool flush, CancellationToken cancellationToken)
    {
        var body = unwrittenChunks?.ConvertAll(c => new TableTransactionAction(TableTransactionActionType.UpsertReplace, c.Entity)) ?? [];
        var from = state.Applied;
        var to = lines.Count > 0 ? lines[^1].Index + 1 : state.Applied;
        var maxBefore = state.MaxStep;
        long? minEffective = null;
        var keysAdded = 0;
        if (pending.Points.IsEmpty)
        {
            pending.Since = System.Diagnostics.Stopwatch.GetTimestamp();
        }
        foreach (var line in lines)
        {
            var row = HistoryValues.ParseRow(line.Index, line.Text);
            if (row is null)
            {
                continue;
            }
            if (_stepped)
            {
                if (row.Step is not { } step || (state.MaxStep is { } max && step <= max))
                {
                    continue;
                }
                state.MaxStep = step;
                minEffective ??= step;
                pending.Points.Add(row, step);
            }
            keysAdded += state.Keys.AddRow(row.Flat);
        }
        state.Keys.LastStep = state.MaxStep;
        if (maxBefore is null)
        {
            // No effective row before this round: its first one is the run's first step.
            state.FirstStep = minEffective;
        }
        var table = await TableAsync().ConfigureAwait(false);
        var flushing = !_stepped || flush || pending.Rebuilt
            || to - state.RollupApplied >= _flushLines
            || pending.Points.Count >= MaxPendingPoints
            || System.Diagnostics.Stopwatch.GetElapsedTime(pending.Since) >= _flushAge;
        var pageCount = 0;
        if (flushing && !pending.Points.IsEmpty)
        {
            var contributions = new Dictionary<(int Level, long Page, string Metric), List<(int Slot, long Line, long Step, double Value)>>();
            pending.Points.AddTo(contributions, state.RollupLevels);
            // Pages exist only for steps folded into them: through RollupMaxStep (or past it after a flush
            // whose last transaction failed, which Add detects as a conflict; the retry reads every page).
            var pageActions = await BuildPageActionsAsync(run, contributions, to, inferAbsentPages ? state.RollupMaxStep : long.MaxValue, cachedPages, cancellationToken).ConfigureAwait(false);
            pageCount = pageActions.Count;
            body.AddRange(pageActions);
        }
        var rollupBefore = (state.RollupApplied, state.RollupMaxStep);
        if (_stepped && state.StepIndexed >= from)
        {
            // The round opens a new step-index tail (none pending before it).
            state.StepIndexed = from;
            state.StepTailMaxBefore = maxBefore;
            state.StepTailMinStep = null;
        }
        state.StepTailMinStep ??= minEffective;
        state.Applied = to;
        if (!_stepped)
        {
            state.StepIndexed = to;
        }
        var stepTailBefore = (state.StepIndexed, state.StepTailMaxBefore, state.StepTailMinStep);
        if (flushing)
        {
            state.RollupApplied = to;
            state.RollupMaxStep = state.MaxStep;
            // The step-index entry of the lines since the last flush goes with the pages.
            if (_stepped && state.StepTail is { } tail)
            {
                body.Add(new TableTransactionAction(TableTransactionActionType.UpsertReplace, new TableEntity(run.PartitionKey, StepIndexKey(tail.Start, tail.End))
                {
                    ["Start"] = tail.Start,
                    ["End"] = tail.End,
                    ["MaxBefore"] = tail.MaxBefore ?? -1L,
                    ["MinStep"] = tail.MinStep ?? -1L,
                    ["MaxStep"] = tail.MaxStep ?? -1L,
                }));
                state.StepIndexed = to;
                state.StepTailMaxBefore = state.MaxStep;
                state.StepTailMinStep = null;
            }
        }
        var stateEntity = StateEntity(run, state);
        var groups = GroupWithState(body, stateEntity);
        var written = pageCount > 0 ? new Dictionary<string, TableEntity>(pageCount, StringComparer.Ordinal) : cachedPages ?? new Dictionary<string, TableEntity>(StringComparer.Ordinal);
        for (var g = 0; g < groups.Count; g++)
        {
            var entity = stateEntity;
            if (g < groups.Count - 1)
            {
                // Not the last transaction: the state advances everything but the rollup watermark, whose
                // pages are not all written yet.
                entity = StateEntity(run, state);
                entity["RollupApplied"] = rollupBefore.RollupApplied;
                entity["RollupMaxStep"] = rollupBefore.RollupMaxStep ?? -1L;
                // Nor the step-index entry, which may be in a later transaction.
                entity["StepIndexed"] = stepTailBefore.StepIndexed;
                entity["StepTailMaxBefore"] = stepTailBefore.StepTailMaxBefore ?? -1L;
                entity["StepTailMinStep"] = stepTailBefore.StepTailMinStep ?? -1L;
            }
            var actions = new List<TableTransactionAction>(groups[g].Count + 1);
            actions.AddRange(groups[g]);
            actions.Add(state.ETag is { } etag
                ? new TableTransactionAction(TableTransactionActionType.UpdateReplace, entity, etag)
                : new TableTransactionAction(TableTransactionActionType.Add, entity));
            var etags = await table.SubmitTransactionAsync(actions, cancellationToken).ConfigureAwait(false);
            for (var i = 0; i < actions.Count - 1; i++)
            {
                if (pageCount > 0 && etags[i] is { } pageETag && actions[i].Entity is TableEntity page && page.RowKey.StartsWith("m:", StringComparison.Ordinal))
                {
                    page.ETag = pageETag;
                    written[page.RowKey] = page;
                }
            }
            state.ETag = etags[^1];
        }
        return (keysAdded, written, flushing ? new PendingRollup() : pending);
    }

    /// <summary>
    /// Splits a round's writes into transactions that each leave room for the state entity: at most
    /// <see cref="TableStore.MaxBatchEntities"/> entities and <see cref="MaxBatchWireBytes"/> (estimated, base64 included) each.
    /// A round that writes nothing but the state is one empty group.
    /// </summary>
    private static List<List<TableTransactionAction>> GroupWithState(List<TableTransactionAction> body, TableEntity stateEntity)
    {
        const long PerEntityOverhead = 1024;
        var room = MaxBatchWireBytes - (TableStore.Validate(stateEntity) + PerEntityOverhead);
        var groups = new List<List<TableTransactionAction>> { new() };
        long bytes = 0;
        foreach (var action in body)
        {
            var size = TableStore.Validate(action.Entity) + PerEntityOverhead;
            if (groups[^1].Count > 0 && (groups[^1].Count == TableStore.MaxBatchEntities - 1 || bytes + size > room))
            {
                groups.Add([]);
                bytes = 0;
            }
            groups[^1].Add(action);
            bytes += size;
        }
        return groups;
    }

    /// <summary>
    /// A round's numeric points, gathered per metric (one map lookup per value) and fanned out to the
    /// rollup levels' pages once per round: rows come in step order, so each level's page changes
    /// rarely and is looked up only when it does.
    /// </summary>
    internal sealed class RollupPoints
    {
        private readonly Dictionary<string, List<(long Line, long Step, double Value)>> _byMetric = new(StringComparer.Ordinal);

        public bool IsEmpty => _byMetric.Count == 0;

        /// <summary>Points held (24 bytes each).</summary>
        public long Count { get; private set; }

        public void Add(HistoryRow row, long step)
        {
            foreach (var (key, value) in row.Flat)
            {
                if (HistoryValues.AsNumber(value) is not { } number || key == HistoryValues.StepKey)
                {
                    continue;
                }
                ref var list = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_byMetric, key, out _);
                list ??= [];
                list.Add((row.LineIndex, step, number));
                Count++;
            }
        }

        /// <summary>Fans the points out to the pages of levels [0, <paramref name="levelCount"/>).</summary>
        public void AddTo(Dictionary<(int Level, long Page, string Metric), List<(int Slot, long Line, long Step, double Value)>> contributions, int levelCount = M4Levels.LevelCount)
        {
            foreach (var (metric, points) in _byMetric)
            {
                for (var level = 0; level < levelCount; level++)
                {
                    List<(int Slot, long Line, long Step, double Value)>? target = null;
                    var targetPage = long.MinValue;
                    foreach (var (line, step, value) in points)
                    {
                        var bucket = M4Levels.BucketIndex(step, level);
                        var page = M4Levels.PageIndex(bucket);
                        if (target is null || page != targetPage)
                        {
                            ref var list = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(contributions, (level, page, metric), out _);
                            list ??= [];
                            target = list;
                            targetPage = page;
                        }
                        target.Add(((int)(bucket - page * M4Levels.PageSlots), line, step, value));
                    }
                }
            }
        }
    }

    // ---------------------------------------------------------------- rollup pages

    public static string MetricKey(string metric)
    {
        var escaped = metric.Length <= 200 ? TableKeys.Escape(metric) : null;
        // Too long for a row key next to the rest: a stable hash ("~H" is never produced by Escape, which writes ~XXXX hex).
        return escaped is { Length: <= 400 }
            ? escaped
            : "~H" + Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(metric)));
    }

    public static string PageKey(int level, long page, string metric) =>
        "m:" + level.ToString(CultureInfo.InvariantCulture) + ":" + page.ToString("D12", CultureInfo.InvariantCulture) + ":" + MetricKey(metric);

    private static string PageLevelFloor(int level, long page) =>
        "m:" + level.ToString(CultureInfo.InvariantCulture) + ":" + page.ToString("D12", CultureInfo.InvariantCulture) + ":";

    /// <summary>Table queries allow 15 comparisons; the key range takes 3.</summary>
    public const int MaxMetricsPerPageFilter = 10;

    /// <summary>
    /// Reads pages of one level, pages [firstPage, lastPage], for all metrics (null) or the named ones
    /// (filtered in storage up to <see cref="MaxMetricsPerPageFilter"/> names; with more, every metric's
    /// pages come back and the caller picks).
    /// </summary>
    public async Task<List<TableEntity>> ReadPagesAsync(RunKey run, int level, long firstPage, long lastPage, IReadOnlyList<string>? metrics, CancellationToken cancellationToken)
    {
        var table = await TableAsync().ConfigureAwait(false);
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {run.PartitionKey} and RowKey ge {PageLevelFloor(level, firstPage)} and RowKey lt {PageLevelFloor(level, lastPage + 1)}");
        if (metrics is { Count: > 0 and <= MaxMetricsPerPageFilter })
        {
            filter += " and (" + string.Join(" or ", metrics.Select(m => TableClient.CreateQueryFilter($"Metric eq {m}"))) + ")";
        }
        var result = new List<TableEntity>();
        await foreach (var entity in table.QueryAsync<TableEntity>(filter, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            result.Add(entity);
        }
        return result;
    }

    public static M4Page DecodePage(TableEntity entity)
    {
        var level = entity.GetInt32("Level") ?? 0;
        return M4Page.Deserialize(PageFormat(entity), entity.GetInt64("Applied") ?? 0, M4Levels.Widths[level], entity.GetInt64("Page") ?? 0, LineCodec.ReadData(entity));
    }

    /// <summary>A page entity's byte format: pages written before formats were recorded are fixed-width.</summary>
    public static int PageFormat(TableEntity entity) => entity.GetInt32("Format") ?? M4Page.FixedFormat;

    /// <summary>
    /// The page writes for a round's contributions. A page comes from <paramref name="cachedPages"/> (its
    /// ETag guards it), or is known absent when it starts above <paramref name="maxStepBefore"/> (no folded
    /// point reaches it; written with Add, which fails if it exists after all), or is read.
    /// </summary>
    private async Task<List<TableTransactionAction>> BuildPageActionsAsync(RunKey run, Dictionary<(int Level, long Page, string Metric), List<(int Slot, long Line, long Step, double Value)>> contributions, long appliedThrough, long? maxStepBefore, Dictionary<string, TableEntity>? cachedPages, CancellationToken cancellationToken)
    {
        var existing = new Dictionary<string, TableEntity>(StringComparer.Ordinal);
        var toRead = new List<(int Level, long Page)>();
        foreach (var (level, pageIndex, metric) in contributions.Keys)
        {
            if (cachedPages is not null && cachedPages.TryGetValue(PageKey(level, pageIndex, metric), out var cached))
            {
                existing[cached.RowKey] = cached;
            }
            else if (maxStepBefore is { } max && pageIndex * M4Levels.PageSlots * M4Levels.Widths[level] <= max)
            {
                toRead.Add((level, pageIndex));
            }
        }
        // One range query per level fetches every metric's pages still to read (row keys are level-major).
        var reads = toRead.GroupBy(k => k.Level).Select(g => ReadPagesAsync(run, g.Key, g.Min(k => k.Page), g.Max(k => k.Page), null, cancellationToken));
        foreach (var entities in await Task.WhenAll(reads).ConfigureAwait(false))
        {
            foreach (var entity in entities)
            {
                existing[entity.RowKey] = entity;
            }
        }
        var actions = new List<TableTransactionAction>(contributions.Count);
        foreach (var ((level, pageIndex, metric), points) in contributions)
        {
            var rowKey = PageKey(level, pageIndex, metric);
            existing.TryGetValue(rowKey, out var stored);
            var page = stored is null ? new M4Page(0, new SortedDictionary<int, M4Accumulator>()) : DecodePage(stored);
            if (page.AppliedThrough >= appliedThrough)
            {
                continue;
            }
            // Points come in step order, so a slot's points are consecutive: fold them into a local
            // accumulator and touch the page's sorted map once per slot, not once per point.
            var currentSlot = -1;
            var accumulator = default(M4Accumulator);
            foreach (var (slot, line, step, value) in points)
            {
                if (line < page.AppliedThrough)
                {
                    continue;
                }
                if (slot != currentSlot)
                {
                    if (currentSlot >= 0)
                    {
                        page.Slots[currentSlot] = accumulator;
                    }
                    page.Slots.TryGetValue(slot, out accumulator);
                    currentSlot = slot;
                }
                accumulator.Add(step, value);
            }
            if (currentSlot >= 0)
            {
                page.Slots[currentSlot] = accumulator;
            }
            page.AppliedThrough = appliedThrough;
            var entity = new TableEntity(run.PartitionKey, rowKey)
            {
                ["Applied"] = appliedThrough,
                ["Metric"] = metric,
                ["Level"] = level,
                ["Page"] = pageIndex,
                ["Format"] = M4Page.CompactFormat,
            };
            LineCodec.WriteData(entity, page.Serialize(M4Page.CompactFormat, M4Levels.Widths[level], pageIndex));
            actions.Add(stored is null
                ? new TableTransactionAction(TableTransactionActionType.Add, entity)
                : new TableTransactionAction(TableTransactionActionType.UpdateReplace, entity, stored.ETag));
        }
        return actions;
    }

    // ---------------------------------------------------------------- reading

    /// <summary>The number of distinct line indexes stored (= the end offset when the lines are contiguous).</summary>
    public async Task<long> LineCountAsync(RunKey run, CancellationToken cancellationToken)
    {
        var state = await ReadStateAsync(run, cancellationToken).ConfigureAwait(false);
        var listing = await ListChunksAsync(run, state.Applied - MaxLinesPerEntity, cancellationToken).ConfigureAwait(false);
        var (segments, _) = Resolve(listing, state.Applied);
        return state.Applied + segments.Sum(s => s.To - s.From);
    }

    /// <summary>Lines [fromLine, fromLine + max) that are stored (gaps are skipped), resolved by the overlap rule.</summary>
    public async Task<List<StoredLine>> ReadLinesAsync(RunKey run, long fromLine, int max, CancellationToken cancellationToken)
    {
        var result = new List<StoredLine>();
        if (max <= 0)
        {
            return result;
        }
        var to = fromLine + max;
        var table = await TableAsync().ConfigureAwait(false);
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {run.PartitionKey} and RowKey ge {ChunkFloor(fromLine - MaxLinesPerEntity)} and RowKey lt {ChunkFloor(to)}");
        var entities = new Dictionary<string, TableEntity>(StringComparer.Ordinal);
        await foreach (var entity in table.QueryAsync<TableEntity>(filter, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            entities[entity.RowKey] = entity;
        }
        var (segments, _) = Resolve(entities.Keys.Select(ChunkRef.Parse), fromLine, to);
        foreach (var segment in segments)
        {
            var lines = await DecodeChunkAsync(entities[segment.Chunk.RowKey], cancellationToken).ConfigureAwait(false);
            for (var index = segment.From; index < segment.To; index++)
            {
                result.Add(new StoredLine(index, lines[(int)(index - segment.Chunk.Start)]));
            }
        }
        return result;
    }

    /// <summary>Every stored line from <paramref name="fromLine"/> on, page by page.</summary>
    public async IAsyncEnumerable<StoredLine> ScanLinesAsync(RunKey run, long fromLine, long toLine, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var position = fromLine;
        while (position < toLine)
        {
            var page = await ReadLinesAsync(run, position, (int)Math.Min(MaxRoundLines, toLine - position), cancellationToken).ConfigureAwait(false);
            if (page.Count == 0)
            {
                yield break;
            }
            foreach (var line in page)
            {
                yield return line;
            }
            position = page[^1].Index + 1;
        }
    }

    internal readonly record struct StepIndexEntry(long Start, long End, long? MaxBefore, long? MinStep, long? MaxStep);

    /// <summary>The run's step-index entries in line order, ending with <paramref name="state"/>'s unstored tail.</summary>
    public async Task<List<StepIndexEntry>> ReadStepIndexAsync(RunKey run, StreamState state, CancellationToken cancellationToken)
    {
        var table = await TableAsync().ConfigureAwait(false);
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {run.PartitionKey} and RowKey ge {"s:"} and RowKey lt {"s;"}");
        var result = new List<StepIndexEntry>();
        await foreach (var e in table.QueryAsync<TableEntity>(filter, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            result.Add(new StepIndexEntry(
                e.GetInt64("Start") ?? 0,
                e.GetInt64("End") ?? 0,
                e.GetInt64("MaxBefore") is { } b && b >= 0 ? b : null,
                e.GetInt64("MinStep") is { } mn && mn >= 0 ? mn : null,
                e.GetInt64("MaxStep") is { } mx && mx >= 0 ? mx : null));
        }
        result.Sort((x, y) => x.Start.CompareTo(y.Start));
        if (state.StepTail is { } tail)
        {
            // Entries past the tail's start are leftovers of a flush whose state write lost a race: not counted.
            result.RemoveAll(e => e.End > tail.Start);
            result.Add(tail);
        }
        return result;
    }

    /// <summary>
    /// Effective rows (see the class remarks) with steps in [minStep, maxStep], in step order. History
    /// uses the step index to read only the lines that can hold those steps; events (no steps) read all rows.
    /// </summary>
    public async IAsyncEnumerable<HistoryRow> ReadRowsAsync(RunKey run, long? minStep, long? maxStep, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var state = await ReadStateAsync(run, cancellationToken).ConfigureAwait(false);
        long fromLine = 0, toLine = state.Applied;
        long? running = null;
        if (_stepped && (minStep is not null || maxStep is not null))
        {
            var entries = (await ReadStepIndexAsync(run, state, cancellationToken).ConfigureAwait(false))
                .Where(e => e.End <= state.Applied && e.MinStep is not null && e.MaxStep >= (minStep ?? 0) && e.MinStep <= (maxStep ?? long.MaxValue))
                .ToList();
            if (entries.Count == 0)
            {
                yield break;
            }
            fromLine = entries[0].Start;
            running = entries[0].MaxBefore;
            toLine = entries.Max(e => e.End);
        }
        await foreach (var line in ScanLinesAsync(run, fromLine, toLine, cancellationToken).ConfigureAwait(false))
        {
            var row = HistoryValues.ParseRow(line.Index, line.Text);
            if (row is null)
            {
                continue;
            }
            if (_stepped)
            {
                if (row.Step is not { } step || (running is { } max && step <= max))
                {
                    continue;
                }
                running = step;
                if (step < (minStep ?? long.MinValue))
                {
                    continue;
                }
                if (step > (maxStep ?? long.MaxValue))
                {
                    yield break;
                }
            }
            yield return row;
        }
    }

    // ---------------------------------------------------------------- prefix, rewind, rebuild

    /// <summary>The index of the first effective line whose step is above <paramref name="lastKeptStep"/> (or the watermark when none is).</summary>
    public async Task<long> FirstLineAfterStepAsync(RunKey run, long lastKeptStep, CancellationToken cancellationToken)
    {
        var state = await ReadStateAsync(run, cancellationToken).ConfigureAwait(false);
        var entries = await ReadStepIndexAsync(run, state, cancellationToken).ConfigureAwait(false);
        var entry = entries.FirstOrDefault(e => e.End <= state.Applied && e.MaxStep > lastKeptStep);
        if (entry.End == 0)
        {
            return state.Applied;
        }
        var running = entry.MaxBefore;
        await foreach (var line in ScanLinesAsync(run, entry.Start, entry.End, cancellationToken).ConfigureAwait(false))
        {
            var row = HistoryValues.ParseRow(line.Index, line.Text);
            if (row?.Step is not { } step || (running is { } max && step <= max))
            {
                continue;
            }
            if (step > lastKeptStep)
            {
                return line.Index;
            }
            running = step;
        }
        return entry.End;
    }

    /// <summary>
    /// Moves every line from <paramref name="fromLine"/> on into <paramref name="archiveTable"/> (row keys
    /// prefixed with <paramref name="archiveId"/>), keeps lines before it, and rebuilds the derived data.
    /// </summary>
    public async Task<long> TruncateAsync(RunKey run, long fromLine, string archiveTable, string archiveId, CancellationToken cancellationToken)
    {
        var table = await TableAsync().ConfigureAwait(false);
        var archive = await _storage.TableAsync(archiveTable).ConfigureAwait(false);
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {run.PartitionKey} and RowKey ge {ChunkFloor(fromLine - MaxLinesPerEntity)} and RowKey lt {ChunkCeiling}");
        var affected = new List<TableEntity>();
        await foreach (var entity in table.QueryAsync<TableEntity>(filter, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            if (ChunkRef.Parse(entity.RowKey).End > fromLine)
            {
                affected.Add(entity);
            }
        }
        long archived = 0;
        var archiveActions = new List<TableTransactionAction>();
        foreach (var entity in affected)
        {
            var copy = new TableEntity(run.PartitionKey, archiveId + ":" + _tableName + ":" + entity.RowKey);
            foreach (var (name, value) in entity)
            {
                if (name is not ("PartitionKey" or "RowKey" or "Timestamp" or "odata.etag"))
                {
                    copy[name] = value;
                }
            }
            archiveActions.Add(new TableTransactionAction(TableTransactionActionType.UpsertReplace, copy));
            var chunk = ChunkRef.Parse(entity.RowKey);
            archived += chunk.End - Math.Max(chunk.Start, fromLine);
        }
        await archive.SubmitBatchAsync(archiveActions, cancellationToken).ConfigureAwait(false);
        foreach (var entity in affected)
        {
            var chunk = ChunkRef.Parse(entity.RowKey);
            if (chunk.Start < fromLine)
            {
                var lines = await DecodeChunkAsync(entity, cancellationToken).ConfigureAwait(false);
                var kept = lines.Take((int)(fromLine - chunk.Start)).ToList();
                await WriteChunksAsync(run, BuildChunks(run, chunk.Start, kept), cancellationToken).ConfigureAwait(false);
            }
            await table.DeleteAsync(run.PartitionKey, entity.RowKey, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        await RebuildAsync(run, cancellationToken).ConfigureAwait(false);
        return archived;
    }

    /// <summary>Drops the derived data (state, step index, rollups) and folds all stored lines again.</summary>
    public async Task RebuildAsync(RunKey run, CancellationToken cancellationToken)
    {
        var table = await TableAsync().ConfigureAwait(false);
        var deletes = new List<TableTransactionAction>();
        // Rollup pages, their snapshots (see RollupSnapshot) and the step index.
        foreach (var (floor, ceiling) in new[] { ("m:", "m;"), ("n:", "n;"), ("s:", "s;") })
        {
            var filter = TableClient.CreateQueryFilter($"PartitionKey eq {run.PartitionKey} and RowKey ge {floor} and RowKey lt {ceiling}");
            await foreach (var entity in table.QueryAsync<TableEntity>(filter, select: ["RowKey"], cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                deletes.Add(new TableTransactionAction(TableTransactionActionType.Delete, new TableEntity(run.PartitionKey, entity.RowKey), ETag.All));
            }
        }
        await table.SubmitBatchAsync(deletes, cancellationToken).ConfigureAwait(false);
        try
        {
            await table.DeleteAsync(run.PartitionKey, StateRow, ETag.All, cancellationToken).ConfigureAwait(false);
        }
        catch (NotFoundException)
        {
            // Nothing derived yet.
        }
        await AdvanceAsync(run, cancellationToken).ConfigureAwait(false);
    }
}
