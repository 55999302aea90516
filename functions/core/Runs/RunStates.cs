using Weightless.Core.Errors;

namespace Weightless.Core.Runs;

/// <summary>The run states the W&amp;B clients and UI know.</summary>
internal static class RunStates
{
    public const string Pending = "pending";
    public const string Running = "running";
    public const string Finished = "finished";
    public const string Failed = "failed";
    public const string Crashed = "crashed";
    public const string Killed = "killed";
    public const string Preempting = "preempting";
    public const string Preempted = "preempted";

    private static readonly HashSet<string> All = new(StringComparer.Ordinal)
    {
        Pending, Running, Finished, Failed, Crashed, Killed, Preempting, Preempted,
    };

    /// <summary>States in which a run is expected to send heartbeats (and is in the running index).</summary>
    public static bool IsLive(string state) => state is Running or Preempting;

    /// <summary>States a run reaches by ending, which new stream data revives (a resumed run).</summary>
    public static bool IsEnded(string state) => state is Finished or Failed or Crashed or Killed or Preempted;

    public static string Parse(string value, string field = "state")
    {
        var state = value.Trim().ToLowerInvariant();
        return All.Contains(state)
            ? state
            : throw new ValidationFailedException($"Unknown run state '{value}'; use one of {string.Join(", ", All)}.", field);
    }
}
