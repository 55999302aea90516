using System.Collections.Concurrent;
using System.Diagnostics;
using Azure;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Weightless.Core.Errors;
using Weightless.Core.Storage;

namespace Weightless.Core.Query;

internal sealed class RunIndexOptions
{
    public const string Section = "RunIndex";

    /// <summary>
    /// How long a cached index is served without reading the change log. Zero (the default) reads the
    /// log's tail on every query, so a query reflects every run write that finished before it started.
    /// </summary>
    public TimeSpan Freshness { get; set; } = TimeSpan.Zero;

    /// <summary>The least time between two snapshot uploads of one project.</summary>
    public TimeSpan SaveInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The least time between two saves as a multiple of the last save's encode + upload time: a large
    /// snapshot (40 MB at 100,000 runs) keeps storage busy for seconds, so it is saved at most this
    /// share of the time (the change log covers what a cold start needs in between).
    /// </summary>
    public double SaveBackoff { get; set; } = 10;

    /// <summary>A snapshot older than this is rebuilt from all runs (a safety net for writes that bypass the change log).</summary>
    public TimeSpan FullRebuildAfter { get; set; } = TimeSpan.FromHours(24);

    /// <summary>
    /// How far before the watermark change-log reads start: covers writers whose entry time was taken
    /// before a read but whose entry landed after it, and clock differences between instances.
    /// </summary>
    public TimeSpan WatermarkMargin { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long change-log entries are kept before the window a cold start of a saved snapshot reads:
    /// each save compacts the log (deletes older entries, <see cref="RunChangeLog.CompactAsync"/>), so a
    /// tail read stays short. A cached index not refreshed for about this long before another instance's
    /// save reopens from the snapshot (the log's compaction mark tells it), which costs about a cold start.
    /// </summary>
    public TimeSpan ChangeLogRetention { get; set; } = TimeSpan.FromSeconds(30);
}

/// <summary>
/// Where one query's time went (the bench prints these): waiting for the project lock; on a cold start
/// the snapshot's first read (<see cref="HeaderMs"/>: header and runs bytes), the runs decoded
/// (<see cref="OpenMs"/>: the open in all), then in parallel the change-log tail read (<see cref="TailMs"/>,
/// its own duration) and the query's columns (<see cref="ColumnsMs"/>: waited for beyond the tail); the row versions when
/// an entry needs matching (<see cref="VersionsMs"/>); re-reading the runs the tail names; and the query
/// itself (the rows of a lazily opened table included; they were fetched alongside the tail).
/// </summary>
internal sealed record RunIndexReadTiming(double LockWaitMs, double OpenMs, double TailMs, double RereadMs, int RunsReread, double ColumnsMs, double ReadMs, double HeaderMs = 0, double VersionsMs = 0)
{
    /// <summary>The refresh's wall time: open, then the tail (overlapping the open on a cold start), versions and re-reads.</summary>
    public double RefreshMs { get; init; }

    /// <summary>A cold start's columns in place (from the refresh's start), then the page worked out (its rows' point reads start then).</summary>
    public double ColumnsInMs { get; init; }

    /// <summary>Working out a cold start's page (the query over the decoded columns), within the refresh.</summary>
    public double PageMs { get; init; }
}

/// <summary>One background snapshot save: freeze (under the project lock), encode, upload and the change log's compaction (outside it).</summary>
internal sealed record RunIndexSaveTiming(DateTimeOffset StartedAt, double FreezeMs, double EncodeMs, double UploadMs, double CompactMs, long Bytes);

/// <summary>
/// The per-project run index: a materialised snapshot of every run's filterable fields, kept as a
/// blob (container <c>runindex</c>, one per project, written If-Match its ETag) and cached in process.
/// Changes come from the project's change log (<see cref="RunChangeLog"/>): a refresh reads the log's
/// tail after the watermark (one indexed range read) and point-reads only the runs named there; a cold
/// start downloads the snapshot and applies the tail after its watermark. So filter/sort/group over
/// 100,000 runs never scans the runs. A snapshot save freezes the table (copy-on-write pages, a few
/// milliseconds under the lock) and encodes and uploads that frozen version in the background, so a
/// query never waits for an encode or an upload.
/// </summary>
internal sealed class RunIndexService(StorageAccount storage, IRunIndexSource source, TimeProvider clock, IOptions<RunIndexOptions> options, ILogger<RunIndexService> logger)
{
    public const string ContainerName = "runindex";

    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    private sealed class Entry
    {
        public SemaphoreSlim Lock { get; } = new(1, 1);
        public RunTable? Table { get; set; }
        public ETag? ETag { get; set; }

        /// <summary>Every run commit that finished before this time is in the table.</summary>
        public DateTimeOffset Watermark { get; set; }
        public DateTimeOffset BuiltAt { get; set; }
        public DateTimeOffset CheckedAt { get; set; }
        public DateTimeOffset SavedAt { get; set; }
        public bool Dirty { get; set; }

        /// <summary>How long the last save took to encode and upload.</summary>
        public TimeSpan LastSaveDuration { get; set; }

        /// <summary>The snapshot upload in flight (its result is the blob's new ETag); queries never wait for it.</summary>
        public Task<ETag?>? Saving { get; set; }

        /// <summary>The background decode of a lazily opened table's remaining columns.</summary>
        public Task? Materializing { get; set; }

        /// <summary>Queries served by the current table since it was opened from the snapshot.</summary>
        public int ReadsSinceOpen { get; set; }
    }

    /// <summary>Stage times of the refresh in progress (under the project lock).</summary>
    private sealed class RefreshTiming
    {
        public double HeaderMs { get; set; }
        public double OpenMs { get; set; }
        public double VersionsMs { get; set; }
        public double WallMs { get; set; }
        public double TailMs { get; set; }
        public double RereadMs { get; set; }
        public int RunsReread { get; set; }

        /// <summary>Waiting for the query's columns once the change-log tail was read.</summary>
        public double ColumnsMs { get; set; }

        public double ColumnsInMs { get; set; }
        public double PageMs { get; set; }
    }

    /// <summary>
    /// The first bytes a cold open reads: the header and, up to ~100,000 runs, the runs segment in one
    /// request. The query's columns and the change-log tail are read in parallel once it names them.
    /// </summary>
    private const int HeaderReadBytes = 1 << 20;

    private readonly ConcurrentQueue<RunIndexSaveTiming> _saves = new();

    /// <summary>The stages of the last query on this instance (diagnostics for the bench).</summary>
    public RunIndexReadTiming? LastRead { get; private set; }

    /// <summary>The last few snapshot saves on this instance, oldest first (diagnostics for the bench).</summary>
    public IReadOnlyList<RunIndexSaveTiming> RecentSaves => [.. _saves];

    /// <summary>Runs <paramref name="read"/> over the project's current index with every column decoded (serialised per project).</summary>
    public Task<T> ReadAsync<T>(string entity, string project, Func<RunTable, T> read, CancellationToken cancellationToken) =>
        ReadAsync(entity, project, null, (table, _) => Task.FromResult(read(table)), cancellationToken);

    /// <summary>
    /// As <see cref="ReadAsync{T}(string, string, IReadOnlyCollection{RunField}, Func{RunTable, CancellationToken, Task{T}}, CancellationToken)"/>
    /// for a query that answers one page: on a cold start <paramref name="page"/> runs as soon as the columns
    /// are in, while the change-log tail is still being read, and the rows at its <paramref name="positions"/>
    /// are fetched meanwhile (<see cref="RunTable.PrefetchRows"/>), so the tail and the page's point reads
    /// overlap. <paramref name="read"/> gets that page when the tail changed nothing (else the page worked out again).
    /// </summary>
    public async Task<T> ReadPageAsync<TPage, T>(string entity, string project, IReadOnlyCollection<RunField> fields, Func<RunTable, TPage> page, Func<TPage, IReadOnlyList<int>> positions,
        Func<RunTable, TPage, CancellationToken, Task<T>> read, CancellationToken cancellationToken, SnapshotPrefetch? prefetch = null)
    {
        (RunTable Table, long Revision, TPage Page)? early = null;
        return await ReadAsync(entity, project, fields,
            (table, ct) => read(table, early is { } known && ReferenceEquals(known.Table, table) && known.Revision == table.Revision ? known.Page : page(table), ct),
            cancellationToken,
            table =>
            {
                var result = page(table);
                early = (table, table.Revision, result);
                return positions(result);
            }, prefetch).ConfigureAwait(false);
    }

    /// <summary>
    /// A cold start's first read of a project's snapshot (header and runs), started before the project
    /// lock is taken, e.g. while the caller checks the principal's access. Nothing is cached or written
    /// for the project until the prefetch is handed to <see cref="ReadPageAsync"/>; <see cref="Abandon"/> it otherwise.
    /// </summary>
    internal sealed class SnapshotPrefetch(string entity, string project, Task<(BinaryData Content, ETag ETag)?> read)
    {
        public string Entity { get; } = entity;
        public string Project { get; } = project;
        public Task<(BinaryData Content, ETag ETag)?> Read { get; } = read;

        /// <summary>Observes the read's failure, for when nobody awaits it (the caller was refused, or a cached table answered).</summary>
        public void Abandon() => _ = Read.ContinueWith(static t => t.Exception, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously);
    }

    /// <summary>
    /// Starts the snapshot's first read when this instance holds no index of the project (a cold start
    /// ahead); null when one is cached. The read has no effect until passed to <see cref="ReadPageAsync"/>.
    /// </summary>
    public SnapshotPrefetch? Prefetch(string entity, string project, CancellationToken cancellationToken)
    {
        if (_entries.TryGetValue(Key(entity, project), out var entry) && entry.Table is not null)
        {
            return null;
        }
        return new SnapshotPrefetch(entity, project, FirstReadAsync(entity, project, cancellationToken));
    }

    private async Task<(BinaryData Content, ETag ETag)?> FirstReadAsync(string entity, string project, CancellationToken cancellationToken)
    {
        var container = await storage.ContainerAsync(ContainerName).ConfigureAwait(false);
        return await container.DownloadRangeAsync(BlobName(entity, project), 0, HeaderReadBytes, null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Runs <paramref name="read"/> over the project's current index (serialised per project) once the
    /// columns of <paramref name="fields"/> are decoded; null decodes every column. A cold start opens
    /// the snapshot lazily, so naming the fields a query reads spares decoding the others; the rows of a
    /// page come from <see cref="RunTable.RowsAsync"/>.
    /// </summary>
    public async Task<T> ReadAsync<T>(string entity, string project, IReadOnlyCollection<RunField>? fields, Func<RunTable, CancellationToken, Task<T>> read, CancellationToken cancellationToken) =>
        await ReadAsync(entity, project, fields, read, cancellationToken, null, null).ConfigureAwait(false);

    private async Task<T> ReadAsync<T>(string entity, string project, IReadOnlyCollection<RunField>? fields, Func<RunTable, CancellationToken, Task<T>> read, CancellationToken cancellationToken,
        Func<RunTable, IReadOnlyList<int>>? page, SnapshotPrefetch? prefetch)
    {
        if (prefetch is not null && (prefetch.Entity != entity || prefetch.Project != project))
        {
            throw new ArgumentException("The prefetch is of another project.", nameof(prefetch));
        }
        // Observed whether or not an open takes it (a cached table answers without).
        prefetch?.Abandon();
        var entry = _entries.GetOrAdd(Key(entity, project), _ => new Entry());
        var watch = Stopwatch.StartNew();
        await entry.Lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        var lockWait = watch.Elapsed.TotalMilliseconds;
        try
        {
            for (var attempt = 0; ; attempt++)
            {
                try
                {
                    var timing = new RefreshTiming();
                    // A prefetched first read serves the first open only (a reopen reads the blob afresh).
                    var firstRead = attempt == 0 ? prefetch : null;
                    prefetch = null;
                    await RefreshAsync(entry, entity, project, fields, page, timing, cancellationToken, firstRead).ConfigureAwait(false);
                    var table = entry.Table!;
                    var refreshed = watch.Elapsed.TotalMilliseconds;
                    await (fields is null ? table.EnsureLoadedAsync(cancellationToken) : table.EnsureColumnsAsync(fields, cancellationToken)).ConfigureAwait(false);
                    var columns = watch.Elapsed.TotalMilliseconds;
                    var result = await read(table, cancellationToken).ConfigureAwait(false);
                    LastRead = new RunIndexReadTiming(lockWait, timing.OpenMs, timing.TailMs, timing.RereadMs, timing.RunsReread, timing.ColumnsMs + columns - refreshed, watch.Elapsed.TotalMilliseconds - columns, timing.HeaderMs, timing.VersionsMs)
                    {
                        RefreshMs = timing.WallMs,
                        ColumnsInMs = timing.ColumnsInMs,
                        PageMs = timing.PageMs,
                    };
                    if (!table.IsLoaded && ++entry.ReadsSinceOpen >= 2)
                    {
                        // Queried again: decode the rest in the background, so later queries read rows from memory.
                        StartMaterialize(entry, table);
                    }
                    return result;
                }
                catch (ConflictException) when (attempt == 0 && entry.Table is not { IsLoaded: true })
                {
                    // The snapshot blob was replaced under the lazily opened table (or while it was being
                    // opened: its header and runs are separate reads): open the new one.
                    logger.LogDebug("Run index snapshot of {Entity}/{Project} changed while it was being read; reopening", entity, project);
                    entry.Table = null;
                }
            }
        }
        finally
        {
            entry.Lock.Release();
        }
    }

    /// <summary>
    /// Brings the project's index up to date and saves its snapshot now, waiting for the upload (the
    /// bench and tests use it to measure cold starts right after a save).
    /// </summary>
    public async Task SaveAsync(string entity, string project, CancellationToken cancellationToken)
    {
        var entry = _entries.GetOrAdd(Key(entity, project), _ => new Entry());
        if (entry.Saving is { } inFlight)
        {
            await inFlight.ConfigureAwait(false);
        }
        await entry.Lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await RefreshAsync(entry, entity, project, null, null, new RefreshTiming(), cancellationToken).ConfigureAwait(false);
            await entry.Table!.EnsureLoadedAsync(cancellationToken).ConfigureAwait(false);
            var container = await storage.ContainerAsync(ContainerName).ConfigureAwait(false);
            StartSave(entry, container, entity, project);
        }
        finally
        {
            entry.Lock.Release();
        }
        await entry.Saving!.ConfigureAwait(false);
    }

    /// <summary>Applies this service's own writes at once (read-your-writes); the change log stays the truth the next refresh reads.</summary>
    public async Task ApplyAsync(string entity, string project, IEnumerable<RunIndexRow> upserts, IEnumerable<string> removals, CancellationToken cancellationToken)
    {
        if (!_entries.TryGetValue(Key(entity, project), out var entry))
        {
            return;
        }
        await entry.Lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (entry.Table is null)
            {
                return;
            }
            foreach (var row in upserts)
            {
                entry.Table.Upsert(row);
            }
            foreach (var id in removals)
            {
                entry.Table.Remove(id);
            }
            entry.Dirty = true;
        }
        finally
        {
            entry.Lock.Release();
        }
    }

    /// <summary>Drops the in-process copy (tests and the bench measure cold reads with it).</summary>
    public void Evict(string entity, string project) => _entries.TryRemove(Key(entity, project), out _);

    /// <summary>Rebuilds the project's snapshot from all its runs and saves it.</summary>
    public async Task RebuildAsync(string entity, string project, CancellationToken cancellationToken)
    {
        var entry = _entries.GetOrAdd(Key(entity, project), _ => new Entry());
        await entry.Lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await BuildAsync(entry, entity, project, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            entry.Lock.Release();
        }
        await entry.Saving!.ConfigureAwait(false);
    }

    /// <summary>
    /// Brings the entry up to date, noting where the time went in <paramref name="timing"/>. The columns
    /// of <paramref name="fields"/> (null: all) a lazily opened table lacks load while the change-log tail
    /// is read; so do the rows of <paramref name="page"/> (see <see cref="ReadPageAsync"/>).
    /// </summary>
    private async Task RefreshAsync(Entry entry, string entity, string project, IReadOnlyCollection<RunField>? fields, Func<RunTable, IReadOnlyList<int>>? page, RefreshTiming timing, CancellationToken cancellationToken,
        SnapshotPrefetch? prefetch = null)
    {
        var now = clock.GetUtcNow();
        var settings = options.Value;
        if (entry.Table is not null && now - entry.CheckedAt < settings.Freshness)
        {
            return;
        }
        var container = await storage.ContainerAsync(ContainerName).ConfigureAwait(false);
        var blobName = BlobName(entity, project);
        var wall = Stopwatch.StartNew();

        // A leased log entry covers its run's commits for a lease after it (writers skip entries
        // meanwhile), so the tail is read from (watermark - margin - lease). The margin covers entries
        // whose time was taken before the last read but that landed after it, and clock differences.
        // A run named there is re-read unless the table already read it after every commit the entry
        // may stand for (RunTable.Covers: its read mark, or the last full build) or holds exactly the
        // version the entry's commit wrote (RunTable.HoldsVersion): a snapshot saved right after a burst
        // of writes, or built right after a bulk seed, does not make each cold start re-read that burst.
        // An entry without a lease stands for one commit only: from before (watermark - margin) the table
        // holds it (it landed before the last read), so only leased entries are read from that far back.
        TailRead StartTail(DateTimeOffset watermark)
        {
            var since = watermark - settings.WatermarkMargin - RunChangeLog.Lease;
            var unleasedSince = watermark - settings.WatermarkMargin;
            return new(clock.GetUtcNow(), since, unleasedSince, Timed(source.ReadChangesAsync(entity, project, since, unleasedSince, cancellationToken)));
        }
        TailRead? tail = null;
        var opened = entry.Table is null;
        if (entry.Table is null)
        {
            // A cold open starts the tail read as soon as the snapshot header names the watermark.
            tail = await OpenAsync(entry, container, blobName, entity, project, fields, StartTail, timing, cancellationToken, prefetch).ConfigureAwait(false);
            if (entry.Table is null)
            {
                await BuildAsync(entry, entity, project, cancellationToken).ConfigureAwait(false);
            }
        }
        timing.OpenMs = wall.Elapsed.TotalMilliseconds;
        if (now - entry.BuiltAt > settings.FullRebuildAfter)
        {
            if (tail is not null)
            {
                await ((Task)tail.Changes).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                tail = null;
            }
            await BuildAsync(entry, entity, project, cancellationToken).ConfigureAwait(false);
        }

        var table = entry.Table!;
        tail ??= StartTail(entry.Watermark);
        // A cold start's slowest reads overlap: the query's columns load while the tail is read (nothing
        // else touches the table until they are in place; a re-read run is upserted after), and once
        // they are in, the page the query will answer is worked out and its rows fetched.
        var columnsLoading = table.IsLoaded ? Task.CompletedTask
            : fields is null ? table.EnsureLoadedAsync(cancellationToken) : table.EnsureColumnsAsync(fields, cancellationToken);
        if (page is not null && table.Loader is not null)
        {
            columnsLoading = PrefetchPageAsync(table, columnsLoading, page, timing, wall, cancellationToken);
        }
        RunChangeSet changes;
        var readStart = tail.ReadStart;
        try
        {
            (changes, timing.TailMs) = await tail.Changes.ConfigureAwait(false);
        }
        finally
        {
            await columnsLoading.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
        var tailDone = wall.Elapsed.TotalMilliseconds;
        // A failed column load surfaces here (a replaced snapshot is a ConflictException: the caller reopens).
        await columnsLoading.ConfigureAwait(false);
        timing.ColumnsMs = wall.Elapsed.TotalMilliseconds - tailDone;
        if (changes.CompactedThroughTicks > tail.Since.UtcTicks)
        {
            // The log was compacted past this table's window (it sat idle while another instance saved, or
            // the snapshot it opened predates that save): entries it needs may be gone. The snapshot saved
            // before the compaction holds them; a snapshot opened just now that is older still is rebuilt.
            logger.LogDebug("Run change log of {Entity}/{Project} was compacted past the index's window; reopening", entity, project);
            if (opened)
            {
                await BuildAsync(entry, entity, project, cancellationToken).ConfigureAwait(false);
                entry.CheckedAt = clock.GetUtcNow();
                return;
            }
            entry.Table = null;
            await RefreshAsync(entry, entity, project, fields, page, timing, cancellationToken).ConfigureAwait(false);
            return;
        }
        var newest = new Dictionary<string, long>(StringComparer.Ordinal);
        var uncovered = new List<RunChange>();
        var unleasedSince = tail.UnleasedSince.UtcTicks;
        foreach (var change in changes.Changes)
        {
            if (change.Lease == TimeSpan.Zero && change.Ticks < unleasedSince)
            {
                // Held already (see StartTail); a source that does not filter in storage sends these too.
                continue;
            }
            newest[change.RunId] = Math.Max(newest.GetValueOrDefault(change.RunId), change.Ticks);
            if (!table.Covers(change, settings.WatermarkMargin))
            {
                uncovered.Add(change);
            }
        }
        var watch = Stopwatch.StartNew();
        if (uncovered.Exists(c => c.Version != 0 && c.Lease == TimeSpan.Zero))
        {
            await table.EnsureVersionsAsync(cancellationToken).ConfigureAwait(false);
        }
        timing.VersionsMs = watch.Elapsed.TotalMilliseconds;
        var changed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var change in uncovered)
        {
            if (!table.HoldsVersion(change))
            {
                changed.Add(change.RunId);
            }
        }
        watch.Restart();
        if (changed.Count > 0)
        {
            var delta = await source.ReadRunsAsync(entity, project, changed, cancellationToken).ConfigureAwait(false);
            foreach (var row in delta.Rows)
            {
                table.Upsert(row);
            }
            foreach (var id in delta.Removed)
            {
                table.Remove(id);
            }
            // Read after every entry seen above had landed, so each of them is in the table now.
            foreach (var id in changed)
            {
                table.MarkRead(id, newest[id], readStart.UtcTicks);
            }
            entry.Dirty = true;
        }
        timing.RereadMs = watch.Elapsed.TotalMilliseconds;
        timing.RunsReread = changed.Count;
        timing.WallMs = wall.Elapsed.TotalMilliseconds;
        entry.Watermark = readStart;
        var saveInterval = TimeSpan.FromTicks(Math.Max(settings.SaveInterval.Ticks, Math.Min((long)(entry.LastSaveDuration.Ticks * settings.SaveBackoff), MaxBackoffInterval.Ticks)));
        if (entry.Dirty && now - entry.SavedAt >= saveInterval)
        {
            if (table.IsLoaded)
            {
                StartSave(entry, container, entity, project);
            }
            else
            {
                // A save encodes every column: decode the rest first (in the background); a later refresh saves.
                StartMaterialize(entry, table);
            }
        }
        entry.CheckedAt = clock.GetUtcNow();
    }

    /// <summary>The longest time <see cref="RunIndexOptions.SaveBackoff"/> puts between two saves.</summary>
    private static readonly TimeSpan MaxBackoffInterval = TimeSpan.FromMinutes(15);

    /// <summary>
    /// A change-log tail read in flight: when it started (the next watermark), the window it reads (leased
    /// entries from <see cref="Since"/>, all from <see cref="UnleasedSince"/>) and its entries with the read's own duration.
    /// </summary>
    private sealed record TailRead(DateTimeOffset ReadStart, DateTimeOffset Since, DateTimeOffset UnleasedSince, Task<(RunChangeSet Changes, double Ms)> Changes);

    private static async Task<(RunChangeSet, double)> Timed(Task<RunChangeSet> read)
    {
        var watch = Stopwatch.StartNew();
        var changes = await read.ConfigureAwait(false);
        return (changes, watch.Elapsed.TotalMilliseconds);
    }

    /// <summary>Once the query's columns are in, works out its page and starts fetching those rows (still under the caller's lock).</summary>
    private static async Task PrefetchPageAsync(RunTable table, Task columnsLoading, Func<RunTable, IReadOnlyList<int>> page, RefreshTiming timing, Stopwatch wall, CancellationToken cancellationToken)
    {
        await columnsLoading.ConfigureAwait(false);
        timing.ColumnsInMs = wall.Elapsed.TotalMilliseconds;
        var positions = page(table);
        timing.PageMs = wall.Elapsed.TotalMilliseconds - timing.ColumnsInMs;
        table.PrefetchRows(positions, cancellationToken);
    }

    /// <summary>Decodes a lazily opened table's remaining columns outside the lock and puts them in place under it.</summary>
    private void StartMaterialize(Entry entry, RunTable table)
    {
        var loader = table.Loader;
        var versionLoader = table.VersionLoader;
        if (entry.Materializing is { IsCompleted: false } || (loader is null && versionLoader is null))
        {
            return;
        }
        var pending = table.PendingColumns;
        entry.Materializing = Task.Run(async () =>
        {
            try
            {
                var values = new IndexColumn[pending.Count];
                var versions = versionLoader?.LoadVersionsAsync(CancellationToken.None);
                await Parallel.ForAsync(0, pending.Count, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (i, ct) =>
                    values[i] = await loader!.LoadColumnAsync(pending[i].Kind, pending[i].Name, ct).ConfigureAwait(false)).ConfigureAwait(false);
                var loadedVersions = versions is null ? null : await versions.ConfigureAwait(false);
                await entry.Lock.WaitAsync().ConfigureAwait(false);
                try
                {
                    if (ReferenceEquals(entry.Table, table))
                    {
                        for (var i = 0; i < pending.Count; i++)
                        {
                            if (table.IsPending(pending[i].Kind, pending[i].Name))
                            {
                                table.Install(pending[i].Kind, pending[i].Name, values[i]);
                            }
                        }
                        if (versions is not null)
                        {
                            table.InstallVersions(loadedVersions);
                        }
                    }
                }
                finally
                {
                    entry.Lock.Release();
                }
            }
            catch (Exception ex) when (ex is WeightlessException or RequestFailedException)
            {
                // The snapshot changed or storage failed: queries keep decoding columns on demand.
                logger.LogWarning(ex, "Decoding the rest of a run index snapshot failed");
            }
        });
    }

    private async Task BuildAsync(Entry entry, string entity, string project, CancellationToken cancellationToken)
    {
        // Changes made while the runs are read are in the log after this watermark.
        var watermark = clock.GetUtcNow();
        var table = new RunTable();
        await foreach (var row in source.ReadAllAsync(entity, project, cancellationToken).ConfigureAwait(false))
        {
            table.Upsert(row);
        }
        table.BaseReadTicks = watermark.UtcTicks;
        entry.Table = table;
        entry.Watermark = watermark;
        entry.BuiltAt = clock.GetUtcNow();
        // Dirty until a save starts (one may still be in flight; the next refresh then saves this build).
        entry.Dirty = true;
        var container = await storage.ContainerAsync(ContainerName).ConfigureAwait(false);
        StartSave(entry, container, entity, project);
    }

    /// <summary>
    /// Opens the saved snapshot with ranged reads: the header and runs first; then, in parallel, the
    /// columns <paramref name="fields"/> name and the change-log tail after the snapshot's watermark
    /// (<paramref name="startTail"/>, returned). The other columns stay in the blob until a query names
    /// them (read If-Match this ETag). An older snapshot layout is downloaded and decoded whole. Leaves
    /// <see cref="Entry.Table"/> null when there is no usable snapshot.
    /// </summary>
    private async Task<TailRead?> OpenAsync(Entry entry, BlobStore container, string blobName, string entity, string project, IReadOnlyCollection<RunField>? fields,
        Func<DateTimeOffset, TailRead> startTail, RefreshTiming timing, CancellationToken cancellationToken, SnapshotPrefetch? prefetch)
    {
        var watch = Stopwatch.StartNew();
        // A prefetched read may predate a save by moments: an older snapshot plus the log's tail is as right.
        var firstRead = prefetch?.Read ?? container.DownloadRangeAsync(blobName, 0, HeaderReadBytes, null, cancellationToken);
        if (await firstRead.ConfigureAwait(false) is not { } first)
        {
            return null;
        }
        var etag = first.ETag;
        var prefix = first.Content.ToMemory();
        var header = RunIndexCodec.ReadHeader(prefix.Span, out var needed);
        if (header is null && needed > prefix.Length)
        {
            prefix = await ReadRangeAsync(container, blobName, 0, needed, etag, cancellationToken).ConfigureAwait(false);
            header = RunIndexCodec.ReadHeader(prefix.Span, out _);
        }
        timing.HeaderMs = watch.Elapsed.TotalMilliseconds;
        if (header is null)
        {
            // Another layout (version 2): the whole blob, decoded at once.
            var whole = await container.DownloadAsync(blobName, cancellationToken).ConfigureAwait(false);
            if (whole is null || RunIndexCodec.Read(whole.Value.Content.ToMemory()) is not { } decoded)
            {
                return null;
            }
            SetOpened(entry, decoded, whole.Value.ETag);
            return null;
        }
        var loader = new SnapshotLoader(container, blobName, etag, header, prefix, source, entity, project);
        if (fields is not null)
        {
            // The query's columns load alongside the runs and the tail (RunTable.EnsureColumnsAsync picks them up).
            foreach (var field in fields)
            {
                loader.Prefetch(field.Kind, field.Name, cancellationToken);
            }
        }
        RunTable table;
        try
        {
            var runsEnd = header.RunsOffset + header.RunsLength;
            var runs = prefix;
            if (runsEnd > prefix.Length)
            {
                // More runs than the first read held: the rest of the segment.
                var rest = await ReadRangeAsync(container, blobName, prefix.Length, (int)(runsEnd - prefix.Length), etag, cancellationToken).ConfigureAwait(false);
                var joined = new byte[runsEnd];
                prefix.CopyTo(joined);
                rest.CopyTo(joined.AsMemory(prefix.Length));
                runs = joined;
            }
            table = RunTable.Open(RunIndexCodec.ScanRuns(runs.Slice((int)header.RunsOffset, header.RunsLength), header.Count), header.Columns.Select(c => (c.Kind, c.Name)), loader);
            RunIndexCodec.Restore(table, header);
        }
        catch
        {
            loader.Abandon();
            throw;
        }
        // Asked for once the runs are decoded, after the columns: a storage emulator serving one request
        // at a time sends the column bytes before it scans the log, and they decode while it does.
        var tail = startTail(header.Watermark);
        SetOpened(entry, new RunIndexSnapshot(table, header.Watermark, header.BuiltAt), etag);
        return tail;
    }

    private void SetOpened(Entry entry, RunIndexSnapshot snapshot, ETag etag)
    {
        entry.Table = snapshot.Table;
        entry.Watermark = snapshot.Watermark;
        entry.BuiltAt = snapshot.BuiltAt;
        entry.ETag = etag;
        entry.Dirty = false;
        entry.SavedAt = clock.GetUtcNow();
        entry.ReadsSinceOpen = 0;
    }

    /// <summary>A byte range of the snapshot blob as it was when opened; a replaced or deleted blob is a <see cref="ConflictException"/> (the caller reopens).</summary>
    private static async Task<ReadOnlyMemory<byte>> ReadRangeAsync(BlobStore container, string blobName, long offset, int length, ETag etag, CancellationToken cancellationToken)
    {
        var read = await container.DownloadRangeAsync(blobName, offset, length, etag, cancellationToken).ConfigureAwait(false)
            ?? throw new ConflictException("The run index snapshot was deleted while it was being read.");
        return read.Content.ToMemory();
    }

    /// <summary>
    /// The columns and row versions of one opened snapshot (ranged reads pinned to its ETag) and the
    /// current rows of named runs (point reads). Columns a cold query names start loading with the runs
    /// (<see cref="Prefetch"/>).
    /// </summary>
    private sealed class SnapshotLoader(BlobStore container, string blobName, ETag etag, RunIndexHeader header, ReadOnlyMemory<byte> prefix, IRunIndexSource source, string entity, string project) : IRunTableLoader
    {
        private readonly Dictionary<(RunFieldKind, string), RunIndexSegment> _segments = header.Columns.ToDictionary(c => (c.Kind, c.Name));
        private readonly ConcurrentDictionary<(RunFieldKind, string), Task<IndexColumn>> _started = new();

        /// <summary>Starts loading a column the snapshot has (no-op otherwise); <see cref="LoadColumnAsync"/> then takes it.</summary>
        public void Prefetch(RunFieldKind kind, string name, CancellationToken cancellationToken)
        {
            if (_segments.ContainsKey((kind, name)) && !_started.ContainsKey((kind, name)))
            {
                _started[(kind, name)] = Task.Run(() => ReadColumnAsync(kind, name, cancellationToken), cancellationToken);
            }
        }

        /// <summary>Observes the prefetched loads nobody will take (the open failed).</summary>
        public void Abandon()
        {
            foreach (var task in _started.Values)
            {
                _ = task.ContinueWith(static t => t.Exception, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously);
            }
            _started.Clear();
        }

        public Task<IndexColumn> LoadColumnAsync(RunFieldKind kind, string name, CancellationToken cancellationToken) =>
            _started.TryRemove((kind, name), out var started) ? started : ReadColumnAsync(kind, name, cancellationToken);

        private async Task<IndexColumn> ReadColumnAsync(RunFieldKind kind, string name, CancellationToken cancellationToken)
        {
            var segment = _segments[(kind, name)];
            var bytes = segment.Offset + segment.Length <= prefix.Length
                ? prefix.Slice((int)segment.Offset, segment.Length)
                : await ReadRangeAsync(container, blobName, segment.Offset, segment.Length, etag, cancellationToken).ConfigureAwait(false);
            return RunIndexCodec.ReadColumnPages(bytes.Span, header.Count);
        }

        public async Task<ulong[]?> LoadVersionsAsync(CancellationToken cancellationToken)
        {
            if (header.VersionsLength == 0)
            {
                return null;
            }
            var bytes = header.VersionsOffset + header.VersionsLength <= prefix.Length
                ? prefix.Slice((int)header.VersionsOffset, header.VersionsLength)
                : await ReadRangeAsync(container, blobName, header.VersionsOffset, header.VersionsLength, etag, cancellationToken).ConfigureAwait(false);
            return RunIndexCodec.ReadVersions(bytes.Span, header.Count);
        }

        public Task<RunIndexDelta> ReadRunsAsync(IReadOnlyCollection<string> runIds, CancellationToken cancellationToken) =>
            source.ReadRunsAsync(entity, project, runIds, cancellationToken);
    }

    /// <summary>
    /// Saves the snapshot in the background. The caller holds the project's lock: only the freeze (a
    /// copy-on-write version of the table, milliseconds) happens under it; the encode reads the frozen
    /// version and the upload (If-Match the last saved ETag) and, once this snapshot is the saved one,
    /// the change log's compaction up to its cold-start window (less <see cref="RunIndexOptions.ChangeLogRetention"/>)
    /// run outside the lock, so queries never wait for them. One save at a time per project, so at
    /// most one frozen version (plus the pages changed since) is alive.
    /// </summary>
    private void StartSave(Entry entry, BlobStore container, string entity, string project)
    {
        var blobName = BlobName(entity, project);
        if (entry.Saving is { IsCompleted: false } || entry.Table is not { IsLoaded: true })
        {
            return;
        }
        // Read marks older than any cold reader's change-log window can spare nothing: drop them.
        entry.Table.PruneReadMarks((entry.Watermark - options.Value.WatermarkMargin - RunChangeLog.Lease - TimeSpan.FromMinutes(5)).UtcTicks);
        var startedAt = clock.GetUtcNow();
        var watch = Stopwatch.StartNew();
        var frozen = entry.Table.Freeze();
        // The snapshot keeps the watermark; a cold start re-reads the log from a margin and a lease before it.
        var watermark = entry.Watermark;
        var builtAt = entry.BuiltAt;
        var etag = entry.ETag;
        var freezeMs = watch.Elapsed.TotalMilliseconds;
        entry.SavedAt = startedAt;
        entry.Dirty = false;
        entry.Saving = Task.Run(async () =>
        {
            watch.Restart();
            var data = BinaryData.FromBytes(RunIndexCodec.Write(frozen, watermark, builtAt));
            var encodeMs = watch.Elapsed.TotalMilliseconds;
            watch.Restart();
            ETag? saved;
            try
            {
                saved = await container.UploadAsync(blobName, data, "application/octet-stream", etag, CancellationToken.None).ConfigureAwait(false);
            }
            catch (ConflictException)
            {
                // Another instance saved first. Both hold every logged change, so the next save overwrites it.
                logger.LogDebug("Run index {Blob} was saved concurrently", blobName);
                saved = null;
            }
            catch (Errors.NotFoundException)
            {
                // If-Match against a deleted blob: write it fresh.
                saved = await container.UploadAsync(blobName, data, "application/octet-stream", null, CancellationToken.None).ConfigureAwait(false);
            }
            var uploadMs = watch.Elapsed.TotalMilliseconds;
            await entry.Lock.WaitAsync().ConfigureAwait(false);
            entry.ETag = saved;
            entry.LastSaveDuration = TimeSpan.FromMilliseconds(encodeMs + uploadMs);
            entry.Lock.Release();
            watch.Restart();
            if (saved is not null)
            {
                // Only behind a snapshot that is saved: a cold start of it reads from (watermark - margin - lease).
                var settings = options.Value;
                try
                {
                    await source.CompactChangesAsync(entity, project, watermark - settings.WatermarkMargin - RunChangeLog.Lease - settings.ChangeLogRetention, CancellationToken.None).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is WeightlessException or RequestFailedException)
                {
                    logger.LogWarning(ex, "Compacting the run change log after saving {Blob} failed", blobName);
                }
                // The least time to the next save counts from here: a long compaction (after a bulk seed) is not followed by a save at once.
                await entry.Lock.WaitAsync().ConfigureAwait(false);
                entry.SavedAt = Max(entry.SavedAt, clock.GetUtcNow());
                entry.Lock.Release();
            }
            var timing = new RunIndexSaveTiming(startedAt, freezeMs, encodeMs, uploadMs, watch.Elapsed.TotalMilliseconds, data.ToMemory().Length);
            _saves.Enqueue(timing);
            if (_saves.Count > 32)
            {
                _saves.TryDequeue(out _);
            }
            logger.LogInformation("Run index {Blob} saved: {Bytes} bytes, freeze {FreezeMs:N1} ms (under the lock), encode {EncodeMs:N0} ms, upload {UploadMs:N0} ms, change-log compaction {CompactMs:N0} ms",
                blobName, timing.Bytes, freezeMs, encodeMs, uploadMs, timing.CompactMs);
            return saved;
        });
    }

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;

    private static string Key(string entity, string project) => entity + "\n" + project;

    private static string BlobName(string entity, string project) => $"{entity}/{Uri.EscapeDataString(project)}.runindex";
}
