using Weightless.Core.Storage;

namespace Weightless.Core.Runs;

/// <summary>Identifies one run: its entity (the tenant), project and run id (the W&amp;B run "name").</summary>
internal sealed record RunKey(string Entity, string Project, string RunId)
{
    /// <summary>The table partition of everything stored per run: tenant first, as every key is.</summary>
    public string PartitionKey => TableKeys.Compose(Entity, Project, RunId);

    /// <summary>The blob name prefix of the run's files: <c>{entity}/{project}/{run}/</c>.</summary>
    public string BlobPrefix => $"{Entity}/{Uri.EscapeDataString(Project)}/{Uri.EscapeDataString(RunId)}/";

    public override string ToString() => $"{Entity}/{Project}/{RunId}";
}
