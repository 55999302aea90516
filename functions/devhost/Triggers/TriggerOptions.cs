namespace Weightless.DevHost.Triggers;

/// <summary>
/// How the dev host runs queue triggers, beyond <see cref="DevHostOptions.QueuePollInterval"/>.
/// Bound from the same <c>DevHost</c> section; the defaults are the Functions host's.
/// </summary>
internal sealed class TriggerOptions
{
    /// <summary>Attempts before a message moves to <c>&lt;queue&gt;-poison</c> (host.json <c>maxDequeueCount</c>, default 5).</summary>
    public int QueueMaxDequeueCount { get; set; } = 5;

    /// <summary>
    /// How long a message that failed stays invisible before its next attempt (host.json
    /// <c>visibilityTimeout</c>; whole seconds, as Azure Storage counts them). Tests set 0.
    /// </summary>
    public TimeSpan QueueVisibilityTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How long a received message is hidden while its function runs (a crash makes it visible again after this).</summary>
    public TimeSpan QueueMessageLease { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Messages taken per receive (host.json <c>batchSize</c>, default 16); they run one after another.</summary>
    public int QueueBatchSize { get; set; } = 16;
}
