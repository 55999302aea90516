using Weightless.Core.Auth;
using Weightless.Core.Errors;
using Weightless.Core.Runs;
using Weightless.Core.Storage;
using Weightless.Core.Tenancy;

namespace Weightless.Core.Artifacts;

/// <summary>A node of the lineage graph: a run (<c>run:entity/project/name</c>) or an artifact version (<c>artifact:&lt;id&gt;</c>).</summary>
internal sealed record LineageNode(string Kind, string Id, string Label);

/// <summary>An edge: <paramref name="From"/> → <paramref name="To"/>; artifact → run is "used by", run → artifact is "logged".</summary>
internal sealed record LineageEdge(string From, string To, string Relation);

internal sealed record LineageGraph(IReadOnlyList<LineageNode> Nodes, IReadOnlyList<LineageEdge> Edges, bool Truncated);

/// <summary>
/// Lineage: every edge is stored twice (table <c>artifactlineage</c>, partition = the entity of the
/// row's node), once under the run and once under the artifact, so the graph can be walked from
/// either kind of node in either direction.
/// </summary>
internal sealed partial class ArtifactService
{
    public const string Producer = "producer";
    public const string Consumer = "consumer";
    public const int MaxGraphNodes = 2000;

    private static string RunPrefix(string project, string run) => $"run:{TableKeys.Compose(project, run)}:";

    private static string ArtifactPrefix(ArtifactKey key) => $"art:{TableKeys.Compose(key.Project, key.Collection, key.Guid)}:";

    /// <summary>
    /// <c>useArtifact</c>: records that the run consumed the version. The run's tenant needs
    /// Member, the artifact's Viewer.
    /// </summary>
    public async Task<ArtifactRow> UseAsync(Principal principal, RunKey run, ArtifactKey key, string? usedAs, CancellationToken cancellationToken)
    {
        await tenancy.RequireRoleAsync(principal, run.Entity, Role.Member, cancellationToken).ConfigureAwait(false);
        var artifact = await RequireArtifactAsync(principal, key, Role.Viewer, cancellationToken).ConfigureAwait(false);
        if (artifact.State == ArtifactStates.Deleted)
        {
            throw new NotFoundException($"Artifact version {key.Id} not found.");
        }
        if (await runs.FindRunAsync(run, cancellationToken).ConfigureAwait(false) is null)
        {
            throw new NotFoundException($"Run '{run.RunId}' not found in {run.Entity}/{run.Project}.");
        }
        CheckText(usedAs, "usedAs");
        await RecordLineageAsync(run, key, Consumer, usedAs, clock.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        return artifact;
    }

    private async Task RecordLineageAsync(RunKey run, ArtifactKey artifact, string relation, string? usedAs, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(LineageTable).ConfigureAwait(false);
        var direction = relation == Producer ? "out" : "in";
        LineageRow Row(string partition, string rowKey) => new()
        {
            PartitionKey = partition,
            RowKey = rowKey,
            RunEntity = run.Entity,
            RunProject = run.Project,
            RunName = run.RunId,
            ArtifactId = artifact.Id,
            Relation = relation,
            UsedAs = usedAs,
            CreatedAt = now,
        };
        // Upserts with deterministic keys: a retried use or commit writes the same two rows again.
        await table.UpsertAsync(Row(TableKeys.Escape(run.Entity), $"{RunPrefix(run.Project, run.RunId)}{direction}:{TableKeys.Escape(artifact.Id)}"), cancellationToken: cancellationToken).ConfigureAwait(false);
        await table.UpsertAsync(Row(TableKeys.Escape(artifact.Entity), $"{ArtifactPrefix(artifact)}{relation}:{TableKeys.Compose(run.Entity, run.Project, run.RunId)}"), cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    private async Task<IReadOnlyList<LineageRow>> EdgesOfRunAsync(RunKey run, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(LineageTable).ConfigureAwait(false);
        var prefix = RunPrefix(run.Project, run.RunId);
        var list = new List<LineageRow>();
        await foreach (var row in table.QueryPartitionAsync<LineageRow>(TableKeys.Escape(run.Entity), prefix, TableKeys.PrefixEnd(prefix), cancellationToken).ConfigureAwait(false))
        {
            list.Add(row);
        }
        return list;
    }

    private async Task<IReadOnlyList<LineageRow>> EdgesOfArtifactAsync(ArtifactKey artifact, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(LineageTable).ConfigureAwait(false);
        var prefix = ArtifactPrefix(artifact);
        var list = new List<LineageRow>();
        await foreach (var row in table.QueryPartitionAsync<LineageRow>(TableKeys.Escape(artifact.Entity), prefix, TableKeys.PrefixEnd(prefix), cancellationToken).ConfigureAwait(false))
        {
            list.Add(row);
        }
        return list;
    }

    /// <summary>The runs that logged (producer) or used (consumer) a version.</summary>
    public async Task<IReadOnlyList<(RunKey Run, string Relation)>> RunsOfArtifactAsync(ArtifactKey artifact, CancellationToken cancellationToken) =>
        (await EdgesOfArtifactAsync(artifact, cancellationToken).ConfigureAwait(false)).Select(r => (new RunKey(r.RunEntity, r.RunProject, r.RunName), r.Relation)).ToList();

    /// <summary>
    /// The lineage graph around a run or a version, breadth first up to <paramref name="depth"/>
    /// hops. <paramref name="direction"/>: <c>upstream</c> (what it was made from), <c>downstream</c>
    /// (what was made from it) or <c>both</c>. Visited nodes are not expanded again, so cycles end;
    /// nodes in tenants the caller cannot see are left out.
    /// </summary>
    public async Task<LineageGraph> GraphAsync(Principal principal, string startKind, string startId, string direction, int depth, CancellationToken cancellationToken)
    {
        if (direction is not ("upstream" or "downstream" or "both"))
        {
            throw new ValidationFailedException("'direction' is upstream, downstream or both.", "direction");
        }
        if (depth is < 1 or > 100)
        {
            throw new ValidationFailedException("'depth' is 1–100.", "depth");
        }
        var up = direction is "upstream" or "both";
        var down = direction is "downstream" or "both";
        var nodes = new Dictionary<string, LineageNode>(StringComparer.Ordinal);
        var edges = new HashSet<LineageEdge>();
        var visibility = new Dictionary<string, bool>(StringComparer.Ordinal);
        var frontier = new Queue<(string Kind, string Id, int Depth)>();
        string startNode;
        if (startKind == "run")
        {
            var parts = startId.Split('/');
            if (parts.Length != 3)
            {
                throw new ValidationFailedException("A run is 'entity/project/run'.", "run");
            }
            var run = new RunKey(parts[0], parts[1], parts[2]);
            await tenancy.RequireRoleAsync(principal, run.Entity, Role.Viewer, cancellationToken).ConfigureAwait(false);
            if (await runs.FindRunAsync(run, cancellationToken).ConfigureAwait(false) is null)
            {
                throw new NotFoundException($"Run '{run}' not found.");
            }
            startNode = RunNode(run);
            nodes[startNode] = new LineageNode("run", startNode, run.ToString());
        }
        else
        {
            var artifact = await GetByIdAsync(principal, startId, cancellationToken).ConfigureAwait(false)
                ?? throw new NotFoundException($"Artifact version {startId} not found.");
            startNode = ArtifactNode(artifact.Key.Id);
            nodes[startNode] = new LineageNode("artifact", startNode, Label(artifact));
        }
        frontier.Enqueue((startKind == "run" ? "run" : "artifact", startNode, 0));
        var truncated = false;
        while (frontier.Count > 0)
        {
            var (kind, id, level) = frontier.Dequeue();
            if (level >= depth)
            {
                continue;
            }
            IReadOnlyList<LineageRow> rows = kind == "run"
                ? await EdgesOfRunAsync(ParseRunNode(id), cancellationToken).ConfigureAwait(false)
                : await EdgesOfArtifactAsync(ArtifactIds.ParseArtifact(id["artifact:".Length..]), cancellationToken).ConfigureAwait(false);
            foreach (var row in rows)
            {
                var runKey = new RunKey(row.RunEntity, row.RunProject, row.RunName);
                var runNode = RunNode(runKey);
                var artifactNode = ArtifactNode(row.ArtifactId);
                // producer: run → artifact; consumer: artifact → run.
                var (from, to) = row.Relation == Producer ? (runNode, artifactNode) : (artifactNode, runNode);
                var self = kind == "run" ? runNode : artifactNode;
                var other = self == from ? to : from;
                var follow = (self == from && down) || (self == to && up);
                if (!follow)
                {
                    continue;
                }
                var otherKey = ArtifactIds.ParseArtifact(row.ArtifactId);
                var otherEntity = other == runNode ? runKey.Entity : otherKey.Entity;
                if (!await CanSeeAsync(principal, otherEntity, visibility, cancellationToken).ConfigureAwait(false))
                {
                    continue;
                }
                edges.Add(new LineageEdge(from, to, row.Relation == Producer ? "logged" : "used"));
                if (nodes.ContainsKey(other))
                {
                    continue;
                }
                if (nodes.Count >= MaxGraphNodes)
                {
                    truncated = true;
                    continue;
                }
                if (other == runNode)
                {
                    nodes[other] = new LineageNode("run", other, runKey.ToString());
                    frontier.Enqueue(("run", other, level + 1));
                }
                else
                {
                    var artifact = await FindArtifactAsync(otherKey, cancellationToken).ConfigureAwait(false);
                    nodes[other] = new LineageNode("artifact", other, artifact is null ? otherKey.ToString() : Label(artifact));
                    frontier.Enqueue(("artifact", other, level + 1));
                }
            }
        }
        return new LineageGraph(nodes.Values.ToList(), edges.ToList(), truncated);
    }

    private async Task<bool> CanSeeAsync(Principal principal, string entity, Dictionary<string, bool> cache, CancellationToken cancellationToken)
    {
        if (!cache.TryGetValue(entity, out var visible))
        {
            visible = await tenancy.GetRoleAsync(principal, entity, cancellationToken).ConfigureAwait(false) is not null;
            cache[entity] = visible;
        }
        return visible;
    }

    private static string RunNode(RunKey run) => $"run:{run.Entity}/{run.Project}/{run.RunId}";

    private static RunKey ParseRunNode(string node)
    {
        var parts = node["run:".Length..].Split('/', 3);
        return new RunKey(parts[0], parts[1], parts[2]);
    }

    private static string ArtifactNode(string artifactId) => "artifact:" + artifactId;

    private static string Label(ArtifactRow artifact) =>
        artifact.VersionIndex is { } v ? $"{artifact.Entity}/{artifact.Project}/{artifact.Collection}:v{v}" : $"{artifact.Entity}/{artifact.Project}/{artifact.Collection}@{artifact.Guid}";
}
