namespace Weightless.DevHost;

/// <summary>Bound from the <c>DevHost</c> section.</summary>
internal sealed class DevHostOptions
{
    public const string Section = "DevHost";

    /// <summary><c>AzureStorage</c> (persistent, on Azurite) or <c>InMemory</c> (fast unit tests).</summary>
    public string DurableBackend { get; set; } = "AzureStorage";

    /// <summary>Port of the in-process Durable Task gRPC sidecar; 0 picks a free one.</summary>
    public int DurableSidecarPort { get; set; }

    /// <summary>How long a durable message taken by a process that then dies stays invisible (Azure Storage backend).</summary>
    public TimeSpan DurableMessageVisibilityTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often queue-trigger functions poll their queues.</summary>
    public TimeSpan QueuePollInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Whether [TimerTrigger] functions run on their schedules (tests turn this off and invoke them directly).</summary>
    public bool RunTimers { get; set; } = true;
}
