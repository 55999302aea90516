using System.Collections.Concurrent;
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

/// <summary>
/// The per-project run index: a materialised snapshot of every run's filterable fields, kept as a
/// blob (container <c>runindex</c>, one per project, written If-Match its ETag) and cached in process.
/// Changes come from the project's change log (<see cref="RunChangeLog"/>): a refresh reads the log's
/// tail after the watermark (one indexed range read) and point-reads only the runs named there; a cold
/// start downloads the snapshot and applies the tail after its watermark. So filter/sort/group over
/// 100,000 runs never scans the runs.
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

        /// <summary>Every change-log entry written before this time is applied (give or take the margin).</summary>
        public DateTimeOffset Watermark { get; set; }

        /// <summary>Log entries already applied that the next read (which starts a margin early) returns again.</summary>
        public HashSet<string> Applied { get; set; } = new(StringComparer.Ordinal);
        public DateTimeOffset BuiltAt { get; set; }
        public DateTimeOffset CheckedAt { get; set; }
        public DateTimeOffset SavedAt { get; set; }
        public bool Dirty { get; set; }

        /// <summary>The snapshot upload in flight (its result is the blob's new ETag); queries never wait for it.</summary>
        public Task<ETag?>? Saving { get; set; }
    }

    /// <summary>Runs <paramref name="read"/> over the project's current index (serialised per project).</summary>
    public async Task<T> ReadAsync<T>(string entity, string project, Func<RunTable, T> read, CancellationToken cancellationToken)
    {
        var entry = _entries.GetOrAdd(Key(entity, project), _ => new Entry());
        await entry.Lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await RefreshAsync(entry, entity, project, cancellationToken).ConfigureAwait(false);
            return read(entry.Table!);
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

    private async Task RefreshAsync(Entry entry, string entity, string project, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var settings = options.Value;
        if (entry.Table is not null && now - entry.CheckedAt < settings.Freshness)
        {
            return;
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

        // Read the tail from a margin before the watermark; entries seen before are skipped by key.
        var readStart = clock.GetUtcNow();
        var changes = await source.ReadChangesAsync(entity, project, entry.Watermark - settings.WatermarkMargin, cancellationToken).ConfigureAwait(false);
        var changed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var change in changes)
        {
            if (!entry.Applied.Contains(change.Key))
            {
                changed.Add(change.RunId);
            }
        }
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
        entry.Applied = changes.Select(c => c.Key).ToHashSet(StringComparer.Ordinal);
        entry.Watermark = readStart;
        if (entry.Dirty && now - entry.SavedAt >= settings.SaveInterval)
        {
            StartSave(entry, container, blobName, () => source.PruneChangesAsync(entity, project, readStart - settings.ChangeLogRetention, CancellationToken.None));
        }
        entry.CheckedAt = clock.GetUtcNow();
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
        entry.Applied = new HashSet<string>(StringComparer.Ordinal);
        entry.BuiltAt = clock.GetUtcNow();
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
        entry.Applied = new HashSet<string>(StringComparer.Ordinal);
        entry.BuiltAt = snapshot.BuiltAt;
        entry.ETag = blob.Value.ETag;
        entry.Dirty = false;
        entry.SavedAt = clock.GetUtcNow();
        return true;
    }

    /// <summary>
    /// Saves the snapshot in the background: the upload task takes the project's lock only to encode
    /// (queries never wait for the upload), then uploads If-Match the last saved ETag and runs
    /// <paramref name="afterSave"/> (change-log pruning). One save at a time per project.
    /// </summary>
    private void StartSave(Entry entry, BlobStore container, string blobName, Func<Task> afterSave)
    {
        if (entry.Saving is { IsCompleted: false })
        {
            return;
        }
        entry.SavedAt = clock.GetUtcNow();
        entry.Dirty = false;
        entry.Saving = Task.Run(async () =>
        {
            BinaryData data;
            ETag? etag;
            // The caller holds the lock; the task waits for it, so encoding happens after the query that started it.
            await entry.Lock.WaitAsync().ConfigureAwait(false);
            try
            {
                if (entry.Table is null)
                {
                    return null;
                }
                // The snapshot keeps the watermark; a cold start re-reads a margin before it (the applied-key set is not saved).
                data = BinaryData.FromBytes(RunIndexCodec.Write(entry.Table, entry.Watermark, entry.BuiltAt));
                etag = entry.ETag;
            }
            finally
            {
                entry.Lock.Release();
            }
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
            await entry.Lock.WaitAsync().ConfigureAwait(false);
            entry.ETag = saved;
            entry.Lock.Release();
            try
            {
                await afterSave().ConfigureAwait(false);
            }
            catch (WeightlessException ex)
            {
                logger.LogWarning(ex, "Pruning the run change log after saving {Blob} failed", blobName);
            }
            return saved;
        });
    }

    private static string Key(string entity, string project) => entity + "\n" + project;

    private static string BlobName(string entity, string project) => $"{entity}/{Uri.EscapeDataString(project)}.runindex";
}
