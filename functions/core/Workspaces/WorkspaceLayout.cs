using System.Text.Json.Serialization;

namespace Weightless.Core.Workspaces;

/// <summary>
/// A user's saved workspace of one project, as the dashboard edits it: chart sections with their
/// panels, the runs table's columns and per-run colours. <c>null</c> sections or columns mean
/// "automatic" (a panel per logged metric; the default columns).
/// </summary>
internal sealed class WorkspaceLayout
{
    public int Version { get; set; } = 1;

    public List<WorkspaceSection>? Sections { get; set; }

    public List<WorkspaceColumn>? Columns { get; set; }

    public Dictionary<string, string>? Colours { get; set; }
}

internal sealed class WorkspaceSection
{
    public string? Name { get; set; }

    public bool? Collapsed { get; set; }

    public List<WorkspacePanel>? Panels { get; set; }
}

/// <summary>
/// One panel. <c>line</c> plots <see cref="Metrics"/> over <see cref="XAxis"/>; <c>scatter</c> plots
/// run keys <see cref="X"/> against <see cref="Y"/>; <c>bar</c> one run key <see cref="Y"/> per run;
/// <c>parallel</c> the run keys in <see cref="Keys"/>; <c>comparer</c> config and summary side by side.
/// Run keys are the runs table's column keys (<c>config.lr</c>, <c>summary_metrics.loss</c>).
/// </summary>
internal sealed class WorkspacePanel
{
    public string? Id { get; set; }

    public string? Type { get; set; }

    public string? Title { get; set; }

    public List<string>? Metrics { get; set; }

    public string? XAxis { get; set; }

    public string? X { get; set; }

    public string? Y { get; set; }

    public List<string>? Keys { get; set; }

    public bool? LogY { get; set; }
}

internal sealed class WorkspaceColumn
{
    public string? Key { get; set; }

    public bool? Pinned { get; set; }
}

/// <summary>What GET and PUT answer: the layout (the default one until the user saves), whether it was saved, and its version tag.</summary>
internal sealed record WorkspaceDocument(
    string Entity,
    string Project,
    string User,
    bool Saved,
    [property: JsonPropertyName("etag")] string? ETag,
    DateTimeOffset? UpdatedAt,
    WorkspaceLayout Layout);
