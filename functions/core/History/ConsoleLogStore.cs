using System.Globalization;
using Azure.Data.Tables;
using Weightless.Core.Errors;
using Weightless.Core.Runs;
using Weightless.Core.Storage;

namespace Weightless.Core.History;

/// <summary>One console line: its index, the text as sent (stderr keeps its <c>ERROR </c> prefix) and whether it came from stderr.</summary>
internal readonly record struct ConsoleLine(long Index, string Raw, bool IsStderr)
{
    /// <summary>The text without the stderr marker.</summary>
    public string Text => IsStderr ? Raw[ConsoleLogStore.StderrPrefix.Length..] : Raw;
}

/// <summary>
/// A run's console output (<c>output.log</c>) in table <c>consolelog</c>. Offsets are line numbers and a
/// later post may OVERWRITE lines (progress bars redrawn with <c>\r</c>): the last write of an index
/// wins. Lines live in blocks of <see cref="BlockLines"/> slots (<c>b:{block}</c>, compressed),
/// updated read-modify-write If-Match their ETags, so a re-sent post is idempotent and concurrent
/// posts never lose each other's lines. The line count (highest index + 1) is in row <c>meta</c>.
/// Stderr lines are the ones the client prefixes with <c>ERROR </c>.
/// </summary>
internal sealed class ConsoleLogStore(StorageAccount storage)
{
    public const string TableName = "consolelog";
    public const string StderrPrefix = "ERROR ";
    public const int BlockLines = 256;
    private const string MetaRow = "meta";
    private const int MaxAttempts = 60;

    private static string BlockKey(long block) => "b:" + block.ToString("D12", CultureInfo.InvariantCulture);

    /// <summary>Writes lines [offset, offset + lines.Count), replacing what was there; returns the line count.</summary>
    public async Task<long> WriteAsync(RunKey run, long offset, IReadOnlyList<string> lines, CancellationToken cancellationToken = default)
    {
        if (offset < 0)
        {
            throw new ValidationFailedException("A line offset must not be negative.", "offset");
        }
        var table = await storage.TableAsync(TableName).ConfigureAwait(false);
        if (lines.Count > 0)
        {
            var firstBlock = offset / BlockLines;
            var lastBlock = (offset + lines.Count - 1) / BlockLines;
            for (var attempt = 1; ; attempt++)
            {
                var existing = await ReadBlocksAsync(table, run, firstBlock, lastBlock, cancellationToken).ConfigureAwait(false);
                var actions = new List<TableTransactionAction>();
                for (var block = firstBlock; block <= lastBlock; block++)
                {
                    existing.TryGetValue(block, out var stored);
                    var slots = stored.Entity is null ? new string?[BlockLines] : stored.Slots;
                    var changed = false;
                    for (var slot = 0; slot < BlockLines; slot++)
                    {
                        var index = block * BlockLines + slot - offset;
                        if (index >= 0 && index < lines.Count && !string.Equals(slots[slot], lines[(int)index], StringComparison.Ordinal))
                        {
                            slots[slot] = lines[(int)index];
                            changed = true;
                        }
                    }
                    if (!changed)
                    {
                        continue;
                    }
                    var entity = new TableEntity(run.PartitionKey, BlockKey(block)) { ["Block"] = block };
                    LineCodec.WriteData(entity, EncodeSlots(slots));
                    actions.Add(stored.Entity is null
                        ? new TableTransactionAction(TableTransactionActionType.Add, entity)
                        : new TableTransactionAction(TableTransactionActionType.UpdateReplace, entity, stored.Entity.ETag));
                }
                try
                {
                    await table.SubmitBatchAsync(actions, cancellationToken).ConfigureAwait(false);
                    break;
                }
                catch (ConflictException) when (attempt < MaxAttempts)
                {
                    await Task.Delay(Random.Shared.Next(5, 50), cancellationToken).ConfigureAwait(false);
                }
            }
        }
        return await RaiseLineCountAsync(table, run, offset + lines.Count, cancellationToken).ConfigureAwait(false);
    }

    public async Task<long> GetLineCountAsync(RunKey run, CancellationToken cancellationToken = default)
    {
        var table = await storage.TableAsync(TableName).ConfigureAwait(false);
        var meta = await table.GetAsync<TableEntity>(run.PartitionKey, MetaRow, cancellationToken).ConfigureAwait(false);
        return meta?.GetInt64("LineCount") ?? 0;
    }

    /// <summary>Up to <paramref name="max"/> lines from <paramref name="fromLine"/> on (indexes never written are skipped).</summary>
    public async Task<IReadOnlyList<ConsoleLine>> ReadAsync(RunKey run, long fromLine, int max, CancellationToken cancellationToken = default)
    {
        var result = new List<ConsoleLine>();
        if (max <= 0 || fromLine < 0)
        {
            return result;
        }
        var table = await storage.TableAsync(TableName).ConfigureAwait(false);
        var count = await GetLineCountAsync(run, cancellationToken).ConfigureAwait(false);
        var block = fromLine / BlockLines;
        while (result.Count < max && block * BlockLines < count)
        {
            var lastBlock = block + Math.Max(1, (max - result.Count) / BlockLines + 1);
            var blocks = await ReadBlocksAsync(table, run, block, lastBlock, cancellationToken).ConfigureAwait(false);
            for (; block <= lastBlock && result.Count < max; block++)
            {
                if (!blocks.TryGetValue(block, out var stored))
                {
                    continue;
                }
                for (var slot = 0; slot < BlockLines && result.Count < max; slot++)
                {
                    var index = block * BlockLines + slot;
                    if (index >= fromLine && stored.Slots[slot] is { } raw)
                    {
                        result.Add(new ConsoleLine(index, raw, raw.StartsWith(StderrPrefix, StringComparison.Ordinal)));
                    }
                }
            }
        }
        return result;
    }

    private static async Task<Dictionary<long, (TableEntity Entity, string?[] Slots)>> ReadBlocksAsync(TableStore table, RunKey run, long firstBlock, long lastBlock, CancellationToken cancellationToken)
    {
        var result = new Dictionary<long, (TableEntity, string?[])>();
        await foreach (var entity in table.QueryPartitionAsync<TableEntity>(run.PartitionKey, BlockKey(firstBlock), BlockKey(lastBlock + 1), cancellationToken).ConfigureAwait(false))
        {
            result[entity.GetInt64("Block") ?? 0] = (entity, DecodeSlots(LineCodec.ReadData(entity)));
        }
        return result;
    }

    // A slot is stored as a line: "" for never written, otherwise "=" + the line (so an empty line stays distinct).
    private static byte[] EncodeSlots(string?[] slots) =>
        LineCodec.Encode(slots.Select(s => s is null ? "" : "=" + s).ToList(), 0, slots.Length);

    private static string?[] DecodeSlots(byte[] data)
    {
        var lines = LineCodec.Decode(data);
        var slots = new string?[BlockLines];
        for (var i = 0; i < Math.Min(lines.Count, BlockLines); i++)
        {
            slots[i] = lines[i].Length == 0 ? null : lines[i][1..];
        }
        return slots;
    }

    private static async Task<long> RaiseLineCountAsync(TableStore table, RunKey run, long atLeast, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var meta = await table.GetAsync<TableEntity>(run.PartitionKey, MetaRow, cancellationToken).ConfigureAwait(false);
            var current = meta?.GetInt64("LineCount") ?? 0;
            if (current >= atLeast)
            {
                return current;
            }
            var entity = new TableEntity(run.PartitionKey, MetaRow) { ["LineCount"] = atLeast };
            try
            {
                if (meta is null)
                {
                    await table.AddAsync(entity, cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    await table.UpdateAsync(entity, meta.ETag, cancellationToken: cancellationToken).ConfigureAwait(false);
                }
                return atLeast;
            }
            catch (ConflictException) when (attempt < MaxAttempts)
            {
                await Task.Delay(Random.Shared.Next(2, 20), cancellationToken).ConfigureAwait(false);
            }
        }
    }
}
