using System.Collections.Concurrent;
using Azure.Core;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using Microsoft.Extensions.Options;

namespace Weightless.Core.Storage;

/// <summary>
/// The only place that builds Azure Storage SDK clients. Everything else asks it for a
/// <see cref="TableStore"/>, <see cref="BlobStore"/> or <see cref="QueueStore"/> by logical name;
/// the configured prefix is applied here, as are retry policy and metrics.
/// </summary>
internal sealed class StorageAccount
{
    private readonly StorageOptions _options;
    private readonly TableServiceClient _tables;
    private readonly BlobServiceClient _blobs;
    private readonly QueueServiceClient _queues;
    private readonly ConcurrentDictionary<string, Task<TableStore>> _tableStores = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Task<BlobStore>> _blobStores = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Task<QueueStore>> _queueStores = new(StringComparer.Ordinal);

    public StorageAccount(IOptions<StorageOptions> options, StorageMetrics metrics)
    {
        _options = options.Value;
        Metrics = metrics;
        if (!IsValidPrefix(_options.TablePrefix))
        {
            throw new InvalidOperationException($"Storage:TablePrefix '{_options.TablePrefix}' must be lowercase letters and digits, starting with a letter.");
        }
        var tableOptions = new TableClientOptions();
        var blobOptions = new BlobClientOptions();
        var queueOptions = new QueueClientOptions { MessageEncoding = QueueMessageEncoding.None };
        foreach (ClientOptions o in new ClientOptions[] { tableOptions, blobOptions, queueOptions })
        {
            o.Retry.MaxRetries = _options.MaxRetries;
            o.Retry.Mode = RetryMode.Exponential;
            o.Retry.Delay = TimeSpan.FromMilliseconds(200);
            o.Retry.MaxDelay = TimeSpan.FromSeconds(10);
            o.Retry.NetworkTimeout = TimeSpan.FromSeconds(60);
        }
        if (!string.IsNullOrEmpty(_options.AccountName))
        {
            var credential = new Azure.Identity.DefaultAzureCredential();
            var account = _options.AccountName;
            _tables = new TableServiceClient(new Uri($"https://{account}.table.core.windows.net"), credential, tableOptions);
            _blobs = new BlobServiceClient(new Uri($"https://{account}.blob.core.windows.net"), credential, blobOptions);
            _queues = new QueueServiceClient(new Uri($"https://{account}.queue.core.windows.net"), credential, queueOptions);
        }
        else
        {
            _tables = new TableServiceClient(_options.ConnectionString, tableOptions);
            _blobs = new BlobServiceClient(_options.ConnectionString, blobOptions);
            _queues = new QueueServiceClient(_options.ConnectionString, queueOptions);
        }
    }

    public StorageMetrics Metrics { get; }

    public string Prefix => _options.TablePrefix;

    public BlobServiceClient BlobService => _blobs;

    /// <summary>The physical name of a logical table, container or queue (prefix applied).</summary>
    public string PhysicalName(string logicalName) => _options.TablePrefix + logicalName;

    public Task<TableStore> TableAsync(string logicalName) =>
        Cached(_tableStores, logicalName, async name =>
        {
            var client = _tables.GetTableClient(PhysicalName(name));
            var store = new TableStore(client, Metrics);
            await store.CreateIfNotExistsAsync().ConfigureAwait(false);
            return store;
        });

    public Task<BlobStore> ContainerAsync(string logicalName) =>
        Cached(_blobStores, logicalName, async name =>
        {
            var client = _blobs.GetBlobContainerClient(PhysicalName(name));
            var store = new BlobStore(client, _blobs, Metrics);
            await store.CreateIfNotExistsAsync().ConfigureAwait(false);
            return store;
        });

    public Task<QueueStore> QueueAsync(string physicalName) =>
        Cached(_queueStores, physicalName, async name =>
        {
            var store = new QueueStore(_queues.GetQueueClient(name), Metrics);
            await store.CreateIfNotExistsAsync().ConfigureAwait(false);
            return store;
        });

    /// <summary>
    /// Creates each table, container or queue once per process. A failed creation (storage not up
    /// yet) is not cached, so the next call tries again instead of failing forever.
    /// </summary>
    private static async Task<T> Cached<T>(ConcurrentDictionary<string, Task<T>> cache, string name, Func<string, Task<T>> create)
    {
        var task = cache.GetOrAdd(name, create);
        try
        {
            return await task.ConfigureAwait(false);
        }
        catch
        {
            cache.TryRemove(new KeyValuePair<string, Task<T>>(name, task));
            throw;
        }
    }

    /// <summary>One cheap call per service, for the health endpoint.</summary>
    public async Task<IReadOnlyDictionary<string, string>> ProbeAsync(CancellationToken cancellationToken)
    {
        var results = new Dictionary<string, string>(StringComparer.Ordinal);
        results["tables"] = await Probe(async () => { await foreach (var _ in _tables.QueryAsync(maxPerPage: 1, cancellationToken: cancellationToken).ConfigureAwait(false)) { break; } }).ConfigureAwait(false);
        results["blobs"] = await Probe(async () => { await foreach (var _ in _blobs.GetBlobContainersAsync(cancellationToken: cancellationToken).ConfigureAwait(false)) { break; } }).ConfigureAwait(false);
        results["queues"] = await Probe(async () => { await foreach (var _ in _queues.GetQueuesAsync(cancellationToken: cancellationToken).ConfigureAwait(false)) { break; } }).ConfigureAwait(false);
        return results;

        static async Task<string> Probe(Func<Task> call)
        {
            try
            {
                await call().ConfigureAwait(false);
                return "ok";
            }
            catch (Exception ex) when (ex is Azure.RequestFailedException or HttpRequestException or AggregateException or TaskCanceledException)
            {
                return "unavailable: " + ex.Message.Split('\n')[0];
            }
        }
    }

    private static bool IsValidPrefix(string prefix) =>
        prefix.Length == 0 || (char.IsAsciiLetterLower(prefix[0]) && prefix.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c)));
}
