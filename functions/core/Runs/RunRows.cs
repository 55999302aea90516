using System.Runtime.Serialization;
using Azure;
using Azure.Data.Tables;
using Weightless.Core.Storage;

namespace Weightless.Core.Runs;

/// <summary>A project (table <c>projects</c>): partition = entity, row = project name. Created on first use.</summary>
internal sealed class ProjectRow : TableRow
{
    public string Name { get; set; } = "";
    public string? CreatedBy { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
}

/// <summary>
/// One run (table <c>runs</c>): partition = <c>entity:project</c>, row = run id. Config and
/// summary live inline up to <see cref="RunService.InlineJsonChars"/> characters; larger ones are
/// blobs in container <c>runs</c> named by <see cref="ConfigBlob"/> / <see cref="SummaryBlob"/>.
/// </summary>
internal sealed class RunRow : TableRow
{
    public string Entity { get; set; } = "";
    public string Project { get; set; } = "";
    public string RunId { get; set; } = "";
    public string? DisplayName { get; set; }
    public string? Description { get; set; }
    public string? Notes { get; set; }
    public string? Config { get; set; }
    public string? ConfigBlob { get; set; }
    public string? Summary { get; set; }
    public string? SummaryBlob { get; set; }

    /// <summary>JSON array of strings.</summary>
    public string? Tags { get; set; }
    public string? Group { get; set; }
    public string? JobType { get; set; }
    public string? Host { get; set; }
    public string? Program { get; set; }
    public string? Commit { get; set; }
    public string? Repo { get; set; }
    public string? SweepName { get; set; }
    public string State { get; set; } = RunStates.Running;
    public bool StopRequested { get; set; }
    public int? ExitCode { get; set; }
    public string? CreatedBy { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
    public DateTimeOffset HeartbeatAt { get; set; }

    /// <summary>The heartbeat last written to the running index (written at most once a minute).</summary>
    public DateTimeOffset? IndexedHeartbeatAt { get; set; }
    public long HistoryLineCount { get; set; }
    public long EventsLineCount { get; set; }
    public long LogLineCount { get; set; }
    public long? LastStep { get; set; }

    /// <summary>The run this one was resumed or forked from (<c>entity/project/run</c>), when known.</summary>
    public string? ForkedFrom { get; set; }

    /// <summary>The parent's step the fork starts from (its history up to and including this step was copied).</summary>
    public long? ForkedFromStep { get; set; }

    /// <summary>
    /// Set while a rewind truncates the history (written with the row's ETag, so only one rewind
    /// runs at a time); file_stream answers 409 meanwhile so no append interleaves with the truncation.
    /// </summary>
    public DateTimeOffset? RewindingSince { get; set; }
    public string? ResumedFrom { get; set; }

    /// <summary>
    /// Set by <c>deleteRun</c>: the run is gone from every read, its row, history and files are
    /// kept (soft delete), and its id cannot be reused.
    /// </summary>
    public DateTimeOffset? DeletedAt { get; set; }

    [IgnoreDataMember]
    public RunKey Key => new(Entity, Project, RunId);
}

/// <summary>
/// The running index (table <c>runningruns</c>): one row per live run, partition = entity, row =
/// <c>project:run</c>. Crash detection scans only this small table, never the tenants' runs.
/// </summary>
internal sealed class RunningRunRow : TableRow
{
    public string Entity { get; set; } = "";
    public string Project { get; set; } = "";
    public string RunId { get; set; } = "";
    public DateTimeOffset HeartbeatAt { get; set; }
}
