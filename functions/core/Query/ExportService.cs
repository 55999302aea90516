using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Parquet;
using Parquet.Schema;
using Weightless.Core.Auth;
using Weightless.Core.Errors;
using Weightless.Core.History;
using Weightless.Core.Http;
using Weightless.Core.Runs;
using Weightless.Core.Tenancy;

namespace Weightless.Core.Query;

internal enum ExportFormat
{
    Csv,
    JsonLines,
    Parquet,
}

/// <summary>An export ready to stream: checks are done, <see cref="WriteAsync"/> writes the body.</summary>
internal sealed record ExportStream(string ContentType, string FileName, Func<Stream, CancellationToken, Task> WriteAsync);

/// <summary>
/// Exports of the runs table (CSV, JSON lines) and of a run's history (CSV, JSON lines, Parquet). History
/// rows stream from storage chunk by chunk; Parquet goes through a temporary file in row groups of
/// <see cref="ParquetRowGroup"/> rows (its writer needs a seekable stream), so memory stays bounded.
/// </summary>
internal sealed class ExportService(RunQueryService runs, HistoryStore history)
{
    public const int ParquetRowGroup = 10_000;

    public static ExportFormat ParseFormat(string? format, bool allowParquet) => format?.Trim().ToLowerInvariant() switch
    {
        null or "" or "csv" => ExportFormat.Csv,
        "jsonl" or "ndjson" or "jsonlines" => ExportFormat.JsonLines,
        "parquet" when allowParquet => ExportFormat.Parquet,
        _ => throw new ValidationFailedException(allowParquet ? "'format' is csv, jsonl or parquet." : "'format' is csv or jsonl.", "format"),
    };

    public async Task<ExportStream> ExportRunsAsync(Principal principal, string entity, string project, ExportFormat format, FilterNode? filter, IReadOnlyList<SortKey> sort, bool includeDeleted, CancellationToken cancellationToken)
    {
        var rows = await runs.SelectRunsAsync(principal, entity, project, filter, sort, includeDeleted, cancellationToken).ConfigureAwait(false);
        var name = $"{entity}-{project}-runs";
        if (format == ExportFormat.JsonLines)
        {
            return new ExportStream("application/x-ndjson", name + ".jsonl", async (stream, ct) =>
            {
                await using var writer = new StreamWriter(stream, new UTF8Encoding(false), 64 * 1024, leaveOpen: true);
                foreach (var row in rows)
                {
                    await writer.WriteLineAsync(JsonSerializer.Serialize(RunQueryService.ToDto(entity, project, row), RequestBody.Options).AsMemory(), ct).ConfigureAwait(false);
                }
            });
        }
        var configKeys = rows.SelectMany(r => r.Config.Keys).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var summaryKeys = rows.SelectMany(r => r.Summary.Keys).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        return new ExportStream("text/csv; charset=utf-8", name + ".csv", async (stream, ct) =>
        {
            await using var writer = new StreamWriter(stream, new UTF8Encoding(false), 64 * 1024, leaveOpen: true);
            var header = new List<string> { "id", "displayName", "state", "createdAt", "heartbeatAt", "user", "tags", "group", "jobType", "host", "sweep", "runtime", "deleted" };
            header.AddRange(configKeys.Select(k => "config." + k));
            header.AddRange(summaryKeys.Select(k => "summary." + k));
            await writer.WriteLineAsync(Csv.Line(header)).ConfigureAwait(false);
            foreach (var row in rows)
            {
                var cells = new List<string?>
                {
                    row.Id, row.DisplayName, row.State,
                    row.CreatedAt.UtcDateTime.ToString("O", CultureInfo.InvariantCulture), row.HeartbeatAt.UtcDateTime.ToString("O", CultureInfo.InvariantCulture),
                    row.User, JsonSerializer.Serialize(row.Tags), row.Group, row.JobType, row.Host, row.Sweep,
                    row.Runtime.ToString("R", CultureInfo.InvariantCulture), row.Deleted ? "true" : "false",
                };
                cells.AddRange(configKeys.Select(k => row.Config.TryGetValue(k, out var v) ? v.ToText() : null));
                cells.AddRange(summaryKeys.Select(k => row.Summary.TryGetValue(k, out var v) ? v.ToText() : null));
                await writer.WriteLineAsync(Csv.Line(cells).AsMemory(), ct).ConfigureAwait(false);
            }
        });
    }

    public async Task<ExportStream> ExportHistoryAsync(Principal principal, RunKey key, ExportFormat format, IReadOnlyList<string>? keys, long? minStep, long? maxStep, CancellationToken cancellationToken)
    {
        await runs.RequireRunAsync(principal, key, Role.Viewer, cancellationToken).ConfigureAwait(false);
        var index = await history.GetKeysAsync(key, cancellationToken).ConfigureAwait(false);
        var columns = new List<string> { HistoryValues.StepKey };
        columns.AddRange((keys ?? index.Keys.ToList()).Where(k => k != HistoryValues.StepKey).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal));
        var name = $"{key.Entity}-{key.Project}-{key.RunId}-history";
        // Reading rows (storage round trips, decompression, parsing) runs ahead of formatting them, so the two overlap.
        var rows = ReadAheadAsync(history.Stream.ReadRowsAsync(key, minStep, maxStep, cancellationToken), cancellationToken);
        return format switch
        {
            ExportFormat.JsonLines => new ExportStream("application/x-ndjson", name + ".jsonl", async (stream, ct) =>
            {
                await using var writer = new StreamWriter(stream, new UTF8Encoding(false), 64 * 1024, leaveOpen: true);
                await foreach (var row in rows.ConfigureAwait(false))
                {
                    object source = keys is null ? row.Source : Select(row, columns);
                    await writer.WriteLineAsync(JsonText.Write(source).AsMemory(), ct).ConfigureAwait(false);
                }
            }),
            ExportFormat.Parquet => new ExportStream("application/vnd.apache.parquet", name + ".parquet", (stream, ct) => WriteParquetAsync(stream, rows, columns, index, ct)),
            _ => new ExportStream("text/csv; charset=utf-8", name + ".csv", async (stream, ct) =>
            {
                await using var writer = new StreamWriter(stream, new UTF8Encoding(false), 64 * 1024, leaveOpen: true);
                await writer.WriteLineAsync(Csv.Line(columns)).ConfigureAwait(false);
                await foreach (var row in rows.ConfigureAwait(false))
                {
                    var cells = columns.Select(c => row.Flat.TryGetValue(c, out var v) ? CellText(v) : null).ToList();
                    await writer.WriteLineAsync(Csv.Line(cells).AsMemory(), ct).ConfigureAwait(false);
                }
            }),
        };
    }

    /// <summary>Rows per hand-over from the reading task to the writer, and hand-overs the reader may run ahead.</summary>
    private const int ReadAheadRows = 1024;
    private const int ReadAheadBatches = 8;

    /// <summary>
    /// <paramref name="source"/>, enumerated by a background task up to <see cref="ReadAheadBatches"/> batches ahead
    /// of the consumer; its failure surfaces to the consumer, and a consumer stopping early stops the reader.
    /// </summary>
    internal static async IAsyncEnumerable<T> ReadAheadAsync<T>(IAsyncEnumerable<T> source, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var channel = Channel.CreateBounded<List<T>>(new BoundedChannelOptions(ReadAheadBatches) { SingleReader = true, SingleWriter = true });
        var reader = Task.Run(async () =>
        {
            try
            {
                var batch = new List<T>(ReadAheadRows);
                await foreach (var item in source.WithCancellation(stop.Token).ConfigureAwait(false))
                {
                    batch.Add(item);
                    if (batch.Count == ReadAheadRows)
                    {
                        await channel.Writer.WriteAsync(batch, stop.Token).ConfigureAwait(false);
                        batch = new List<T>(ReadAheadRows);
                    }
                }
                if (batch.Count > 0)
                {
                    await channel.Writer.WriteAsync(batch, stop.Token).ConfigureAwait(false);
                }
                channel.Writer.Complete();
            }
            catch (Exception e)
            {
                channel.Writer.Complete(e);
            }
        }, CancellationToken.None);
        try
        {
            await foreach (var batch in channel.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                foreach (var item in batch)
                {
                    yield return item;
                }
            }
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            await reader.ConfigureAwait(false);
        }
    }

    private static JsonLineObject Select(HistoryRow row, IReadOnlyList<string> columns)
    {
        var result = new JsonLineObject();
        foreach (var column in columns)
        {
            if (row.Flat.TryGetValue(column, out var value))
            {
                result[column] = value;
            }
        }
        return result;
    }

    /// <summary>A CSV cell: numbers round-trip ("NaN", "Infinity" for non-finite), strings as they are, anything else as JSON.</summary>
    public static string? CellText(object? value) => value switch
    {
        null => null,
        long l => l.ToString(CultureInfo.InvariantCulture),
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        bool b => b ? "true" : "false",
        string s => s,
        _ => JsonText.Write(value),
    };

    /// <summary>
    /// Parquet columns: <c>_step</c> as int64, keys only ever logged as numbers as double, every other key
    /// as UTF-8 text (strings as they are, other values as JSON); absent values are nulls.
    /// </summary>
    private static async Task WriteParquetAsync(Stream output, IAsyncEnumerable<HistoryRow> rows, List<string> columns, KeyIndex index, CancellationToken cancellationToken)
    {
        var numeric = columns.Select(c => c == HistoryValues.StepKey || index.TypeCounts(c).Keys.All(t => t == "number")).ToArray();
        var fields = columns.Select((c, i) => c == HistoryValues.StepKey
            ? new DataField(c, typeof(long?))
            : numeric[i] ? new DataField(c, typeof(double?)) : new DataField(c, typeof(string), isNullable: true)).ToArray();
        var schema = new ParquetSchema(fields);
        var path = Path.Combine(Path.GetTempPath(), "weightless-export-" + Guid.NewGuid().ToString("N") + ".parquet");
        try
        {
            await using (var file = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 64 * 1024, FileOptions.Asynchronous))
            {
                await using (var writer = await ParquetWriter.CreateAsync(schema, file, cancellationToken: cancellationToken).ConfigureAwait(false))
                {
                    var buffer = new List<HistoryRow>(ParquetRowGroup);
                    await foreach (var row in rows.ConfigureAwait(false))
                    {
                        buffer.Add(row);
                        if (buffer.Count == ParquetRowGroup)
                        {
                            await WriteGroupAsync(writer, fields, numeric, buffer, cancellationToken).ConfigureAwait(false);
                            buffer.Clear();
                        }
                    }
                    if (buffer.Count > 0)
                    {
                        await WriteGroupAsync(writer, fields, numeric, buffer, cancellationToken).ConfigureAwait(false);
                    }
                }
                file.Position = 0;
                await file.CopyToAsync(output, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static async Task WriteGroupAsync(ParquetWriter writer, DataField[] fields, bool[] numeric, List<HistoryRow> rows, CancellationToken cancellationToken)
    {
        using var group = writer.CreateRowGroup();
        for (var i = 0; i < fields.Length; i++)
        {
            var name = fields[i].Name;
            if (i == 0)
            {
                var steps = rows.Select(r => r.Flat.TryGetValue(name, out var v) && v is long l ? l : (long?)null).ToArray();
                await group.WriteAsync<long>(fields[i], steps.AsMemory(), cancellationToken: cancellationToken).ConfigureAwait(false);
            }
            else if (numeric[i])
            {
                var values = rows.Select(r => r.Flat.TryGetValue(name, out var v) ? HistoryValues.AsNumber(v) : null).ToArray();
                await group.WriteAsync<double>(fields[i], values.AsMemory(), cancellationToken: cancellationToken).ConfigureAwait(false);
            }
            else
            {
                var values = rows.Select(r => r.Flat.TryGetValue(name, out var v) ? CellText(v) : null).ToArray();
                await group.WriteAsync(fields[i], values!).ConfigureAwait(false);
            }
        }
    }
}

/// <summary>RFC 4180 CSV lines.</summary>
internal static class Csv
{
    public static string Line(IEnumerable<string?> cells) => string.Join(",", cells.Select(Cell));

    private static string Cell(string? value)
    {
        if (value is null)
        {
            return "";
        }
        return value.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : value;
    }

    /// <summary>Parses CSV text into rows of cells (quoted cells may hold commas, quotes and newlines).</summary>
    public static List<List<string>> Parse(string text)
    {
        var rows = new List<List<string>>();
        var row = new List<string>();
        var cell = new StringBuilder();
        var quoted = false;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < text.Length && text[i + 1] == '"')
                {
                    cell.Append('"');
                    i++;
                }
                else if (c == '"')
                {
                    quoted = false;
                }
                else
                {
                    cell.Append(c);
                }
            }
            else if (c == '"')
            {
                quoted = true;
            }
            else if (c == ',')
            {
                row.Add(cell.ToString());
                cell.Clear();
            }
            else if (c == '\n')
            {
                row.Add(cell.ToString().TrimEnd('\r'));
                cell.Clear();
                rows.Add(row);
                row = [];
            }
            else
            {
                cell.Append(c);
            }
        }
        if (cell.Length > 0 || row.Count > 0)
        {
            row.Add(cell.ToString());
            rows.Add(row);
        }
        return rows;
    }
}
