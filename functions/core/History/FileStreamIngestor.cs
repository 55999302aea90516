using Weightless.Core.Runs;

namespace Weightless.Core.History;

/// <summary>
/// What one file_stream post changed. Line counts are null when the post did not carry that file
/// (the run record keeps its previous count). <see cref="SummaryJson"/> is the last
/// <c>wandb-summary.json</c> line verbatim (the clients send the whole summary each time), or null.
/// </summary>
internal sealed record FileStreamApplied(
    long? HistoryLineCount,
    long? EventsLineCount,
    long? LogLineCount,
    long? LastStep,
    string? SummaryJson,
    bool Complete,
    int? ExitCode,
    bool Failed,
    bool Preempting,
    IReadOnlyList<string> Uploaded);

/// <summary>
/// Applies a validated <see cref="FileStreamRequest"/> to a run's history, events and console log.
/// It does not touch the run record: the file_stream function takes the result and updates the
/// run's summary, state, heartbeat and line counts.
/// </summary>
internal sealed class FileStreamIngestor(HistoryStore history, EventsStore events, ConsoleLogStore console)
{
    public async Task<FileStreamApplied> ApplyAsync(RunKey run, FileStreamRequest request, CancellationToken cancellationToken = default)
    {
        var historyFile = request.File(FileStreamRequest.HistoryFile);
        var eventsFile = request.File(FileStreamRequest.EventsFile);
        var outputFile = request.File(FileStreamRequest.OutputFile);
        var summaryFile = request.File(FileStreamRequest.SummaryFile);

        // The three files live in different tables and are independent: write them concurrently.
        var historyTask = historyFile is null ? Task.FromResult<HistoryAppendResult?>(null) : AppendHistory(historyFile);
        var eventsTask = eventsFile is null ? Task.FromResult<long?>(null) : AppendEvents(eventsFile);
        var outputTask = outputFile is null ? Task.FromResult<long?>(null) : WriteOutput(outputFile);
        await Task.WhenAll(historyTask, eventsTask, outputTask).ConfigureAwait(false);
        var historyResult = await historyTask.ConfigureAwait(false);
        if (request.Complete)
        {
            // The run is done: write its pending rollup pages so its charts read pages only from now on.
            await history.FlushRollupsAsync(run, cancellationToken).ConfigureAwait(false);
        }

        return new FileStreamApplied(
            historyResult?.LineCount,
            await eventsTask.ConfigureAwait(false),
            await outputTask.ConfigureAwait(false),
            historyResult?.LastStep,
            summaryFile is { Content.Count: > 0 } ? summaryFile.Content[^1] : null,
            request.Complete,
            request.ExitCode,
            request.Failed,
            request.Preempting,
            request.Uploaded);

        async Task<HistoryAppendResult?> AppendHistory(FileStreamFile file) =>
            await history.AppendHistoryAsync(run, file.Offset, file.Content, cancellationToken).ConfigureAwait(false);

        async Task<long?> AppendEvents(FileStreamFile file) =>
            await events.AppendAsync(run, file.Offset, file.Content, cancellationToken).ConfigureAwait(false);

        async Task<long?> WriteOutput(FileStreamFile file) =>
            await console.WriteAsync(run, file.Offset, file.Content, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Fork (<c>fork_from=run?_step=N</c>): see <see cref="HistoryStore.CopyPrefixAsync"/>; returns the lines copied.</summary>
    public Task<long> CopyHistoryPrefixAsync(RunKey from, RunKey to, long uptoStep, CancellationToken cancellationToken = default) =>
        history.CopyPrefixAsync(from, to, uptoStep, cancellationToken);

    /// <summary>Rewind (<c>resume_from=run?_step=N</c>): see <see cref="HistoryStore.RewindAsync"/>.</summary>
    public Task<HistoryRewindResult> RewindAsync(RunKey run, long toStep, CancellationToken cancellationToken = default) =>
        history.RewindAsync(run, toStep, cancellationToken);
}
