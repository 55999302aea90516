using Weightless.Core.Errors;

namespace Weightless.Core.Query;

internal enum RunFieldKind
{
    Column,
    Tags,
    Config,
    Summary,
}

/// <summary>
/// A field of a run that filters, sorts and groups can name. The W&amp;B spellings are accepted
/// (<c>config.lr.value</c>, <c>summary_metrics.loss</c>, <c>created_at</c>, <c>display_name</c>) next to
/// ours (<c>config.lr</c>, <c>createdAt</c>); nested keys are dotted.
/// </summary>
internal sealed record RunField(RunFieldKind Kind, string Name)
{
    public static readonly RunField RunName = new(RunFieldKind.Column, "name");
    public static readonly RunField DisplayName = new(RunFieldKind.Column, "displayName");
    public static readonly RunField State = new(RunFieldKind.Column, "state");
    public static readonly RunField CreatedAt = new(RunFieldKind.Column, "createdAt");
    public static readonly RunField HeartbeatAt = new(RunFieldKind.Column, "heartbeatAt");
    public static readonly RunField User = new(RunFieldKind.Column, "username");
    public static readonly RunField Group = new(RunFieldKind.Column, "group");
    public static readonly RunField JobType = new(RunFieldKind.Column, "jobType");
    public static readonly RunField Host = new(RunFieldKind.Column, "host");
    public static readonly RunField Sweep = new(RunFieldKind.Column, "sweep");
    public static readonly RunField Runtime = new(RunFieldKind.Column, "runtime");
    public static readonly RunField Tags = new(RunFieldKind.Tags, "tags");

    public static readonly IReadOnlyList<string> ColumnNames =
        ["name", "displayName", "state", "createdAt", "heartbeatAt", "username", "group", "jobType", "host", "sweep", "runtime"];

    private static readonly Dictionary<string, RunField> Aliases = new(StringComparer.Ordinal)
    {
        ["name"] = RunName, ["id"] = RunName,
        ["displayName"] = DisplayName, ["display_name"] = DisplayName,
        ["state"] = State,
        ["createdAt"] = CreatedAt, ["created_at"] = CreatedAt,
        ["heartbeatAt"] = HeartbeatAt, ["heartbeat_at"] = HeartbeatAt,
        ["username"] = User, ["user"] = User,
        ["group"] = Group,
        ["jobType"] = JobType, ["job_type"] = JobType,
        ["host"] = Host,
        ["sweep"] = Sweep, ["sweepName"] = Sweep,
        ["runtime"] = Runtime, ["duration"] = Runtime,
        ["tags"] = Tags,
    };

    public bool IsDate => Kind == RunFieldKind.Column && Name is "createdAt" or "heartbeatAt";

    /// <summary>The canonical path (<c>config.lr</c>, <c>summary_metrics.loss</c>, <c>createdAt</c>).</summary>
    public string Path => Kind switch
    {
        RunFieldKind.Config => "config." + Name,
        RunFieldKind.Summary => "summary_metrics." + Name,
        _ => Name,
    };

    /// <summary>Resolves a field path; a 400 naming <paramref name="errorField"/> when it names nothing we know.</summary>
    public static RunField Parse(string? path, string errorField)
    {
        path = path?.Trim();
        if (string.IsNullOrEmpty(path))
        {
            throw new ValidationFailedException("A field name is empty.", errorField);
        }
        if (Aliases.TryGetValue(path, out var known))
        {
            return known;
        }
        foreach (var prefix in new[] { "config." })
        {
            if (path.StartsWith(prefix, StringComparison.Ordinal) && path.Length > prefix.Length)
            {
                return new RunField(RunFieldKind.Config, UnwrapConfigKey(path[prefix.Length..]));
            }
        }
        foreach (var prefix in new[] { "summary_metrics.", "summaryMetrics.", "summary." })
        {
            if (path.StartsWith(prefix, StringComparison.Ordinal) && path.Length > prefix.Length)
            {
                return new RunField(RunFieldKind.Summary, path[prefix.Length..]);
            }
        }
        throw new ValidationFailedException(
            $"Unknown field '{path}'; use config.<key>, summary_metrics.<key>, state, tags, displayName, createdAt, heartbeatAt, username, jobType, group, host, sweep, name or runtime.",
            errorField);
    }

    /// <summary>W&amp;B addresses config values as <c>config.&lt;key&gt;.value[.nested]</c>; the index keeps them unwrapped.</summary>
    private static string UnwrapConfigKey(string key)
    {
        var dot = key.IndexOf('.', StringComparison.Ordinal);
        if (dot < 0)
        {
            return key;
        }
        var rest = key[(dot + 1)..];
        if (rest == "value")
        {
            return key[..dot];
        }
        return rest.StartsWith("value.", StringComparison.Ordinal) ? key[..dot] + rest["value".Length..] : key;
    }
}
