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

    /// <summary>How long change-log entries are kept behind a saved snapshot; a cached index idle longer reloads.</summary>
    public TimeSpan ChangeLogRetention { get; set; } = TimeSpan.FromHours(1);
}

/// <summary>Where one query's time went (the bench prints these for slow queries).</summary>
internal sealed record RunIndexReadTiming(double LockWaitMs, double RefreshMs, double ReadMs, int RunsReread);

/// <summary>One background snapshot save: freeze (under the project lock), encode and upload (outside it).</summary>
internal sealed record RunIndexSaveTiming(DateTimeOffset StartedAt, double FreezeMs, double EncodeMs, double UploadMs, double PruneMs, long Bytes);

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
    }

    private readonly ConcurrentQueue<RunIndexSaveTiming> _saves = new();

    /// <summary>The stages of the last query on this instance (diagnostics for the bench).</summary>
    public RunIndexReadTiming? LastRead { get; private set; }

    /// <summary>The last few snapshot saves on this instance, oldest first (diagnostics for the bench).</summary>
    public IReadOnlyList<RunIndexSaveTiming> RecentSaves => [.. _saves];

    /// <summary>Runs <paramref name="read"/> over the project's current index (serialised per project).</summary>
    public async Task<T> ReadAsync<T>(string entity, string project, Func<RunTable, T> read, CancellationToken cancellationToken)
    {
        var entry = _entries.GetOrAdd(Key(entity, project), _ => new Entry());
        var watch = Stopwatch.StartNew();
        await entry.Lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        var lockWait = watch.Elapsed.TotalMilliseconds;
        try
        {
            var reread = await RefreshAsync(entry, entity, project, cancellationToken).ConfigureAwait(false);
            var refreshed = watch.Elapsed.TotalMilliseconds;
            var result = read(entry.Table!);
            LastRead = new RunIndexReadTiming(lockWait, refreshed - lockWait, watch.Elapsed.TotalMilliseconds - refreshed, reread);
            return result;
        }
        finally
        {
            entry.Lock.Release();
        }
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

    /// <summary>Brings the entry up to date; returns how many runs it re-read.</summary>
    private async Task<int> RefreshAsync(Entry entry, string entity, string project, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var settings = options.Value;
        if (entry.Table is not null && now - entry.CheckedAt < settings.Freshness)
        {
            return 0;
        }
        if (entry.Table is not null && now - entry.Watermark > settings.ChangeLogRetention / 2)
        {
            // Idle so long that log entries it has not read may have been pruned: start cold.
            entry.Table = null;
        }
        var container = await storage.ContainerAsync(ContainerName).ConfigureAwait(false);
        var blobName = BlobName(entity, project);
        if (entry.Table is null && !await LoadAsync(entry, container, blobName, cancellationToken).ConfigureAwait(false))
        {
            await BuildAsync(entry, entity, project, cancellationToken).ConfigureAwait(false);
        }
        if (now - entry.BuiltAt > settings.FullRebuildAfter)
        {
            await BuildAsync(entry, entity, project, cancellationToken).ConfigureAwait(false);
        }

        // A log entry covers its run's commits for RunChangeLog.Lease after it (writers skip entries
        // meanwhile), so every run named after (watermark - margin - lease) may have commits this entry
        // has not seen: all of them are re-read, each once per refresh. The margin covers entries whose
        // time was taken before the last read but that landed after it, and clock differences.
        var readStart = clock.GetUtcNow();
        var changes = await source.ReadChangesAsync(entity, project, entry.Watermark - settings.WatermarkMargin - RunChangeLog.Lease, cancellationToken).ConfigureAwait(false);
        var changed = changes.Select(c => c.RunId).ToHashSet(StringComparer.Ordinal);
        if (changed.Count > 0)
        {
            var delta = await source.ReadRunsAsync(entity, project, changed, cancellationToken).ConfigureAwait(false);
            foreach (var row in delta.Rows)
            {
                entry.Table!.Upsert(row);
            }
            foreach (var id in delta.Removed)
            {
                entry.Table!.Remove(id);
            }
            entry.Dirty = true;
        }
        entry.Watermark = readStart;
        var saveInterval = TimeSpan.FromTicks(Math.Max(settings.SaveInterval.Ticks, Math.Min((long)(entry.LastSaveDuration.Ticks * settings.SaveBackoff), (settings.ChangeLogRetention / 4).Ticks)));
        if (entry.Dirty && now - entry.SavedAt >= saveInterval)
        {
            StartSave(entry, container, blobName, () => source.PruneChangesAsync(entity, project, readStart - settings.ChangeLogRetention, CancellationToken.None));
        }
        entry.CheckedAt = clock.GetUtcNow();
        return changed.Count;
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
        entry.Table = table;
        entry.Watermark = watermark;
        entry.BuiltAt = clock.GetUtcNow();
        // Dirty until a save starts (one may still be in flight; the next refresh then saves this build).
        entry.Dirty = true;
        var container = await storage.ContainerAsync(ContainerName).ConfigureAwait(false);
        StartSave(entry, container, BlobName(entity, project), () => Task.CompletedTask);
    }

    private async Task<bool> LoadAsync(Entry entry, BlobStore container, string blobName, CancellationToken cancellationToken)
    {
        var blob = await container.DownloadAsync(blobName, cancellationToken).ConfigureAwait(false);
        if (blob is null || RunIndexCodec.Read(blob.Value.Content.ToMemory()) is not { } snapshot)
        {
            return false;
        }
        entry.Table = snapshot.Table;
        entry.Watermark = snapshot.Watermark;
        entry.BuiltAt = snapshot.BuiltAt;
        entry.ETag = blob.Value.ETag;
        entry.Dirty = false;
        entry.SavedAt = clock.GetUtcNow();
        return true;
    }

    /// <summary>
    /// Saves the snapshot in the background. The caller holds the project's lock: only the freeze (a
    /// copy-on-write version of the table, milliseconds) happens under it; the encode reads the frozen
    /// version and the upload (If-Match the last saved ETag) and <paramref name="afterSave"/> (change-log
    /// pruning) run outside the lock, so queries never wait for them. One save at a time per project,
    /// so at most one frozen version (plus the pages changed since) is alive.
    /// </summary>
    private void StartSave(Entry entry, BlobStore container, string blobName, Func<Task> afterSave)
    {
        if (entry.Saving is { IsCompleted: false } || entry.Table is null)
        {
            return;
        }
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
            try
            {
                await afterSave().ConfigureAwait(false);
            }
            catch (WeightlessException ex)
            {
                logger.LogWarning(ex, "Pruning the run change log after saving {Blob} failed", blobName);
            }
            var timing = new RunIndexSaveTiming(startedAt, freezeMs, encodeMs, uploadMs, watch.Elapsed.TotalMilliseconds, data.ToMemory().Length);
            _saves.Enqueue(timing);
            if (_saves.Count > 32)
            {
                _saves.TryDequeue(out _);
            }
            logger.LogInformation("Run index {Blob} saved: {Bytes} bytes, freeze {FreezeMs:N1} ms (under the lock), encode {EncodeMs:N0} ms, upload {UploadMs:N0} ms, prune {PruneMs:N0} ms",
                blobName, timing.Bytes, freezeMs, encodeMs, uploadMs, timing.PruneMs);
            return saved;
        });
    }

    private static string Key(string entity, string project) => entity + "\n" + project;

    private static string BlobName(string entity, string project) => $"{entity}/{Uri.EscapeDataString(project)}.runindex";
}
