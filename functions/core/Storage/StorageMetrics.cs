using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Weightless.Core.Storage;

/// <summary>
/// Counts every storage operation by service, operation and outcome. Exported through the
/// <c>Weightless.Storage</c> meter (OpenTelemetry) and readable in-process for health and benchmarks.
/// </summary>
internal sealed class StorageMetrics
{
    public const string MeterName = "Weightless.Storage";

    private static readonly Meter Meter = new(MeterName);
    private static readonly Counter<long> Operations = Meter.CreateCounter<long>("weightless.storage.operations", description: "Storage operations by service, operation and outcome");
    private static readonly Counter<long> Entities = Meter.CreateCounter<long>("weightless.storage.entities", description: "Table entities written in batches");
    private static readonly Histogram<double> Duration = Meter.CreateHistogram<double>("weightless.storage.duration", "ms", "Storage operation latency");

    private readonly ConcurrentDictionary<string, long> _counts = new(StringComparer.Ordinal);

    public void Record(string service, string operation, string outcome, double milliseconds, int entities = 0)
    {
        var tags = new KeyValuePair<string, object?>[]
        {
            new("service", service), new("operation", operation), new("outcome", outcome),
        };
        Operations.Add(1, tags);
        Duration.Record(milliseconds, tags);
        if (entities > 0)
        {
            Entities.Add(entities, tags);
        }
        _counts.AddOrUpdate($"{service}.{operation}.{outcome}", 1, (_, n) => n + 1);
    }

    /// <summary>Counts since start, keyed <c>service.operation.outcome</c>.</summary>
    public IReadOnlyDictionary<string, long> Snapshot() => new SortedDictionary<string, long>(_counts, StringComparer.Ordinal);
}
