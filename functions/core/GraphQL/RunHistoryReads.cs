using GraphQL;
using Weightless.Core.Errors;
using Weightless.Core.Runs;

namespace Weightless.Core.GraphQL;

/// <summary>
/// The history-backed run fields. Tails answer "[]" (resume then continues from
/// <c>historyLineCount</c>); the history reads themselves answer a clear error until they are
/// wired to the history engine's readers.
/// </summary>
internal static class RunHistoryReads
{
    public static Task<object?> HistoryTailAsync(IResolveFieldContext<RunRow> context) => Task.FromResult<object?>("[]");

    public static Task<object?> EventsTailAsync(IResolveFieldContext<RunRow> context) => Task.FromResult<object?>("[]");

    public static Task<object?> HistoryKeysAsync(IResolveFieldContext<RunRow> context) => Unavailable("historyKeys");

    public static Task<object?> HistoryAsync(IResolveFieldContext<RunRow> context) => Unavailable("history");

    public static Task<object?> EventsAsync(IResolveFieldContext<RunRow> context) => Unavailable("events");

    public static Task<object?> SampledHistoryAsync(IResolveFieldContext<RunRow> context) => Unavailable("sampledHistory");

    private static Task<object?> Unavailable(string field) =>
        throw new ValidationFailedException($"Run.{field} is not available on this server yet.", field);
}
