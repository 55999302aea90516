using GraphQL;
using GraphQL.Types;
using Weightless.Core.Errors;
using Weightless.Core.Query;
using Weightless.Core.Runs;
using Weightless.Core.Tenancy;

namespace Weightless.Core.GraphQL;

/// <summary>A W&amp;B project (the schema also calls it <c>model</c>).</summary>
internal sealed class ProjectType : ObjectGraphType<ProjectSource>
{
    public ProjectType()
    {
        Name = "Project";
        Field<NonNullGraphType<IdGraphType>>("id").Resolve(c => RunIds.Project(c.Source.Entity, c.Source.Name));
        Field<IdGraphType>("internalId").Resolve(c => RunIds.Project(c.Source.Entity, c.Source.Name));
        Field<NonNullGraphType<StringGraphType>>("name").Resolve(c => c.Source.Name);
        Field<NonNullGraphType<StringGraphType>>("entityName").Resolve(c => c.Source.Entity);
        Field<NonNullGraphType<EntityType>>("entity").Resolve(c => new NamedSource(RunIds.Entity(c.Source.Entity), c.Source.Entity));
        Field<BooleanGraphType>("readOnly").Resolve(_ => false);
        Field<BooleanGraphType>("isBenchmark").Resolve(_ => false);
        Field<WandbDateTimeGraphType>("createdAt").Resolve(c => c.Source.Row?.CreatedAt);
        Field<RunType>("run").Argument<StringGraphType>("name").ResolveAsync(c => FindRunAsync(c, missingOk: true));
        Field<RunType>("bucket")
            .Argument<StringGraphType>("name")
            .Argument<BooleanGraphType>("missingOk")
            .Argument<StringGraphType>("desc")
            .ResolveAsync(c => FindRunAsync(c, c.GetArgument("missingOk", false)));
        Field<IntGraphType>("runCount").Argument<JsonStringGraphType>("filters").ResolveAsync(async c =>
            await RunListing.CountAsync(c.Service<RunIndexService>(), c.Source, c.GetArgument<string?>("filters"), c.CancellationToken).ConfigureAwait(false));
        Field<RunConnectionType>("runs")
            .Argument<JsonStringGraphType>("filters")
            .Argument<StringGraphType>("after")
            .Argument<IntGraphType>("first")
            .Argument<StringGraphType>("order")
            .ResolveAsync(async c => await RunListing.ListAsync(c.Service<RunIndexService>(), c.Service<RunService>(), c.Source, c.GetArgument<string?>("filters"), c.GetArgument<string?>("order"), c.GetArgument<string?>("after"), c.GetArgument<int?>("first"), c.CancellationToken).ConfigureAwait(false));
        ArtifactSchema.AddProjectFields(this);
        RegistryClientSchema.AddProjectFields(this);
    }

    private static async Task<object?> FindRunAsync(IResolveFieldContext<ProjectSource> context, bool missingOk)
    {
        var name = RunService.ValidateRunId(context.GetArgument<string?>("name"));
        var run = await context.Service<RunService>().FindRunAsync(new RunKey(context.Source.Entity, context.Source.Name, name), context.CancellationToken).ConfigureAwait(false);
        if (run is null && !missingOk)
        {
            throw new NotFoundException($"Run '{name}' not found in {context.Source.Entity}/{context.Source.Name}.");
        }
        return run;
    }

    /// <summary>
    /// <c>project(name, entityName)</c> / <c>model(...)</c>: needs the Viewer role. A project that has
    /// no runs yet still answers (its runs are null), as resume checks for new runs expect.
    /// </summary>
    public static async Task<object?> ResolveAsync(IResolveFieldContext context)
    {
        var principal = context.Principal();
        var entity = RunService.ResolveEntity(principal, context.GetArgument<string?>("entityName"));
        var name = EntityNames.ValidateProject(context.GetArgument<string?>("name"), "name");
        if (Registry.RegistryNames.IsGoverned(name))
        {
            return await RegistrySchema.ResolveProjectAsync(context, entity, name).ConfigureAwait(false);
        }
        var runs = context.Service<RunService>();
        await runs.AuthorizeAsync(principal, entity, Role.Viewer, context.CancellationToken).ConfigureAwait(false);
        return new ProjectSource(entity, name, await runs.FindProjectAsync(entity, name, context.CancellationToken).ConfigureAwait(false));
    }
}

/// <summary>A W&amp;B run (the mutations call it <c>bucket</c>).</summary>
internal sealed class RunType : ObjectGraphType<RunRow>
{
    public RunType()
    {
        Name = "Run";
        Field<NonNullGraphType<IdGraphType>>("id").Resolve(c => RunIds.Run(c.Source.Key));
        Field<IdGraphType>("internalId").Resolve(c => RunIds.Run(c.Source.Key));
        Field<NonNullGraphType<StringGraphType>>("name").Resolve(c => c.Source.RunId);
        Field<StringGraphType>("displayName").Resolve(c => c.Source.DisplayName ?? c.Source.RunId);
        Field<StringGraphType>("description").Resolve(c => c.Source.Description);
        Field<StringGraphType>("notes").Resolve(c => c.Source.Notes);
        Field<JsonStringGraphType>("config").ResolveAsync(async c => await c.Service<RunService>().GetConfigAsync(c.Source, c.CancellationToken).ConfigureAwait(false));
        Field<JsonStringGraphType>("summaryMetrics").ResolveAsync(async c => await c.Service<RunService>().GetSummaryAsync(c.Source, c.CancellationToken).ConfigureAwait(false));
        Field<JsonStringGraphType>("systemMetrics").Resolve(_ => "{}");
        Field<JsonStringGraphType>("wandbConfig").Argument<ListGraphType<NonNullGraphType<StringGraphType>>>("keys").ResolveAsync(async c =>
            RunJson.WandbConfig(await c.Service<RunService>().GetConfigAsync(c.Source, c.CancellationToken).ConfigureAwait(false), c.GetArgument<List<string>?>("keys")));
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<StringGraphType>>>>("tags").Resolve(c => RunService.GetTags(c.Source));
        Field<StringGraphType>("group").Resolve(c => c.Source.Group);
        Field<StringGraphType>("jobType").Resolve(c => c.Source.JobType);
        Field<StringGraphType>("host").Resolve(c => c.Source.Host);
        Field<StringGraphType>("commit").Resolve(c => c.Source.Commit);
        Field<StringGraphType>("sweepName").Resolve(c => c.Source.SweepName);
        Field<StringGraphType>("state").Resolve(c => c.Source.State);
        Field<BooleanGraphType>("stopped").Resolve(c => c.Source.StopRequested);
        Field<BooleanGraphType>("shouldStop").Resolve(c => c.Source.StopRequested);
        Field<BooleanGraphType>("running").Resolve(c => RunStates.IsLive(c.Source.State));
        Field<BooleanGraphType>("failed").Resolve(c => c.Source.State is RunStates.Failed or RunStates.Crashed);
        Field<IntGraphType>("exitcode").Resolve(c => c.Source.ExitCode);
        Field<BooleanGraphType>("readOnly").Resolve(_ => false);
        Field<WandbDateTimeGraphType>("createdAt").Resolve(c => c.Source.CreatedAt);
        Field<WandbDateTimeGraphType>("heartbeatAt").Resolve(c => c.Source.HeartbeatAt);
        Field<WandbDateTimeGraphType>("updatedAt").Resolve(c => c.Source.UpdatedAt);
        Field<IntGraphType>("historyLineCount").Resolve(c => (int)Math.Min(int.MaxValue, c.Source.HistoryLineCount));
        Field<IntGraphType>("eventsLineCount").Resolve(c => (int)Math.Min(int.MaxValue, c.Source.EventsLineCount));
        Field<IntGraphType>("logLineCount").Resolve(c => (int)Math.Min(int.MaxValue, c.Source.LogLineCount));
        Field<StringGraphType>("historyTail").ResolveAsync(c => RunHistoryReads.HistoryTailAsync(c));
        Field<StringGraphType>("eventsTail").ResolveAsync(c => RunHistoryReads.EventsTailAsync(c));
        Field<JsonGraphType>("historyKeys").ResolveAsync(c => RunHistoryReads.HistoryKeysAsync(c));
        Field<ListGraphType<StringGraphType>>("history")
            .Argument<IntGraphType>("samples")
            .Argument<Int64GraphType>("minStep")
            .Argument<Int64GraphType>("maxStep")
            .ResolveAsync(c => RunHistoryReads.HistoryAsync(c));
        Field<ListGraphType<StringGraphType>>("events").Argument<IntGraphType>("samples").ResolveAsync(c => RunHistoryReads.EventsAsync(c));
        Field<ListGraphType<JsonGraphType>>("sampledHistory")
            .Argument<NonNullGraphType<ListGraphType<NonNullGraphType<JsonStringGraphType>>>>("specs")
            .ResolveAsync(c => RunHistoryReads.SampledHistoryAsync(c));
        Field<ParquetHistoryType>("parquetHistory").Argument<ListGraphType<NonNullGraphType<StringGraphType>>>("liveKeys").Resolve(_ => new object());
        Field<ProjectType>("project").Resolve(c => new ProjectSource(c.Source.Entity, c.Source.Project, null));
        Field<IdGraphType>("projectId").Resolve(c => RunIds.Project(c.Source.Entity, c.Source.Project));
        Field<RunUserType>("user").Resolve(c => c.Source.CreatedBy ?? c.Source.Entity);
        Field<IntGraphType>("fileCount").ResolveAsync(async c => await c.Service<RunFileService>().CountAsync(c.Source.Key, c.CancellationToken).ConfigureAwait(false));
        Field<FileConnectionType>("files")
            .Argument<ListGraphType<StringGraphType>>("names")
            .Argument<StringGraphType>("after")
            .Argument<IntGraphType>("first")
            .ResolveAsync(ResolveFilesAsync);
    }

    private static async Task<object?> ResolveFilesAsync(IResolveFieldContext<RunRow> context)
    {
        var files = context.Service<RunFileService>();
        var names = context.GetArgument<List<string?>?>("names")?.Where(n => !string.IsNullOrEmpty(n)).Select(n => n!).ToList();
        var first = Math.Clamp(context.GetArgument<int?>("first") ?? 50, 1, 10_000);
        if (names is { Count: > 0 })
        {
            // Named files answer even before they are uploaded: legacy clients ask for upload URLs this way.
            var named = new List<RunFileInfo>();
            foreach (var name in names.Distinct(StringComparer.Ordinal).Take(first))
            {
                named.Add(await files.GetAsync(context.Source.Key, RunFileService.ValidatePath(name, "names"), context.CancellationToken).ConfigureAwait(false));
            }
            return new FileConnectionSource(named, false);
        }
        var (page, hasMore) = await files.ListAsync(context.Source.Key, context.GetArgument<string?>("after"), first, context.CancellationToken).ConfigureAwait(false);
        return new FileConnectionSource(page, hasMore);
    }
}

internal sealed class ParquetHistoryType : ObjectGraphType<object>
{
    public ParquetHistoryType()
    {
        Name = "RunParquetHistory";
        // No parquet export: empty lists make readers fall back to paged history.
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<StringGraphType>>>>("parquetUrls").Resolve(_ => Array.Empty<string>());
        Field<NonNullGraphType<ListGraphType<JsonGraphType>>>("liveData").Resolve(_ => Array.Empty<object>());
    }
}

internal sealed record RunEdge(RunRow Run, string Cursor);

internal sealed class RunEdgeType : ObjectGraphType<RunEdge>
{
    public RunEdgeType()
    {
        Name = "RunEdge";
        Field<NonNullGraphType<RunType>>("node").Resolve(c => c.Source.Run);
        Field<NonNullGraphType<StringGraphType>>("cursor").Resolve(c => c.Source.Cursor);
    }
}

internal sealed record RunPage(IReadOnlyList<RunEdge> Edges, bool HasMore, int Total)
{
    /// <summary>A page without a sort order (artifact lineage): each run's cursor is its id.</summary>
    public RunPage(IReadOnlyList<RunRow> runs, bool hasMore, int total)
        : this(runs.Select(r => new RunEdge(r, r.RunId)).ToList(), hasMore, total)
    {
    }

    public IReadOnlyList<RunRow> Runs => Edges.Select(e => e.Run).ToList();
}

internal sealed class RunConnectionType : ObjectGraphType<RunPage>
{
    public RunConnectionType()
    {
        Name = "RunConnection";
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<RunEdgeType>>>>("edges").Resolve(c => c.Source.Edges);
        Field<NonNullGraphType<PageInfoType>>("pageInfo").Resolve(c => (c.Source.Edges.Count > 0 ? c.Source.Edges[^1].Cursor : null, c.Source.HasMore));
        Field<IntGraphType>("totalCount").Resolve(c => c.Source.Total);
    }
}

internal sealed class PageInfoType : ObjectGraphType<(string? EndCursor, bool HasNextPage)>
{
    public PageInfoType()
    {
        Name = "PageInfo";
        Field<StringGraphType>("endCursor").Resolve(c => c.Source.EndCursor);
        Field<NonNullGraphType<BooleanGraphType>>("hasNextPage").Resolve(c => c.Source.HasNextPage);
        Field<StringGraphType>("startCursor").Resolve(_ => null);
        Field<NonNullGraphType<BooleanGraphType>>("hasPreviousPage").Resolve(_ => false);
    }
}

internal sealed class FileType : ObjectGraphType<RunFileInfo>
{
    public FileType()
    {
        Name = "File";
        Field<NonNullGraphType<IdGraphType>>("id").Resolve(c => RunIds.File(c.Source.Run, c.Source.Name));
        Field<NonNullGraphType<StringGraphType>>("name").Resolve(c => c.Source.Name);
        Field<StringGraphType>("displayName").Resolve(c => c.Source.Name);
        Field<StringGraphType>("url").Argument<BooleanGraphType>("upload").ResolveAsync(async c => c.GetArgument("upload", false)
            ? (await c.Service<RunFileService>().UploadUrlAsync(c.Source.Run, c.Source.Name, c.CancellationToken).ConfigureAwait(false)).AbsoluteUri
            : (await c.Service<RunFileService>().DownloadUrlAsync(c.Source.Run, c.Source.Name, c.CancellationToken).ConfigureAwait(false)).AbsoluteUri);
        Field<StringGraphType>("directUrl").ResolveAsync(async c => (await c.Service<RunFileService>().DownloadUrlAsync(c.Source.Run, c.Source.Name, c.CancellationToken).ConfigureAwait(false)).AbsoluteUri);
        Field<StringGraphType>("uploadUrl").ResolveAsync(async c => (await c.Service<RunFileService>().UploadUrlAsync(c.Source.Run, c.Source.Name, c.CancellationToken).ConfigureAwait(false)).AbsoluteUri);
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<StringGraphType>>>>("uploadHeaders").Resolve(_ => RunFileService.UploadHeaders);
        Field<Int64GraphType>("sizeBytes").Resolve(c => c.Source.SizeBytes ?? 0);
        Field<StringGraphType>("mimetype").Resolve(c => c.Source.ContentType ?? "application/octet-stream");
        Field<WandbDateTimeGraphType>("updatedAt").Resolve(c => c.Source.UpdatedAt);
        Field<StringGraphType>("md5").Resolve(c => c.Source.Md5);
    }
}

internal sealed class FileEdgeType() : NodeEdgeGraphType<RunFileInfo, FileType>("FileEdge", s => s.Name);

internal sealed class FileConnectionType : ObjectGraphType<FileConnectionSource>
{
    public FileConnectionType()
    {
        Name = "FileConnection";
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<FileEdgeType>>>>("edges").Resolve(c => c.Source.Files);
        Field<NonNullGraphType<PageInfoType>>("pageInfo").Resolve(c => (c.Source.Files.Count > 0 ? c.Source.Files[^1].Name : null, c.Source.HasMore));
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<StringGraphType>>>>("uploadHeaders").Resolve(_ => RunFileService.UploadHeaders);
    }
}

/// <summary>
/// <c>project.runs(filters, order, first, after)</c> and <c>runCount(filters)</c>: the same per-project run
/// index and query engine as the REST run list (MongoDB-style filters over config, summary and run
/// fields; <c>order</c> like <c>-created_at</c>, <c>+config.lr.value</c>, <c>-summary_metrics.loss</c>;
/// the run id breaks ties). A cursor is the last row's sort values plus its id, so paging while runs
/// are added returns every run once.
/// </summary>
internal static class RunListing
{
    public const int MaxPageSize = 1000;

    public static async Task<int> CountAsync(RunIndexService index, ProjectSource project, string? filters, CancellationToken cancellationToken)
    {
        var filter = RunFilter.Parse(filters, "filters");
        if (project.Row is null)
        {
            return 0;
        }
        return await index.ReadAsync(project.Entity, project.Name, RunFilter.Fields(filter).ToList(),
            (table, _) => Task.FromResult(RunQueryEngine.Match(table, filter, includeDeleted: false).Count), cancellationToken).ConfigureAwait(false);
    }

    public static async Task<RunPage> ListAsync(RunIndexService index, RunService runs, ProjectSource project, string? filters, string? order, string? after, int? first, CancellationToken cancellationToken)
    {
        var filter = RunFilter.Parse(filters, "filters");
        var sort = RunQueryEngine.ParseSort(string.IsNullOrWhiteSpace(order) ? null : [order], "order");
        var spec = new RunQuerySpec(filter, sort, Math.Clamp(first ?? 50, 1, MaxPageSize), string.IsNullOrEmpty(after) ? null : after);
        if (project.Row is null)
        {
            return new RunPage(Array.Empty<RunEdge>(), false, 0);
        }
        // Only the filter and sort columns are decoded on a cold start (the rows come from point reads below).
        var fields = RunFilter.Fields(filter).Concat(sort.Select(k => k.Field)).ToList();
        var (page, hasMore, total) = await index.ReadAsync(project.Entity, project.Name, fields, (table, _) =>
        {
            var result = RunQueryEngine.Execute(table, spec);
            return Task.FromResult((result.Positions.Select(p => (Id: table.Id(p), Cursor: RunQueryEngine.EncodeCursor(table, sort, p))).ToList(), result.NextCursor is not null, result.Total));
        }, cancellationToken).ConfigureAwait(false);
        // The index holds the filterable fields; the full rows (point reads) answer the Run fields.
        var rows = new RunRow?[page.Count];
        await Parallel.ForAsync(0, page.Count, new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = cancellationToken }, async (i, ct) =>
            rows[i] = await runs.FindRunAsync(new RunKey(project.Entity, project.Name, page[i].Id), ct).ConfigureAwait(false)).ConfigureAwait(false);
        var edges = new List<RunEdge>(page.Count);
        for (var i = 0; i < page.Count; i++)
        {
            // A run deleted between the index read and the row read is left out.
            if (rows[i] is { } row)
            {
                edges.Add(new RunEdge(row, page[i].Cursor));
            }
        }
        return new RunPage(edges, hasMore, total);
    }
}

internal sealed record ProjectPage(IReadOnlyList<ProjectSource> Projects, bool HasMore);

internal sealed class ProjectEdgeType() : NodeEdgeGraphType<ProjectSource, ProjectType>("ProjectEdge", s => s.Name);

internal sealed class ProjectConnectionType : ObjectGraphType<ProjectPage>
{
    public ProjectConnectionType()
    {
        Name = "ProjectConnection";
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<ProjectEdgeType>>>>("edges").Resolve(c => c.Source.Projects);
        Field<NonNullGraphType<PageInfoType>>("pageInfo").Resolve(c => (c.Source.Projects.Count > 0 ? c.Source.Projects[^1].Name : null, c.Source.HasMore));
    }
}

/// <summary><c>models(entityName, after, first)</c> / <c>projects(...)</c>: an entity's projects by name (<c>wandb.Api().projects()</c>); needs the Viewer role.</summary>
internal static class ProjectListing
{
    public static void AddRootFields(ObjectGraphType query)
    {
        foreach (var name in new[] { "models", "projects" })
        {
            query.Field<ProjectConnectionType>(name)
                .Argument<StringGraphType>("entityName")
                .Argument<StringGraphType>("after")
                .Argument<IntGraphType>("first")
                .ResolveAsync(ResolveAsync);
        }
    }

    private static async Task<object?> ResolveAsync(IResolveFieldContext context)
    {
        var principal = context.Principal();
        var entity = RunService.ResolveEntity(principal, context.GetArgument<string?>("entityName"));
        await context.Service<RunService>().AuthorizeAsync(principal, entity, Role.Viewer, context.CancellationToken).ConfigureAwait(false);
        var first = Math.Clamp(context.GetArgument<int?>("first") ?? 50, 1, 1000);
        var after = context.GetArgument<string?>("after");
        var table = await context.Service<Storage.StorageAccount>().TableAsync(RunService.ProjectsTable).ConfigureAwait(false);
        var page = new List<ProjectSource>(first + 1);
        var from = string.IsNullOrEmpty(after) ? null : Storage.TableKeys.Escape(after);
        await foreach (var row in table.QueryPartitionAsync<ProjectRow>(Storage.TableKeys.Escape(entity), from, cancellationToken: context.CancellationToken).ConfigureAwait(false))
        {
            if (row.RowKey == from)
            {
                continue;
            }
            page.Add(new ProjectSource(entity, row.Name, row));
            if (page.Count > first)
            {
                break;
            }
        }
        var hasMore = page.Count > first;
        return new ProjectPage(hasMore ? page[..first] : page, hasMore);
    }
}
