using Weightless.Core.Runs;

namespace Weightless.Core.History;

/// <summary>
/// A run's system-metrics stream (<c>wandb-events.jsonl</c>: <c>system.cpu</c>, <c>system.gpu.0.gpu</c>,
/// <c>_timestamp</c>, <c>_runtime</c>, ...) in table <c>events</c>: the same chunked, offset-keyed,
/// idempotent line store and key index as history, without steps or rollups (every row counts).
/// </summary>
internal sealed class EventsStore
{
    public const string TableName = "events";

    private readonly LineStream _stream;

    public EventsStore(Storage.StorageAccount storage) => _stream = new LineStream(storage, TableName, stepped: false);

    public async Task<long> AppendAsync(RunKey run, long offset, IReadOnlyList<string> lines, CancellationToken cancellationToken = default) =>
        (await _stream.AppendAsync(run, offset, lines, cancellationToken).ConfigureAwait(false)).LineCount;

    public Task<List<StoredLine>> ReadLinesAsync(RunKey run, long fromLine, int max, CancellationToken cancellationToken = default) =>
        _stream.ReadLinesAsync(run, fromLine, max, cancellationToken);

    /// <summary>Every parsed event row, in line order.</summary>
    public async Task<IReadOnlyList<HistoryRow>> ReadRowsAsync(RunKey run, CancellationToken cancellationToken = default)
    {
        var rows = new List<HistoryRow>();
        await foreach (var row in _stream.ReadRowsAsync(run, null, null, cancellationToken).ConfigureAwait(false))
        {
            rows.Add(row);
        }
        return rows;
    }

    public Task<long> GetLineCountAsync(RunKey run, CancellationToken cancellationToken = default) =>
        _stream.LineCountAsync(run, cancellationToken);

    public async Task<KeyIndex> GetKeysAsync(RunKey run, CancellationToken cancellationToken = default) =>
        (await _stream.ReadStateAsync(run, cancellationToken).ConfigureAwait(false)).Keys;
}
