using System.Text.RegularExpressions;
using Weightless.Core.Errors;

namespace Weightless.Core.Workspaces;

/// <summary>Checks a layout before it is stored; every failure is a 400 naming the offending field (<c>sections[2].panels[0].type</c>).</summary>
internal static partial class WorkspaceLayoutValidator
{
    public const int MaxSections = 100;
    public const int MaxPanelsPerSection = 200;
    public const int MaxKeysPerPanel = 100;
    public const int MaxColumns = 500;
    public const int MaxColours = 10_000;
    public const int MaxTextLength = 512;

    public static readonly IReadOnlyList<string> PanelTypes = ["line", "scatter", "bar", "parallel", "comparer"];

    public static void Validate(WorkspaceLayout layout)
    {
        if (layout.Version != 1)
        {
            throw new ValidationFailedException($"Unsupported layout version {layout.Version}; this server stores version 1.", "version");
        }
        if (layout.Sections is { } sections)
        {
            Limit(sections.Count, MaxSections, "sections");
            var panelIds = new HashSet<string>(StringComparer.Ordinal);
            for (var s = 0; s < sections.Count; s++)
            {
                var section = sections[s] ?? throw new ValidationFailedException("A section must be an object.", $"sections[{s}]");
                Text(section.Name, $"sections[{s}].name", required: true);
                var panels = section.Panels ?? [];
                Limit(panels.Count, MaxPanelsPerSection, $"sections[{s}].panels");
                for (var p = 0; p < panels.Count; p++)
                {
                    ValidatePanel(panels[p], $"sections[{s}].panels[{p}]", panelIds);
                }
            }
        }
        if (layout.Columns is { } columns)
        {
            Limit(columns.Count, MaxColumns, "columns");
            for (var c = 0; c < columns.Count; c++)
            {
                Text(columns[c]?.Key, $"columns[{c}].key", required: true);
            }
        }
        if (layout.Colours is { } colours)
        {
            Limit(colours.Count, MaxColours, "colours");
            foreach (var (run, colour) in colours)
            {
                Text(run, "colours", required: true);
                if (colour is null || !Colour().IsMatch(colour))
                {
                    throw new ValidationFailedException($"The colour of run '{run}' must be #rrggbb, not '{colour}'.", $"colours.{run}");
                }
            }
        }
    }

    private static void ValidatePanel(WorkspacePanel? panel, string field, HashSet<string> panelIds)
    {
        if (panel is null)
        {
            throw new ValidationFailedException("A panel must be an object.", field);
        }
        var id = Text(panel.Id, $"{field}.id", required: true)!;
        if (!panelIds.Add(id))
        {
            throw new ValidationFailedException($"Panel id '{id}' appears twice; ids are unique within a workspace.", $"{field}.id");
        }
        panel.Type ??= "line";
        if (!PanelTypes.Contains(panel.Type))
        {
            throw new ValidationFailedException($"Unknown panel type '{panel.Type}'; one of {string.Join(", ", PanelTypes)}.", $"{field}.type");
        }
        Text(panel.Title, $"{field}.title", required: false);
        Text(panel.XAxis, $"{field}.xAxis", required: false);
        Keys(panel.Metrics, $"{field}.metrics");
        Keys(panel.Keys, $"{field}.keys");
        switch (panel.Type)
        {
            case "line" when panel.Metrics is not { Count: > 0 }:
                throw new ValidationFailedException("A line panel needs at least one metric.", $"{field}.metrics");
            case "scatter":
                Text(panel.X, $"{field}.x", required: true);
                Text(panel.Y, $"{field}.y", required: true);
                break;
            case "bar":
                Text(panel.Y, $"{field}.y", required: true);
                break;
            case "parallel" when panel.Keys is not { Count: >= 2 }:
                throw new ValidationFailedException("A parallel coordinates panel needs at least two keys.", $"{field}.keys");
        }
    }

    private static void Keys(List<string>? keys, string field)
    {
        if (keys is null)
        {
            return;
        }
        Limit(keys.Count, MaxKeysPerPanel, field);
        for (var i = 0; i < keys.Count; i++)
        {
            Text(keys[i], $"{field}[{i}]", required: true);
        }
    }

    private static string? Text(string? value, string field, bool required)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return required ? throw new ValidationFailedException($"'{field}' is required.", field) : value;
        }
        if (value.Length > MaxTextLength)
        {
            throw new ValidationFailedException($"'{field}' is {value.Length} characters; at most {MaxTextLength}.", field);
        }
        return value;
    }

    private static void Limit(int count, int max, string field)
    {
        if (count > max)
        {
            throw new ValidationFailedException($"'{field}' has {count} entries; at most {max}.", field);
        }
    }

    [GeneratedRegex("^#[0-9a-fA-F]{6}$")]
    private static partial Regex Colour();
}
