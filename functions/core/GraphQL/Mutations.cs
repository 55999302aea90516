using GraphQL;
using GraphQL.Types;
using Weightless.Core.Errors;
using Weightless.Core.Runs;
using Weightless.Core.Tenancy;

namespace Weightless.Core.GraphQL;

internal sealed class UpsertBucketInputType : InputObjectGraphType
{
    public UpsertBucketInputType()
    {
        Name = "UpsertBucketInput";
        Field<StringGraphType>("id");
        Field<StringGraphType>("name");
        Field<StringGraphType>("groupName");
        Field<StringGraphType>("modelName");
        Field<StringGraphType>("entityName");
        Field<StringGraphType>("description");
        Field<StringGraphType>("displayName");
        Field<StringGraphType>("notes");
        Field<StringGraphType>("commit");
        Field<JsonStringGraphType>("config");
        Field<StringGraphType>("host");
        Field<BooleanGraphType>("debug");
        Field<StringGraphType>("jobProgram");
        Field<StringGraphType>("jobRepo");
        Field<StringGraphType>("jobType");
        Field<StringGraphType>("state");
        Field<StringGraphType>("sweep");
        Field<ListGraphType<StringGraphType>>("tags");
        Field<JsonStringGraphType>("summaryMetrics");
        Field<StringGraphType>("framework");
        Field<StringGraphType>("clientMutationId");
    }
}

internal sealed record UpsertBucketPayload(RunRow Bucket, bool Inserted);

internal sealed class UpsertBucketPayloadType : ObjectGraphType<UpsertBucketPayload>
{
    public UpsertBucketPayloadType()
    {
        Name = "UpsertBucketPayload";
        Field<RunType>("bucket").Resolve(c => c.Source.Bucket);
        Field<BooleanGraphType>("inserted").Resolve(c => c.Source.Inserted);
        Field<BooleanGraphType>("updateAvailable").Resolve(_ => false);
        Field<ServerSettingsType>("serverSettings").Resolve(_ => new object());
        Field<StringGraphType>("clientMutationId").Resolve(_ => null);
    }
}

internal sealed class CreateRunFilesInputType : InputObjectGraphType
{
    public CreateRunFilesInputType()
    {
        Name = "CreateRunFilesInput";
        Field<StringGraphType>("entityName");
        Field<NonNullGraphType<StringGraphType>>("projectName");
        Field<NonNullGraphType<StringGraphType>>("runName");
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<StringGraphType>>>>("files");
        Field<StringGraphType>("clientMutationId");
    }
}

internal sealed record CreateRunFilesPayload(RunKey Run, IReadOnlyList<(string Name, string UploadUrl)> Files);

internal sealed class CreateRunFilesPayloadType : ObjectGraphType<CreateRunFilesPayload>
{
    public CreateRunFilesPayloadType()
    {
        Name = "CreateRunFilesPayload";
        Field<NonNullGraphType<IdGraphType>>("runID").Resolve(c => RunIds.Run(c.Source.Run));
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<StringGraphType>>>>("uploadHeaders").Resolve(_ => RunFileService.UploadHeaders);
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<RunFileUploadType>>>>("files").Resolve(c => c.Source.Files);
        Field<StringGraphType>("clientMutationId").Resolve(_ => null);
    }
}

internal sealed class RunFileUploadType : ObjectGraphType<(string Name, string UploadUrl)>
{
    public RunFileUploadType()
    {
        Name = "RunFileUpload";
        Field<NonNullGraphType<StringGraphType>>("name").Resolve(c => c.Source.Name);
        Field<StringGraphType>("uploadUrl").Resolve(c => c.Source.UploadUrl);
    }
}

internal sealed class StopRunInputType : InputObjectGraphType
{
    public StopRunInputType()
    {
        Name = "StopRunInput";
        Field<NonNullGraphType<IdGraphType>>("id");
        Field<StringGraphType>("clientMutationId");
    }
}

internal sealed class StopRunPayloadType : ObjectGraphType<RunRow>
{
    public StopRunPayloadType()
    {
        Name = "StopRunPayload";
        Field<BooleanGraphType>("success").Resolve(_ => true);
        Field<StringGraphType>("clientMutationId").Resolve(_ => null);
    }
}

internal sealed class DeleteRunInputType : InputObjectGraphType
{
    public DeleteRunInputType()
    {
        Name = "DeleteRunInput";
        Field<NonNullGraphType<IdGraphType>>("id");
        Field<BooleanGraphType>("deleteArtifacts");
        Field<StringGraphType>("clientMutationId");
    }
}

internal sealed class DeleteRunPayloadType : ObjectGraphType<RunRow>
{
    public DeleteRunPayloadType()
    {
        Name = "DeleteRunPayload";
        Field<BooleanGraphType>("success").Resolve(_ => true);
        Field<StringGraphType>("clientMutationId").Resolve(_ => null);
    }
}

internal sealed class UpdateRunStateInputType : InputObjectGraphType
{
    public UpdateRunStateInputType()
    {
        Name = "UpdateRunStateInput";
        Field<NonNullGraphType<IdGraphType>>("id");
        Field<NonNullGraphType<StringGraphType>>("state");
        Field<StringGraphType>("clientMutationId");
    }
}

internal sealed class UpdateRunStatePayloadType : ObjectGraphType<RunRow>
{
    public UpdateRunStatePayloadType()
    {
        Name = "UpdateRunStatePayload";
        Field<BooleanGraphType>("success").Resolve(_ => true);
        Field<RunType>("run").Resolve(c => c.Source);
        Field<StringGraphType>("clientMutationId").Resolve(_ => null);
    }
}

/// <summary>What the Go-core client sends for <c>resume_from="run?_step=N"</c> (metricName is <c>_step</c>).</summary>
internal sealed class RewindRunInputType : InputObjectGraphType
{
    public RewindRunInputType()
    {
        Name = "RewindRunInput";
        Field<NonNullGraphType<StringGraphType>>("runName");
        Field<StringGraphType>("entityName");
        Field<StringGraphType>("projectName");
        Field<NonNullGraphType<StringGraphType>>("metricName");
        Field<NonNullGraphType<FloatGraphType>>("metricValue");
        Field<StringGraphType>("clientMutationId");
    }
}

internal sealed class RewindRunPayloadType : ObjectGraphType<RunRow>
{
    public RewindRunPayloadType()
    {
        Name = "RewindRunPayload";
        Field<RunType>("rewoundRun").Resolve(c => c.Source);
        Field<StringGraphType>("clientMutationId").Resolve(_ => null);
    }
}

internal sealed class MutationType : ObjectGraphType
{
    public MutationType()
    {
        Name = "Mutation";
        Field<UpsertBucketPayloadType>("upsertBucket").Argument<NonNullGraphType<UpsertBucketInputType>>("input").ResolveAsync(UpsertBucketAsync);
        Field<CreateRunFilesPayloadType>("createRunFiles").Argument<NonNullGraphType<CreateRunFilesInputType>>("input").ResolveAsync(CreateRunFilesAsync);
        Field<StopRunPayloadType>("stopRun").Argument<NonNullGraphType<StopRunInputType>>("input").ResolveAsync(async c =>
        {
            var input = c.GetArgument<Dictionary<string, object?>>("input");
            return await c.Service<RunService>().RequestStopAsync(c.Principal(), Text(input, "id") ?? "", c.CancellationToken).ConfigureAwait(false);
        });
        Field<RewindRunPayloadType>("rewindRun").Argument<NonNullGraphType<RewindRunInputType>>("input").ResolveAsync(async c =>
        {
            var input = c.GetArgument<Dictionary<string, object?>>("input");
            var principal = c.Principal();
            if (Text(input, "metricName") != "_step")
            {
                throw new ValidationFailedException("Rewinding is supported by '_step' only.", "metricName");
            }
            var value = Convert.ToDouble(input["metricValue"], System.Globalization.CultureInfo.InvariantCulture);
            if (double.IsNaN(value) || value < 0 || value > long.MaxValue || value != Math.Floor(value))
            {
                throw new ValidationFailedException("'metricValue' must be a whole step, 0 or more.", "metricValue");
            }
            var key = new RunKey(
                EntityNames.ValidateEntity(RunService.ResolveEntity(principal, Text(input, "entityName")), "entityName"),
                EntityNames.ValidateProject(Text(input, "projectName") is { Length: > 0 } project ? project : RunService.DefaultProject, "projectName"),
                RunService.ValidateRunId(Text(input, "runName"), "runName"));
            var result = await c.Service<RunBranchService>().RewindAsync(principal, key, (long)value, c.CancellationToken).ConfigureAwait(false);
            return result.Run;
        });
        Field<DeleteRunPayloadType>("deleteRun").Argument<NonNullGraphType<DeleteRunInputType>>("input").ResolveAsync(async c =>
        {
            var input = c.GetArgument<Dictionary<string, object?>>("input");
            return await c.Service<RunService>().DeleteAsync(c.Principal(), Text(input, "id") ?? "", c.CancellationToken).ConfigureAwait(false);
        });
        Field<UpdateRunStatePayloadType>("updateRunState").Argument<NonNullGraphType<UpdateRunStateInputType>>("input").ResolveAsync(async c =>
        {
            var input = c.GetArgument<Dictionary<string, object?>>("input");
            return await c.Service<RunService>().UpdateStateAsync(c.Principal(), Text(input, "id") ?? "", Text(input, "state"), c.CancellationToken).ConfigureAwait(false);
        });
    }

    private static async Task<object?> UpsertBucketAsync(IResolveFieldContext<object?> context)
    {
        var input = context.GetArgument<Dictionary<string, object?>>("input");
        var command = new UpsertRunCommand
        {
            Id = Text(input, "id"),
            Name = Text(input, "name"),
            Project = Text(input, "modelName"),
            Entity = Text(input, "entityName"),
            GroupName = Text(input, "groupName"),
            Description = Text(input, "description"),
            DisplayName = Text(input, "displayName"),
            Notes = Text(input, "notes"),
            Commit = Text(input, "commit"),
            Config = Text(input, "config"),
            Host = Text(input, "host"),
            Program = Text(input, "jobProgram"),
            Repo = Text(input, "jobRepo"),
            JobType = Text(input, "jobType"),
            State = Text(input, "state"),
            Sweep = Text(input, "sweep"),
            Tags = input.TryGetValue("tags", out var tags) && tags is IEnumerable<object?> list ? list.Select(t => t?.ToString() ?? "").ToList() : null,
            SummaryMetrics = Text(input, "summaryMetrics"),
        };
        var user = context.UserContext as GraphUserContext;
        UpsertRunResult result;
        try
        {
            result = await context.Service<RunService>().UpsertAsync(context.Principal(), command, context.CancellationToken, user?.ResponseHeaders).ConfigureAwait(false);
        }
        catch (RateLimitedException limited) when (user is not null)
        {
            user.RateLimited = limited;
            throw;
        }
        var run = await context.Service<RunBranchService>().ApplyConfigBranchPointAsync(result.Run, command.Config, context.CancellationToken).ConfigureAwait(false);
        return new UpsertBucketPayload(run, result.Inserted);
    }

    private static async Task<object?> CreateRunFilesAsync(IResolveFieldContext<object?> context)
    {
        var input = context.GetArgument<Dictionary<string, object?>>("input");
        var principal = context.Principal();
        var entity = RunService.ResolveEntity(principal, Text(input, "entityName"));
        var project = EntityNames.ValidateProject(Text(input, "projectName"), "projectName");
        var runId = RunService.ValidateRunId(Text(input, "runName"), "runName");
        var names = input.TryGetValue("files", out var files) && files is IEnumerable<object?> list ? list.Select(f => f?.ToString()).ToList() : [];
        if (names.Count > 1000)
        {
            throw new ValidationFailedException("At most 1000 files per call.", "files");
        }
        var key = new RunKey(entity, project, runId);
        var service = context.Service<RunFileService>();
        await service.RequireRunAsync(principal, key, Role.Member, context.CancellationToken).ConfigureAwait(false);
        var uploads = new List<(string, string)>(names.Count);
        foreach (var name in names)
        {
            var path = RunFileService.ValidatePath(name);
            uploads.Add((path, (await service.UploadUrlAsync(key, path, context.CancellationToken).ConfigureAwait(false)).AbsoluteUri));
        }
        return new CreateRunFilesPayload(key, uploads);
    }

    private static string? Text(Dictionary<string, object?> input, string name) =>
        input.TryGetValue(name, out var value) ? value?.ToString() : null;
}

internal sealed class QueryType : ObjectGraphType
{
    public QueryType()
    {
        Name = "Query";
        Field<UserType>("viewer").ResolveAsync(ViewerResolver.ResolveAsync);
        Field<ServerInfoType>("serverInfo").Resolve(_ => new object());
        Field<ProjectType>("project").Argument<StringGraphType>("name").Argument<StringGraphType>("entityName").ResolveAsync(ProjectType.ResolveAsync);
        Field<ProjectType>("model").Argument<StringGraphType>("name").Argument<StringGraphType>("entityName").ResolveAsync(ProjectType.ResolveAsync);
        ProjectListing.AddRootFields(this);
    }
}

/// <summary>The W&amp;B-compatible schema, code-first: one instance per process (building it is costly).</summary>
internal sealed class WandbSchema : Schema
{
    public WandbSchema()
    {
        Query = new QueryType();
        Mutation = new MutationType();
        RegisterType(typeof(ServerSettingsType));
        ArtifactSchema.Register(this);
        RegistrySchema.Register(this);
    }
}
