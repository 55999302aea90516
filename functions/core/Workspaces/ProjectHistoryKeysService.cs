using Weightless.Core.Auth;
using Weightless.Core.Errors;
using Weightless.Core.History;
using Weightless.Core.Query;
using Weightless.Core.Runs;
using Weightless.Core.Tenancy;

namespace Weightless.Core.Workspaces;

internal sealed record ProjectHistoryKeysRequest(IReadOnlyList<string>? Runs);

/// <summary>A history key over many runs: its value types (counts summed) and how many of the runs logged it.</summary>
internal sealed record ProjectHistoryKeyDto(string Key, IReadOnlyDictionary<string, long> Types, int Runs);

/// <summary>The runs' keys, and per run its last step (null before any history).</summary>
internal sealed record ProjectHistoryKeysDto(IReadOnlyList<ProjectHistoryKeyDto> Keys, IReadOnlyDictionary<string, long?> LastSteps);

/// <summary>
/// The history keys of many runs of one project in one call: what a workspace plans its chart panels
/// from (one request instead of one per run). Each run's key index is one point read.
/// </summary>
internal sealed class ProjectHistoryKeysService(RunQueryService runs, HistoryStore history)
{
    public const int MaxRuns = 1000;

    private const int ConcurrentReads = 16;

    public async Task<ProjectHistoryKeysDto> GetAsync(Principal principal, string entity, string project, IReadOnlyList<string>? runIds, CancellationToken cancellationToken)
    {
        var ids = runIds?.Distinct(StringComparer.Ordinal).ToList() ?? [];
        if (ids.Count is 0 or > MaxRuns || ids.Any(string.IsNullOrWhiteSpace))
        {
            throw new ValidationFailedException($"Name 1–{MaxRuns} runs.", "runs");
        }
        await runs.RequireProjectAsync(principal, entity, project, Role.Viewer, cancellationToken).ConfigureAwait(false);
        var indexes = new KeyIndex[ids.Count];
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = ConcurrentReads, CancellationToken = cancellationToken };
        await Parallel.ForEachAsync(Enumerable.Range(0, ids.Count), parallel, async (i, ct) =>
        {
            var key = new RunKey(entity, project, ids[i]);
            await runs.RequireRunAsync(principal, key, Role.Viewer, ct).ConfigureAwait(false);
            indexes[i] = await history.GetKeysAsync(key, ct).ConfigureAwait(false);
        }).ConfigureAwait(false);
        var merged = new SortedDictionary<string, (Dictionary<string, long> Types, int Runs)>(StringComparer.Ordinal);
        foreach (var index in indexes)
        {
            foreach (var name in index.Keys)
            {
                if (!merged.TryGetValue(name, out var entry))
                {
                    entry = (new Dictionary<string, long>(StringComparer.Ordinal), 0);
                }
                foreach (var (type, count) in index.TypeCounts(name))
                {
                    entry.Types[type] = entry.Types.GetValueOrDefault(type) + count;
                }
                merged[name] = (entry.Types, entry.Runs + 1);
            }
        }
        var keys = merged.Select(k => new ProjectHistoryKeyDto(k.Key, k.Value.Types, k.Value.Runs)).ToList();
        var lastSteps = ids.Select((id, i) => (id, indexes[i].LastStep)).ToDictionary(p => p.id, p => p.LastStep, StringComparer.Ordinal);
        return new ProjectHistoryKeysDto(keys, lastSteps);
    }
}
