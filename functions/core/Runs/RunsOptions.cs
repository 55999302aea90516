namespace Weightless.Core.Runs;

/// <summary>Bound from the <c>Runs</c> section.</summary>
internal sealed class RunsOptions
{
    public const string Section = "Runs";

    /// <summary>A live run without a heartbeat for this long is marked crashed (preempting: preempted).</summary>
    public TimeSpan CrashAfter { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How long an upload or download URL for a run file stays valid.</summary>
    public TimeSpan FileUrlLifetime { get; set; } = TimeSpan.FromHours(1);
}
