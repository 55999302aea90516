using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using GraphQL;
using Weightless.Core.Errors;
using Weightless.Core.History;
using Weightless.Core.Runs;

namespace Weightless.Core.GraphQL;

/// <summary>
/// The history-backed run fields, read through the history engine. Lines come back verbatim
/// (<c>history</c>, <c>events</c>, tails); values in <c>sampledHistory</c> are JSON, with NaN and
/// infinities written as the strings <c>"NaN"</c>, <c>"Infinity"</c>, <c>"-Infinity"</c>.
/// </summary>
internal static class RunHistoryReads
{
    /// <summary>W&amp;B's default sample count for <c>history(samples)</c> and <c>sampledHistory</c>.</summary>
    public const int DefaultSamples = 500;

    /// <summary>Upper bound on lines one read materialises.</summary>
    public const int MaxLines = 200_000;

    private static readonly JsonSerializerOptions ValueOptions = new() { NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };

    public static async Task<object?> HistoryTailAsync(IResolveFieldContext<RunRow> context) =>
        await TailAsync(context.Source.HistoryLineCount, (from, max) => context.Service<HistoryStore>().ReadLinesAsync(context.Source.Key, from, max, context.CancellationToken)).ConfigureAwait(false);

    public static async Task<object?> EventsTailAsync(IResolveFieldContext<RunRow> context) =>
        await TailAsync(context.Source.EventsLineCount, (from, max) => context.Service<EventsStore>().ReadLinesAsync(context.Source.Key, from, max, context.CancellationToken)).ConfigureAwait(false);

    public static async Task<object?> HistoryKeysAsync(IResolveFieldContext<RunRow> context)
    {
        var keys = await context.Service<HistoryStore>().GetKeysAsync(context.Source.Key, context.CancellationToken).ConfigureAwait(false);
        return JsonSerializer.SerializeToElement(keys.ToHistoryKeys(), ValueOptions);
    }

    /// <summary><c>history(samples, minStep, maxStep)</c>: lines with <c>_step</c> in [minStep, maxStep), evenly sampled.</summary>
    public static async Task<object?> HistoryAsync(IResolveFieldContext<RunRow> context)
    {
        var minStep = context.GetArgument<long?>("minStep");
        var maxStep = context.GetArgument<long?>("maxStep");
        var samples = Samples(context.GetArgument<int?>("samples"));
        var lines = await context.Service<HistoryStore>().ReadLinesAsync(context.Source.Key, 0, LineLimit(context.Source.HistoryLineCount), context.CancellationToken).ConfigureAwait(false);
        var selected = new List<string>(lines.Count);
        foreach (var line in lines)
        {
            if (minStep is not null || maxStep is not null)
            {
                var step = HistoryValues.ParseRow(line.Index, line.Text)?.Step;
                if (step is null || (minStep is { } min && step < min) || (maxStep is { } max && step >= max))
                {
                    continue;
                }
            }
            selected.Add(line.Text);
        }
        return HistoryStore.EvenSample(selected, samples);
    }

    public static async Task<object?> EventsAsync(IResolveFieldContext<RunRow> context)
    {
        var lines = await context.Service<EventsStore>().ReadLinesAsync(context.Source.Key, 0, LineLimit(context.Source.EventsLineCount), context.CancellationToken).ConfigureAwait(false);
        return HistoryStore.EvenSample(lines.Select(l => l.Text).ToList(), Samples(context.GetArgument<int?>("samples")));
    }

    /// <summary><c>sampledHistory(specs)</c>: per spec <c>{"keys", "samples", "minStep"?, "maxStep"?}</c>, rows holding every key, reduced to them.</summary>
    public static async Task<object?> SampledHistoryAsync(IResolveFieldContext<RunRow> context)
    {
        var specs = context.GetArgument<List<string>>("specs");
        var store = context.Service<HistoryStore>();
        var results = new JsonArray();
        foreach (var text in specs)
        {
            var (keys, samples, minStep, maxStep) = ParseSpec(text);
            var rows = await store.ReadRowsAsync(context.Source.Key, minStep, maxStep is { } max ? max - 1 : null, context.CancellationToken).ConfigureAwait(false);
            var matching = new List<JsonObject>();
            foreach (var row in rows)
            {
                if (!keys.All(row.Flat.ContainsKey))
                {
                    continue;
                }
                var reduced = new JsonObject();
                foreach (var key in keys)
                {
                    reduced[key] = HistoryValues.ToNode(row.Flat[key]);
                }
                matching.Add(reduced);
            }
            results.Add(new JsonArray([.. HistoryStore.EvenSample(matching, samples)]));
        }
        return JsonSerializer.SerializeToElement(results, ValueOptions).EnumerateArray().Select(e => (object)e).ToList();
    }

    private static (List<string> Keys, int Samples, long? MinStep, long? MaxStep) ParseSpec(string text)
    {
        try
        {
            using var document = JsonDocument.Parse(text);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("keys", out var keysElement) || keysElement.ValueKind != JsonValueKind.Array)
            {
                throw new ValidationFailedException("A history spec is {\"keys\": [...], \"samples\": N}.", "specs");
            }
            var keys = keysElement.EnumerateArray().Select(k => k.GetString() ?? "").Where(k => k.Length > 0).Distinct(StringComparer.Ordinal).ToList();
            var samples = root.TryGetProperty("samples", out var s) && s.ValueKind == JsonValueKind.Number ? s.GetInt32() : DefaultSamples;
            long? minStep = root.TryGetProperty("minStep", out var min) && min.ValueKind == JsonValueKind.Number ? min.GetInt64() : null;
            long? maxStep = root.TryGetProperty("maxStep", out var max) && max.ValueKind == JsonValueKind.Number ? max.GetInt64() : null;
            return (keys, Samples(samples), minStep, maxStep);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException)
        {
            throw new ValidationFailedException("A history spec is {\"keys\": [...], \"samples\": N}.", "specs");
        }
    }

    private static async Task<string> TailAsync(long lineCount, Func<long, int, Task<List<StoredLine>>> read)
    {
        if (lineCount <= 0)
        {
            return "[]";
        }
        var lines = await read(lineCount - 1, 1).ConfigureAwait(false);
        return JsonSerializer.Serialize(lines.Select(l => l.Text).ToList());
    }

    private static int Samples(int? requested) => Math.Clamp(requested ?? DefaultSamples, 1, MaxLines);

    private static int LineLimit(long lineCount) => (int)Math.Clamp(lineCount, 0, MaxLines);
}
