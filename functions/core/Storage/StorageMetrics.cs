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

    // One entry per (service, operation, outcome): its name, its tags and its count. The callers pass
    // string literals, so the key's hash and compare are cheap, and a hot path (several storage calls
    // per file_stream post) allocates neither a name nor a tag array per call.
    private readonly ConcurrentDictionary<(string Service, string Operation, string Outcome), Series> _series = new();

    private sealed class Series(string service, string operation, string outcome)
    {
        public readonly string Name = $"{service}.{operation}.{outcome}";
        public readonly KeyValuePair<string, object?>[] Tags = [new("service", service), new("operation", operation), new("outcome", outcome)];
        public long Count;
    }

    public void Record(string service, string operation, string outcome, double milliseconds, int entities = 0)
    {
        if (!_series.TryGetValue((service, operation, outcome), out var series))
        {
            series = _series.GetOrAdd((service, operation, outcome), static key => new Series(key.Service, key.Operation, key.Outcome));
        }
        ReadOnlySpan<KeyValuePair<string, object?>> tags = series.Tags;
        Operations.Add(1, tags);
        Duration.Record(milliseconds, tags);
        if (entities > 0)
        {
            Entities.Add(entities, tags);
        }
        Interlocked.Increment(ref series.Count);
    }

    /// <summary>Counts since start, keyed <c>service.operation.outcome</c>.</summary>
    public IReadOnlyDictionary<string, long> Snapshot()
    {
        var counts = new SortedDictionary<string, long>(StringComparer.Ordinal);
        foreach (var series in _series.Values)
        {
            counts[series.Name] = Interlocked.Read(ref series.Count);
        }
        return counts;
    }
}
