using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Weightless.Core.Query;

// The REST answers of /api/v1 (functions/query/openapi.json describes the same shapes).

internal sealed record EntityDto(string Name, string Kind, string Role);

internal sealed record EntityListDto(IReadOnlyList<EntityDto> Entities);

internal sealed record ProjectDto(string Entity, string Name, DateTimeOffset? CreatedAt, string? CreatedBy, int RunCount, DateTimeOffset? LastRunCreatedAt);

internal sealed record ProjectListDto(IReadOnlyList<ProjectDto> Projects);

internal sealed record RunDto
{
    public required string Id { get; init; }
    public required string Entity { get; init; }
    public required string Project { get; init; }
    public string? DisplayName { get; init; }
    public required string State { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset HeartbeatAt { get; init; }
    public DateTimeOffset? UpdatedAt { get; init; }
    public string? User { get; init; }
    public IReadOnlyList<string> Tags { get; init; } = [];
    public string? Group { get; init; }
    public string? JobType { get; init; }
    public string? Host { get; init; }
    public string? Sweep { get; init; }
    public string? Notes { get; init; }
    public string? Description { get; init; }
    public string? Commit { get; init; }
    public double Runtime { get; init; }
    public long? HistoryLineCount { get; init; }
    public long? LastStep { get; init; }
    public bool? Deleted { get; init; }

    /// <summary>The run this one was forked from (fork_from / POST …/fork); absent for other runs and in lists.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public ForkLinkDto? ForkedFrom { get; init; }
    public JsonObject Config { get; init; } = [];
    public JsonObject Summary { get; init; } = [];
}

/// <summary>A fork's parent: its path (<c>entity/project/runId</c>), run id and the step the fork starts after.</summary>
internal sealed record ForkLinkDto(string Path, string RunId, long Step);

internal sealed record RunPageDto(IReadOnlyList<RunDto> Runs, int Total, string? NextCursor);

/// <summary>POST runs/query: the list parameters in a body (long filters do not fit a URL).</summary>
internal sealed record RunQueryRequest(JsonElement? Filter, JsonElement? Sort, int? Limit, string? Cursor, bool? IncludeDeleted);

internal sealed record GroupDto(IReadOnlyList<JsonNode?> Values, int Count, string Key);

internal sealed record GroupPageDto(IReadOnlyList<string> By, IReadOnlyList<GroupDto> Groups, int Total);

internal sealed record RunPatchRequest(string? DisplayName, string? Notes, string? Description, IReadOnlyList<string>? Tags, JsonElement? Config, JsonElement? Summary);

internal sealed record MoveRunRequest(string? Project, string? Entity);

internal sealed record HistoryKeyDto(string Key, IReadOnlyDictionary<string, long> Types);

internal sealed record HistoryKeysDto(IReadOnlyList<HistoryKeyDto> Keys, long? LastStep, long LineCount);

internal sealed record HistoryPageDto(IReadOnlyList<JsonObject> Rows, string? NextCursor);

internal sealed record SampledHistoryDto(IReadOnlyList<JsonObject> Rows, int MatchingRows);

internal sealed record M4Request(IReadOnlyList<string>? Runs, IReadOnlyList<string>? Metrics, string? XAxis, double? Min, double? Max, int? Buckets);

internal sealed record M4PointDto(double X, double Y);

internal sealed record M4BucketDto(double Start, double End, long Count, long NonFinite, M4PointDto? First, M4PointDto? Last, M4PointDto? Min, M4PointDto? Max);

internal sealed record M4SeriesDto(string Run, string Metric, IReadOnlyList<M4BucketDto> Buckets, string Source);

internal sealed record M4ResponseDto(string XAxis, int Buckets, IReadOnlyList<M4SeriesDto> Series);

internal sealed record SystemMetricsDto(IReadOnlyList<string> Keys, IReadOnlyList<JsonObject> Rows, int MatchingRows);

internal sealed record LogLineDto(long Index, string Text, string Stream);

internal sealed record LogPageDto(IReadOnlyList<LogLineDto> Lines, long LineCount, string? NextCursor);

internal sealed record RunFileDto(string Name, long? SizeBytes, string? Md5, DateTimeOffset? UpdatedAt, string? ContentType, string Url);

internal sealed record FilePageDto(IReadOnlyList<RunFileDto> Files, string? NextCursor);

internal sealed record ProjectHistoryKeysRequest(IReadOnlyList<string>? Runs, int? First = null);

/// <summary>A history key over many runs: its value types (counts summed) and how many of the runs logged it.</summary>
internal sealed record ProjectHistoryKeyDto(string Key, IReadOnlyDictionary<string, long> Types, int Runs);

/// <summary>The runs' keys, and per run its last step (null before any history).</summary>
internal sealed record ProjectHistoryKeysDto(IReadOnlyList<ProjectHistoryKeyDto> Keys, IReadOnlyDictionary<string, long?> LastSteps);
