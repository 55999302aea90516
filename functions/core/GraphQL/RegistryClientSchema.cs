using System.Text;
using GraphQL;
using GraphQL.Resolvers;
using GraphQL.Types;
using Weightless.Core.Artifacts;
using Weightless.Core.Errors;
using Weightless.Core.Registry;
using Weightless.Core.Runs;
using Weightless.Core.Tenancy;

namespace Weightless.Core.GraphQL;

/// <summary>
/// The Registry management and search documents of the current Python client
/// (<c>wandb/apis/public/registries/</c>, wandb ≥ 0.19): <c>organization { orgEntity { projects |
/// artifactCollections | artifactMemberships } }</c> with Mongo-style JSON filters, the registry
/// fields of <c>Project</c>, and <c>upsertModel</c> / <c>deleteModel</c> / <c>renameProject</c> on
/// registry projects. Resolvers stay thin over <see cref="RegistryService"/>, which checks roles
/// exactly as the REST API does.
/// </summary>
internal static class RegistryClientSchema
{
    public static void AddOrganizationEntityFields(ObjectGraphType<string> orgEntity)
    {
        orgEntity.Field<NonNullGraphType<ProjectConnectionType>>("projects")
            .Argument<JsonStringGraphType>("filters")
            .Argument<StringGraphType>("order")
            .Argument<StringGraphType>("after")
            .Argument<IntGraphType>("first")
            .ResolveAsync(async c =>
            {
                var filter = RegistryDocumentFilter.Parse(c.GetArgument<string?>("filters"), "filters");
                var registries = await c.Service<RegistryService>().FindRegistriesAsync(c.Principal(), c.Source, filter, c.CancellationToken).ConfigureAwait(false);
                var projects = registries.Select(r => new ProjectSource(r.Organization, r.FullName, null)).ToList();
                var (page, hasMore) = Page(projects, p => p.Name, c.GetArgument<string?>("after"), c.GetArgument<int?>("first"));
                return new ProjectPage(page, hasMore);
            });
        orgEntity.Field<NonNullGraphType<ArtifactCollectionConnectionGraphType>>("artifactCollections")
            .Argument<JsonStringGraphType>("projectFilters")
            .Argument<JsonStringGraphType>("filters")
            .Argument<ListGraphType<NonNullGraphType<ArtifactCollectionTypeEnum>>>("collectionTypes")
            .Argument<StringGraphType>("order")
            .Argument<StringGraphType>("after")
            .Argument<IntGraphType>("first")
            .ResolveAsync(async c =>
            {
                var registryFilter = RegistryDocumentFilter.Parse(c.GetArgument<string?>("projectFilters"), "projectFilters");
                var collectionFilter = RegistryDocumentFilter.Parse(c.GetArgument<string?>("filters"), "filters");
                var kinds = c.GetArgument<List<string>?>("collectionTypes");
                var rows = await c.Service<RegistryService>().FindCollectionsAsync(c.Principal(), c.Source, registryFilter, collectionFilter, c.CancellationToken).ConfigureAwait(false);
                var wanted = rows.Where(r => kinds is null || kinds.Count == 0 || kinds.Contains(r.Kind == CollectionKinds.Portfolio ? ArtifactCollectionTypeEnum.Portfolio : ArtifactCollectionTypeEnum.Sequence)).ToList();
                return ArtifactPaging.Collections(wanted, c.GetArgument<string?>("after"), c.GetArgument<int?>("first"));
            });
        orgEntity.Field<NonNullGraphType<ArtifactCollectionMembershipConnectionGraphType>>("artifactMemberships")
            .Argument<JsonStringGraphType>("projectFilters")
            .Argument<JsonStringGraphType>("collectionFilters")
            .Argument<JsonStringGraphType>("filters")
            .Argument<StringGraphType>("order")
            .Argument<StringGraphType>("after")
            .Argument<IntGraphType>("first")
            .ResolveAsync(async c =>
            {
                var registryFilter = RegistryDocumentFilter.Parse(c.GetArgument<string?>("projectFilters"), "projectFilters");
                var collectionFilter = RegistryDocumentFilter.Parse(c.GetArgument<string?>("collectionFilters"), "collectionFilters");
                var versionFilter = RegistryDocumentFilter.Parse(c.GetArgument<string?>("filters"), "filters");
                var found = await c.Service<RegistryService>().FindVersionsAsync(c.Principal(), c.Source, registryFilter, collectionFilter, versionFilter, c.CancellationToken).ConfigureAwait(false);
                var (page, hasMore) = Page(found, MembershipCursor, c.GetArgument<string?>("after"), c.GetArgument<int?>("first"));
                return new MembershipPage(page, hasMore, found.Count);
            });
    }

    /// <summary>Registry fields of <c>Project</c> (hook from <see cref="ProjectType"/>); plain projects answer neutral values.</summary>
    public static void AddProjectFields(ObjectGraphType<ProjectSource> project)
    {
        RegistryMemberSchema.AddProjectFields(project);
        project.Field<NonNullGraphType<BooleanGraphType>>("allowAllArtifactTypesInRegistry").ResolveAsync(async c =>
            (await RegistryOfAsync(c).ConfigureAwait(false))?.AllowAllTypes ?? true);
        if (!project.HasField("description"))
        {
            project.Field<StringGraphType>("description").ResolveAsync(async c => (await RegistryOfAsync(c).ConfigureAwait(false))?.Description);
        }
        if (!project.HasField("updatedAt"))
        {
            project.Field<WandbDateTimeGraphType>("updatedAt").ResolveAsync(async c => (await RegistryOfAsync(c).ConfigureAwait(false))?.UpdatedAt ?? c.Source.Row?.CreatedAt);
        }
        if (!project.HasField("access"))
        {
            project.Field<StringGraphType>("access").ResolveAsync(async c =>
                await RegistryOfAsync(c).ConfigureAwait(false) is { } registry ? RegistryDocuments.Access(registry.Visibility) : "PRIVATE");
        }
        // A registry project's types are the ones it accepts (the clients ask with includeAll: true).
        var types = project.GetField("artifactTypes") ?? throw new InvalidOperationException("Project.artifactTypes must be declared before the registry fields.");
        types.Arguments ??= new QueryArguments();
        types.Arguments.Add(new QueryArgument<BooleanGraphType> { Name = "includeAll" });
        types.Resolver = new RegistryTypesResolver(types.Resolver!);
        // createdAt of a registry project is the registry's, even before anything was linked into it.
        var createdAt = project.GetField("createdAt");
        if (createdAt?.Resolver is { } created)
        {
            createdAt.Resolver = new RegistryCreatedAtResolver(created);
        }
    }

    public static void AddMutations(ObjectGraphType mutation)
    {
        RegistryMemberSchema.AddMutations(mutation);
        mutation.Field<UpsertModelPayloadType>("upsertModel").Argument<NonNullGraphType<UpsertModelInputType>>("input").ResolveAsync(async c =>
        {
            var input = c.GetArgument<Dictionary<string, object?>>("input");
            var principal = c.Principal();
            var entity = RunService.ResolveEntity(principal, ArtifactSchema.Text(input, "entityName"));
            var (organization, registry) = await RegistryProjectAsync(c, entity, ArtifactSchema.Text(input, "name"), "name").ConfigureAwait(false);
            var types = input.TryGetValue("artifactTypes", out var list) && list is IEnumerable<object?> items
                ? items.OfType<Dictionary<string, object?>>().Select(t => ArtifactSchema.Text(t, "name") ?? "").ToList()
                : null;
            var allowAll = input.TryGetValue("allowAllArtifactTypesInRegistry", out var all) && all is bool b ? b : (bool?)null;
            var (view, inserted) = await c.Service<RegistryService>().UpsertAsync(principal, organization, registry, ArtifactSchema.Text(input, "description"), ArtifactSchema.Text(input, "access"), allowAll, types, c.CancellationToken).ConfigureAwait(false);
            return new UpsertModelResult(new ProjectSource(view.Organization, view.FullName, null), inserted);
        });
        mutation.Field<DeleteModelPayloadType>("deleteModel").Argument<NonNullGraphType<DeleteModelInputType>>("input").ResolveAsync(async c =>
        {
            var input = c.GetArgument<Dictionary<string, object?>>("input");
            var (entity, name) = ParseProjectId(ArtifactSchema.Text(input, "id"), "id");
            var (organization, registry) = await RegistryProjectAsync(c, entity, name, "id").ConfigureAwait(false);
            await c.Service<RegistryService>().DeleteAsync(c.Principal(), organization, registry, c.CancellationToken).ConfigureAwait(false);
            return true;
        });
        mutation.Field<RenameProjectPayloadType>("renameProject").Argument<NonNullGraphType<RenameProjectInputType>>("input").ResolveAsync(async c =>
        {
            var input = c.GetArgument<Dictionary<string, object?>>("input");
            var principal = c.Principal();
            var entity = RunService.ResolveEntity(principal, ArtifactSchema.Text(input, "entityName"));
            var (organization, registry) = await RegistryProjectAsync(c, entity, ArtifactSchema.Text(input, "oldProjectName"), "oldProjectName").ConfigureAwait(false);
            var newName = ArtifactSchema.Text(input, "newProjectName");
            if (newName is null || !RegistryNames.IsRegistryProject(newName))
            {
                throw new ValidationFailedException($"A registry's new name is '{RegistryNames.ProjectPrefix}<name>'.", "newProjectName");
            }
            var view = await c.Service<RegistryService>().EditAsync(principal, organization, registry, new EditRegistryRequest(RegistryNames.RegistryOf(newName), null, null, null, null), c.CancellationToken).ConfigureAwait(false);
            return new UpsertModelResult(new ProjectSource(view.Organization, view.FullName, null), false);
        });
    }

    /// <summary>The organization and registry a registry project names; other projects are refused (these mutations manage registries only).</summary>
    internal static async Task<(string Organization, string Registry)> RegistryProjectAsync(IResolveFieldContext context, string entity, string? project, string field)
    {
        if (project is null || !RegistryNames.IsRegistryProject(project))
        {
            throw new ValidationFailedException($"This server manages registry projects here ('{RegistryNames.ProjectPrefix}<name>'); '{project}' is not one.", field);
        }
        var organization = await context.Service<RegistryAccess>().ResolveOrganizationAsync(context.Principal(), EntityNames.ValidateEntity(entity, "entityName"), context.CancellationToken).ConfigureAwait(false);
        return (organization, RegistryNames.RegistryOf(project));
    }

    /// <summary>Decodes a project id (<c>Project:v1:&lt;project&gt;:&lt;entity&gt;</c>, see <see cref="RunIds.Project"/>).</summary>
    internal static (string Entity, string Project) ParseProjectId(string? id, string field)
    {
        const string prefix = "Project:v1:";
        string text;
        try
        {
            text = Encoding.UTF8.GetString(Convert.FromBase64String(id ?? ""));
        }
        catch (FormatException)
        {
            throw new ValidationFailedException($"'{field}' is not a project id.", field);
        }
        var parts = text.StartsWith(prefix, StringComparison.Ordinal) ? text[prefix.Length..].Split(':') : [];
        return parts.Length == 2 ? (parts[1], parts[0]) : throw new ValidationFailedException($"'{field}' is not a project id.", field);
    }

    /// <summary>The registry behind a registry project (null for other projects), loaded once per request.</summary>
    internal static async Task<RegistryView?> RegistryOfAsync(IResolveFieldContext<ProjectSource> context)
    {
        var source = context.Source;
        if (!RegistryNames.IsRegistryProject(source.Name))
        {
            return null;
        }
        var cacheKey = $"registry:{source.Entity}/{source.Name}";
        if (context.UserContext.TryGetValue(cacheKey, out var cached) && cached is RegistryView view)
        {
            return view;
        }
        view = await context.Service<RegistryService>().GetAsync(context.Principal(), source.Entity, RegistryNames.RegistryOf(source.Name), context.CancellationToken).ConfigureAwait(false);
        context.UserContext[cacheKey] = view;
        return view;
    }

    internal static string MembershipCursor(RegistryMembership m) => $"{m.Collection.Project}/{m.Collection.Name}:v{m.Index}";

    /// <summary>A page after the item whose cursor is <paramref name="after"/> (cursors are unique within the list).</summary>
    private static (List<T> Page, bool HasMore) Page<T>(IReadOnlyList<T> all, Func<T, string> cursor, string? after, int? first)
    {
        var start = 0;
        if (!string.IsNullOrEmpty(after))
        {
            var index = all.ToList().FindIndex(item => cursor(item) == after);
            start = index < 0 ? all.Count : index + 1;
        }
        var size = Math.Clamp(first ?? 50, 1, 1000);
        var page = all.Skip(start).Take(size).ToList();
        return (page, start + page.Count < all.Count);
    }

    private sealed class RegistryTypesResolver(IFieldResolver inner) : IFieldResolver
    {
        public async ValueTask<object?> ResolveAsync(IResolveFieldContext context)
        {
            if (context.Source is not ProjectSource project || !RegistryNames.IsRegistryProject(project.Name))
            {
                return await inner.ResolveAsync(context).ConfigureAwait(false);
            }
            var registry = await RegistryOfAsync(context.As<ProjectSource>()).ConfigureAwait(false);
            return registry!.ArtifactTypes.Select(t => new ArtifactTypeSource(project.Entity, project.Name, t, null, null)).ToList();
        }
    }

    private sealed class RegistryCreatedAtResolver(IFieldResolver inner) : IFieldResolver
    {
        public async ValueTask<object?> ResolveAsync(IResolveFieldContext context) =>
            context.Source is ProjectSource project && RegistryNames.IsRegistryProject(project.Name)
                ? (await RegistryOfAsync(context.As<ProjectSource>()).ConfigureAwait(false))?.CreatedAt
                : await inner.ResolveAsync(context).ConfigureAwait(false);
    }
}

internal sealed record UpsertModelResult(ProjectSource Project, bool Inserted);

internal sealed record MembershipPage(IReadOnlyList<RegistryMembership> Memberships, bool HasMore, int Total);

internal sealed class ArtifactCollectionTypeEnum : EnumerationGraphType
{
    public const string Portfolio = "PORTFOLIO";
    public const string Sequence = "SEQUENCE";

    public ArtifactCollectionTypeEnum()
    {
        Name = "ArtifactCollectionType";
        Add(Portfolio, Portfolio);
        Add(Sequence, Sequence);
    }
}

/// <summary>A version as a member of a collection: its version number there and the aliases it holds there.</summary>
internal sealed class ArtifactCollectionMembershipGraphType : ObjectGraphType<RegistryMembership>
{
    public ArtifactCollectionMembershipGraphType()
    {
        Name = "ArtifactCollectionMembership";
        Field<NonNullGraphType<IdGraphType>>("id").Resolve(c => Convert.ToBase64String(Encoding.UTF8.GetBytes($"ArtifactCollectionMembership:{ArtifactIds.Sequence(c.Source.Collection.Key)}:{c.Source.Index}")));
        Field<NonNullGraphType<ArtifactCollectionInterface>>("artifactCollection").Resolve(c => c.Source.Collection);
        Field<NonNullGraphType<IntGraphType>>("versionIndex").Resolve(c => c.Source.Index);
        Field<ArtifactGraphType>("artifact").Resolve(c => c.Source.Artifact);
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<ArtifactAliasGraphType>>>>("aliases").Resolve(c =>
            c.Source.Aliases.Select(a => new ArtifactAliasInfo(c.Source.Collection.Key, a)).ToList());
    }
}

internal sealed class ArtifactCollectionMembershipEdgeGraphType() : NodeEdgeGraphType<RegistryMembership, ArtifactCollectionMembershipGraphType>("ArtifactCollectionMembershipEdge", s => RegistryClientSchema.MembershipCursor(s));

internal sealed class ArtifactCollectionMembershipConnectionGraphType : ObjectGraphType<MembershipPage>
{
    public ArtifactCollectionMembershipConnectionGraphType()
    {
        Name = "ArtifactCollectionMembershipConnection";
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<ArtifactCollectionMembershipEdgeGraphType>>>>("edges").Resolve(c => c.Source.Memberships);
        Field<NonNullGraphType<PageInfoType>>("pageInfo").Resolve(c =>
            (c.Source.Memberships.Count > 0 ? RegistryClientSchema.MembershipCursor(c.Source.Memberships[^1]) : null, c.Source.HasMore));
        Field<NonNullGraphType<IntGraphType>>("totalCount").Resolve(c => c.Source.Total);
    }
}

/// <summary>A collection's tags as a connection (<c>tags { edges { node { name } } }</c>).</summary>
internal sealed class ArtifactCollectionTagConnectionGraphType : ObjectGraphType<IReadOnlyList<string>>
{
    public ArtifactCollectionTagConnectionGraphType()
    {
        Name = "TagConnection";
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<ArtifactCollectionTagEdgeGraphType>>>>("edges").Resolve(c => c.Source);
        Field<NonNullGraphType<PageInfoType>>("pageInfo").Resolve(c => (c.Source.Count > 0 ? c.Source[^1] : null, false));
    }
}

internal sealed class ArtifactCollectionTagEdgeGraphType() : NodeEdgeGraphType<string, ArtifactTagGraphType>("TagEdge", s => s);

internal sealed class ArtifactTypeInputGraphType : InputObjectGraphType
{
    public ArtifactTypeInputGraphType()
    {
        Name = "ArtifactTypeInput";
        Field<NonNullGraphType<StringGraphType>>("name");
    }
}

internal sealed class UpsertModelInputType : InputObjectGraphType
{
    public UpsertModelInputType()
    {
        Name = "UpsertModelInput";
        // Declared as the clients' variables are typed (String, not ID): a mismatch fails validation.
        Field<StringGraphType>("id");
        Field<StringGraphType>("name");
        Field<StringGraphType>("entityName");
        Field<StringGraphType>("description");
        Field<StringGraphType>("access");
        Field<StringGraphType>("framework");
        Field<StringGraphType>("repo");
        Field<JsonStringGraphType>("views");
        Field<BooleanGraphType>("allowAllArtifactTypesInRegistry");
        Field<ListGraphType<NonNullGraphType<ArtifactTypeInputGraphType>>>("artifactTypes");
        Field<StringGraphType>("clientMutationId");
    }
}

internal sealed class UpsertModelPayloadType : ObjectGraphType<UpsertModelResult>
{
    public UpsertModelPayloadType()
    {
        Name = "UpsertModelPayload";
        Field<ProjectType>("project").Resolve(c => c.Source.Project);
        Field<ProjectType>("model").Resolve(c => c.Source.Project);
        Field<NonNullGraphType<BooleanGraphType>>("inserted").Resolve(c => c.Source.Inserted);
        Field<StringGraphType>("clientMutationId").Resolve(_ => null);
    }
}

internal sealed class DeleteModelInputType : InputObjectGraphType
{
    public DeleteModelInputType()
    {
        Name = "DeleteModelInput";
        Field<NonNullGraphType<StringGraphType>>("id");
        Field<StringGraphType>("clientMutationId");
    }
}

internal sealed class DeleteModelPayloadType : ObjectGraphType<bool>
{
    public DeleteModelPayloadType()
    {
        Name = "DeleteModelPayload";
        Field<NonNullGraphType<BooleanGraphType>>("success").Resolve(c => c.Source);
        Field<StringGraphType>("clientMutationId").Resolve(_ => null);
    }
}

internal sealed class RenameProjectInputType : InputObjectGraphType
{
    public RenameProjectInputType()
    {
        Name = "RenameProjectInput";
        Field<NonNullGraphType<StringGraphType>>("entityName");
        Field<NonNullGraphType<StringGraphType>>("oldProjectName");
        Field<NonNullGraphType<StringGraphType>>("newProjectName");
        Field<StringGraphType>("clientMutationId");
    }
}

internal sealed class RenameProjectPayloadType : ObjectGraphType<UpsertModelResult>
{
    public RenameProjectPayloadType()
    {
        Name = "RenameProjectPayload";
        Field<ProjectType>("project").Resolve(c => c.Source.Project);
        Field<NonNullGraphType<BooleanGraphType>>("inserted").Resolve(c => c.Source.Inserted);
        Field<StringGraphType>("clientMutationId").Resolve(_ => null);
    }
}
