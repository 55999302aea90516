using System.Diagnostics;
using Azure;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;

namespace Weightless.Core.Storage;

/// <summary>One storage queue. Message text is passed through as is; <see cref="Events.QueueMessageText"/> applies the encoding.</summary>
internal sealed class QueueStore(QueueClient queue, StorageMetrics metrics)
{
    public string Name => queue.Name;

    internal Task CreateIfNotExistsAsync() => Measure("create", () => queue.CreateIfNotExistsAsync());

    public Task SendAsync(string message, TimeSpan? visibilityDelay = null, CancellationToken cancellationToken = default) =>
        Measure("send", () => queue.SendMessageAsync(message, visibilityDelay, null, cancellationToken));

    public async Task<QueueMessage[]> ReceiveAsync(int maxMessages, TimeSpan visibilityTimeout, CancellationToken cancellationToken = default)
    {
        var response = await Measure("receive", () => queue.ReceiveMessagesAsync(maxMessages, visibilityTimeout, cancellationToken)).ConfigureAwait(false);
        return response.Value;
    }

    public Task DeleteAsync(QueueMessage message, CancellationToken cancellationToken = default) =>
        Measure("delete", () => queue.DeleteMessageAsync(message.MessageId, message.PopReceipt, cancellationToken));

    /// <summary>Makes a received message visible again after <paramref name="visibilityTimeout"/> (a retry after a failed attempt).</summary>
    public Task ReleaseAsync(QueueMessage message, TimeSpan visibilityTimeout, CancellationToken cancellationToken = default) =>
        Measure("update", () => queue.UpdateMessageAsync(message.MessageId, message.PopReceipt, (BinaryData?)null, visibilityTimeout, cancellationToken));

    /// <summary>Up to <paramref name="maxMessages"/> messages without taking them (for tests and diagnostics).</summary>
    public async Task<PeekedMessage[]> PeekAsync(int maxMessages, CancellationToken cancellationToken = default)
    {
        var response = await Measure("peek", () => queue.PeekMessagesAsync(maxMessages, cancellationToken)).ConfigureAwait(false);
        return response.Value;
    }

    public async Task<int> ApproximateCountAsync(CancellationToken cancellationToken = default)
    {
        var response = await Measure("properties", () => queue.GetPropertiesAsync(cancellationToken)).ConfigureAwait(false);
        return response.Value.ApproximateMessagesCount;
    }

    private async Task<T> Measure<T>(string operation, Func<Task<T>> call)
    {
        var stopwatch = Stopwatch.StartNew();
        try
        {
            var result = await call().ConfigureAwait(false);
            metrics.Record("queue", operation, "ok", stopwatch.Elapsed.TotalMilliseconds);
            return result;
        }
        catch (RequestFailedException ex)
        {
            metrics.Record("queue", operation, ex.Status.ToString(System.Globalization.CultureInfo.InvariantCulture), stopwatch.Elapsed.TotalMilliseconds);
            throw;
        }
    }
}
