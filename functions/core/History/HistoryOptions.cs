namespace Weightless.Core.History;

/// <summary>
/// History ingest settings (section <c>History</c>). Rollup pages are written behind a rollup watermark
/// (see <see cref="LineStream"/>): a post folds its rows into the run's pending rollups in memory and the
/// touched pages are written once <see cref="RollupFlushLines"/> lines (or 100,000 metric values) are pending,
/// when pages have been pending for <see cref="RollupFlushSeconds"/> (checked on the next post), or when the run
/// completes (file_stream <c>complete</c>, a fork's copy, a rewind's rebuild).
/// Readers compute the steps past the watermark from raw rows, so charts stay exact meanwhile.
/// </summary>
internal sealed class HistoryOptions
{
    public const string Section = "History";

    /// <summary>Pending history lines that make a post write the rollup pages (1 writes them on every post).</summary>
    public int RollupFlushLines { get; set; } = 4096;

    /// <summary>Seconds rollups may stay pending before the next post writes them.</summary>
    public int RollupFlushSeconds { get; set; } = 30;
}
