using GraphQL;
using GraphQL.Types;
using Weightless.Core.Artifacts;
using Weightless.Core.Errors;
using Weightless.Core.Runs;
using Weightless.Core.Tenancy;

namespace Weightless.Core.GraphQL;

/// <summary>
/// The artifact part of the W&amp;B schema, added to the root types from outside so the schema
/// roots stay small: <see cref="Register"/> from <c>WandbSchema</c>, <see cref="AddProjectFields"/>
/// from <c>ProjectType</c>.
/// </summary>
internal static class ArtifactSchema
{
    public static void Register(Schema schema)
    {
        AddQueryFields((ObjectGraphType)schema.Query);
        AddMutations((ObjectGraphType)schema.Mutation!);
        // Reached only through the ArtifactCollection interface.
        schema.RegisterType(typeof(ArtifactPortfolioGraphType));
        schema.RegisterType(typeof(ArtifactSequenceGraphType));
    }

    public static void AddProjectFields(ObjectGraphType<ProjectSource> project)
    {
        project.Field<ArtifactTypeGraphType>("artifactType").Argument<NonNullGraphType<StringGraphType>>("name").ResolveAsync(async c =>
        {
            var name = ArtifactIds.ValidateType(c.GetArgument<string>("name"), "name");
            var row = await c.Service<ArtifactService>().FindTypeAsync(c.Source.Entity, c.Source.Name, name, c.CancellationToken).ConfigureAwait(false);
            return row is null ? null : new ArtifactTypeSource(c.Source.Entity, c.Source.Name, row.Name, row.Description, row.CreatedAt);
        });
        project.Field<NonNullGraphType<ArtifactTypeConnectionGraphType>>("artifactTypes")
            .Argument<StringGraphType>("after")
            .Argument<IntGraphType>("first")
            .ResolveAsync(async c =>
            {
                var types = await c.Service<ArtifactService>().ListTypesAsync(c.Source.Entity, c.Source.Name, c.CancellationToken).ConfigureAwait(false);
                var after = c.GetArgument<string?>("after");
                return types.Select(t => new ArtifactTypeSource(c.Source.Entity, c.Source.Name, t.Name, t.Description, t.CreatedAt))
                    .OrderBy(t => t.Name, StringComparer.Ordinal)
                    .Where(t => after is null || string.CompareOrdinal(t.Name, after) > 0)
                    .Take(Math.Clamp(c.GetArgument<int?>("first") ?? 50, 1, 1000))
                    .ToList();
            });
        project.Field<ArtifactGraphType>("artifact").Argument<NonNullGraphType<StringGraphType>>("name").ResolveAsync(async c =>
            (await c.Service<ArtifactService>().FindByNameAsync(c.Source.Entity, c.Source.Name, c.GetArgument<string>("name"), c.CancellationToken).ConfigureAwait(false))?.Artifact);
        foreach (var name in new[] { "artifactCollection", "artifactSequence" })
        {
            project.Field<ArtifactCollectionInterface>(name).Argument<NonNullGraphType<StringGraphType>>("name").ResolveAsync(async c =>
                await c.Service<ArtifactService>().FindCollectionAsync(new CollectionKey(c.Source.Entity, c.Source.Name, ArtifactIds.ValidateCollection(c.GetArgument<string>("name"), "name")), c.CancellationToken).ConfigureAwait(false));
        }
        project.Field<NonNullGraphType<ArtifactCollectionConnectionGraphType>>("artifactCollections")
            .Argument<StringGraphType>("after")
            .Argument<IntGraphType>("first")
            .ResolveAsync(async c =>
            {
                var all = await c.Service<ArtifactService>().ListCollectionsAsync(c.Source.Entity, c.Source.Name, null, c.CancellationToken).ConfigureAwait(false);
                return ArtifactPaging.Collections(all, c.GetArgument<string?>("after"), c.GetArgument<int?>("first"));
            });
    }

    private static void AddQueryFields(ObjectGraphType query)
    {
        query.Field<ArtifactGraphType>("artifact").Argument<NonNullGraphType<IdGraphType>>("id").ResolveAsync(async c =>
            await c.Service<ArtifactService>().GetByIdAsync(c.Principal(), c.GetArgument<string>("id"), c.CancellationToken).ConfigureAwait(false));
        query.Field<ArtifactCollectionInterface>("artifactCollection").Argument<NonNullGraphType<IdGraphType>>("id").ResolveAsync(async c =>
        {
            var key = ArtifactIds.ParseSequence(c.GetArgument<string>("id"));
            await c.Service<ArtifactService>().AuthorizeCollectionReadAsync(c.Principal(), key, c.CancellationToken).ConfigureAwait(false);
            return await c.Service<ArtifactService>().FindCollectionAsync(key, c.CancellationToken).ConfigureAwait(false);
        });
        // Client ids are not mapped: clients then resolve references by server id.
        query.Field<ClientIdMappingGraphType>("clientIDMapping").Argument<NonNullGraphType<IdGraphType>>("clientID").Resolve(_ => null);
    }

    private static void AddMutations(ObjectGraphType mutation)
    {
        mutation.Field<CreateArtifactTypePayloadType>("createArtifactType").Argument<NonNullGraphType<CreateArtifactTypeInputType>>("input").ResolveAsync(async c =>
        {
            var input = Input(c);
            var row = await c.Service<ArtifactService>().CreateTypeAsync(c.Principal(), Text(input, "entityName"), Text(input, "projectName"), Text(input, "name"), Text(input, "description"), c.CancellationToken).ConfigureAwait(false);
            var entity = RunService.ResolveEntity(c.Principal(), Text(input, "entityName"));
            return new ArtifactTypeSource(entity, Text(input, "projectName") ?? RunService.DefaultProject, row.Name, row.Description, row.CreatedAt);
        });
        mutation.Field<ArtifactPayloadType>("createArtifact").Argument<NonNullGraphType<CreateArtifactInputType>>("input").ResolveAsync(async c =>
        {
            var input = Input(c);
            var collections = Strings(input, "artifactCollectionNames");
            var collection = Text(input, "artifactCollectionName") ?? (collections.Count > 0 ? collections[0] : null);
            if (collections.Count > 1)
            {
                throw new ValidationFailedException("Log an artifact into one collection; link it into others with linkArtifact.", "artifactCollectionNames");
            }
            var command = new CreateArtifactCommand
            {
                Entity = Text(input, "entityName"),
                Project = Text(input, "projectName"),
                RunName = Text(input, "runName"),
                Type = Text(input, "artifactTypeName"),
                Collection = collection,
                Digest = Text(input, "digest"),
                Description = Text(input, "description"),
                Metadata = Text(input, "metadata"),
                Aliases = Objects(input, "aliases").Select(a => (Text(a, "artifactCollectionName"), Text(a, "alias"))).ToList(),
                Tags = Objects(input, "tags").Select(t => Text(t, "tagName") ?? "").ToList(),
                HistoryStep = Long(input, "historyStep"),
                TtlDurationSeconds = Long(input, "ttlDurationSeconds"),
                ClientId = Text(input, "clientID"),
                SequenceClientId = Text(input, "sequenceClientID"),
                EnableDigestDeduplication = input.GetValueOrDefault("enableDigestDeduplication") is true,
            };
            return await c.Service<ArtifactService>().CreateAsync(c.Principal(), command, c.CancellationToken).ConfigureAwait(false);
        });
        mutation.Field<ArtifactManifestPayloadType>("createArtifactManifest").Argument<NonNullGraphType<CreateArtifactManifestInputType>>("input").ResolveAsync(async c =>
        {
            var input = Input(c);
            var name = Text(input, "name");
            if (name is not null && name != ArtifactManifestFileGraphType.FileName)
            {
                throw new ValidationFailedException($"The manifest file is '{ArtifactManifestFileGraphType.FileName}'.", "name");
            }
            var key = ArtifactIds.ParseArtifact(Text(input, "artifactID"));
            return await c.Service<ArtifactService>().UpsertManifestAsync(c.Principal(), key, Text(input, "digest"), Text(input, "baseArtifactID"), c.CancellationToken).ConfigureAwait(false);
        });
        mutation.Field<ArtifactManifestPayloadType>("updateArtifactManifest").Argument<NonNullGraphType<UpdateArtifactManifestInputType>>("input").ResolveAsync(async c =>
        {
            var input = Input(c);
            var key = ArtifactIds.ParseManifest(Text(input, "artifactManifestID"));
            return await c.Service<ArtifactService>().UpsertManifestAsync(c.Principal(), key, Text(input, "digest"), Text(input, "baseArtifactID"), c.CancellationToken).ConfigureAwait(false);
        });
        mutation.Field<CreateArtifactFilesPayloadType>("createArtifactFiles").Argument<NonNullGraphType<CreateArtifactFilesInputType>>("input").ResolveAsync(async c =>
        {
            var input = Input(c);
            var layout = Text(input, "storageLayout");
            if (layout is not null and not "V2")
            {
                throw new ValidationFailedException("Only storage layout V2 is supported.", "storageLayout");
            }
            // Offered parts get uploadMultipartUrls only when multipart uploads are on (Artifacts:MultipartUploads);
            // otherwise clients PUT the whole file once (a block blob takes up to 5000 MiB that way).
            var specs = Objects(input, "artifactFiles").Select(f => new ArtifactFileSpec(Text(f, "artifactID"), Text(f, "name"), Text(f, "md5"), Parts(f, "uploadPartsInput"))).ToList();
            return await c.Service<ArtifactService>().CreateFilesAsync(c.Principal(), specs, c.CancellationToken).ConfigureAwait(false);
        });
        mutation.Field<CompleteMultipartUploadArtifactPayloadType>("completeMultipartUploadArtifact").Argument<NonNullGraphType<CompleteMultipartUploadArtifactInputType>>("input").ResolveAsync(async c =>
        {
            var input = Input(c);
            var key = ArtifactIds.ParseArtifact(Text(input, "artifactID"));
            return await c.Service<ArtifactService>().CompleteMultipartAsync(c.Principal(), key, Text(input, "completeMultipartAction"), Text(input, "storagePath"), Text(input, "uploadID"), Parts(input, "completedParts"), c.CancellationToken).ConfigureAwait(false);
        });
        mutation.Field<ArtifactPayloadType>("commitArtifact").Argument<NonNullGraphType<CommitArtifactInputType>>("input").ResolveAsync(async c =>
            await c.Service<ArtifactService>().CommitAsync(c.Principal(), ArtifactIds.ParseArtifact(Text(Input(c), "artifactID")), c.CancellationToken).ConfigureAwait(false));
        mutation.Field<ArtifactPayloadType>("useArtifact").Argument<NonNullGraphType<UseArtifactInputType>>("input").ResolveAsync(async c =>
        {
            var input = Input(c);
            var principal = c.Principal();
            var entity = EntityNames.ValidateEntity(RunService.ResolveEntity(principal, Text(input, "entityName")), "entityName");
            var project = EntityNames.ValidateProject(Text(input, "projectName"), "projectName");
            var run = new RunKey(entity, project, RunService.ValidateRunId(Text(input, "runName"), "runName"));
            return await c.Service<ArtifactService>().UseAsync(principal, run, ArtifactIds.ParseArtifact(Text(input, "artifactID")), Text(input, "usedAs"), c.CancellationToken).ConfigureAwait(false);
        });
        mutation.Field<LinkArtifactPayloadType>("linkArtifact").Argument<NonNullGraphType<LinkArtifactInputType>>("input").ResolveAsync(async c =>
        {
            var input = Input(c);
            var id = Text(input, "artifactID") ?? throw new ValidationFailedException("'artifactID' is required (client ids are not mapped by this server).", "artifactID");
            var aliases = Objects(input, "aliases").Select(a => Text(a, "alias")).ToList();
            return await c.Service<ArtifactService>().LinkAsync(c.Principal(), ArtifactIds.ParseArtifact(id), Text(input, "entityName"), Text(input, "projectName"), Text(input, "artifactPortfolioName"), aliases, c.CancellationToken).ConfigureAwait(false);
        });
        mutation.Field<ArtifactPayloadType>("updateArtifact").Argument<NonNullGraphType<UpdateArtifactInputType>>("input").ResolveAsync(async c =>
        {
            var input = Input(c);
            var key = ArtifactIds.ParseArtifact(Text(input, "artifactID"));
            var command = new UpdateArtifactCommand
            {
                Description = Text(input, "description"),
                Metadata = Text(input, "metadata"),
                TagsToAdd = Objects(input, "tagsToAdd").Select(t => Text(t, "tagName") ?? "").ToList(),
                TagsToDelete = Objects(input, "tagsToDelete").Select(t => Text(t, "tagName") ?? "").ToList(),
                TtlDurationSeconds = Long(input, "ttlDurationSeconds"),
            };
            return await c.Service<ArtifactService>().UpdateAsync(c.Principal(), key, command, c.CancellationToken).ConfigureAwait(false);
        });
        // ArtifactCollection.save() (wandb _generated UPDATE_ARTIFACT_SEQUENCE_GQL / UPDATE_ARTIFACT_PORTFOLIO_GQL);
        // ttlDurationSeconds is this server's addition: the collection's default TTL (ArtifactService.EditCollectionAsync).
        mutation.Field<UpdateArtifactCollectionPayloadType>("updateArtifactSequence").Argument<NonNullGraphType<UpdateArtifactSequenceInputType>>("input").ResolveAsync(c => UpdateCollectionAsync(c, "artifactSequenceID"));
        mutation.Field<UpdateArtifactCollectionPayloadType>("updateArtifactPortfolio").Argument<NonNullGraphType<UpdateArtifactPortfolioInputType>>("input").ResolveAsync(c => UpdateCollectionAsync(c, "artifactPortfolioID"));
        mutation.Field<SuccessPayloadType>("addAliases").Argument<NonNullGraphType<ArtifactAliasesInputType>>("input").ResolveAsync(c => ChangeAliasesAsync(c, add: true));
        mutation.Field<SuccessPayloadType>("deleteAliases").Argument<NonNullGraphType<ArtifactAliasesInputType>>("input").ResolveAsync(c => ChangeAliasesAsync(c, add: false));
        mutation.Field<ArtifactPayloadType>("deleteArtifact").Argument<NonNullGraphType<DeleteArtifactInputType>>("input").ResolveAsync(async c =>
            await c.Service<ArtifactService>().DeleteAsync(c.Principal(), ArtifactIds.ParseArtifact(Text(Input(c), "artifactID")), c.CancellationToken).ConfigureAwait(false));
    }

    private static async Task<object?> UpdateCollectionAsync(IResolveFieldContext context, string idField)
    {
        var input = Input(context);
        var key = ArtifactIds.ParseSequence(Text(input, idField), idField);
        if (Text(input, "name") is { } name && name != key.Collection)
        {
            throw new ValidationFailedException("Collections cannot be renamed on this server.", "name");
        }
        return await context.Service<ArtifactService>().EditCollectionAsync(context.Principal(), key, Text(input, "description"), null, Long(input, "ttlDurationSeconds"), context.CancellationToken).ConfigureAwait(false);
    }

    /// <summary><c>addAliases</c>/<c>deleteAliases</c>: aliases of the version in its birth collection (or in a collection it is linked into).</summary>
    private static async Task<object?> ChangeAliasesAsync(IResolveFieldContext context, bool add)
    {
        var input = Input(context);
        var service = context.Service<ArtifactService>();
        var principal = context.Principal();
        var key = ArtifactIds.ParseArtifact(Text(input, "artifactID"));
        var artifact = await service.RequireArtifactAsync(principal, key, Role.Member, context.CancellationToken).ConfigureAwait(false);
        if (artifact.VersionIndex is not { } birthIndex)
        {
            throw new ValidationFailedException("Aliases can be set once the version is committed.", "artifactID");
        }
        var links = await service.LinksAsync(key, context.CancellationToken).ConfigureAwait(false);
        foreach (var alias in Objects(input, "aliases"))
        {
            var collectionName = Text(alias, "artifactCollectionName") ?? key.Collection;
            var entity = Text(alias, "entityName") ?? key.Entity;
            var project = Text(alias, "projectName") ?? key.Project;
            var collection = new CollectionKey(entity, project, collectionName);
            int index;
            if (collection == new CollectionKey(key.Entity, key.Project, key.Collection))
            {
                index = birthIndex;
            }
            else
            {
                index = links.FirstOrDefault(l => l.Collection == collection)?.Index
                    ?? throw new ValidationFailedException($"The version is not in collection '{collectionName}'.", "aliases");
            }
            if (add)
            {
                await service.AddAliasAsync(principal, collection, index, Text(alias, "alias"), context.CancellationToken).ConfigureAwait(false);
            }
            else
            {
                await service.RemoveAliasAsync(principal, collection, Text(alias, "alias"), context.CancellationToken).ConfigureAwait(false);
            }
        }
        return true;
    }

    private static Dictionary<string, object?> Input(IResolveFieldContext context) => context.GetArgument<Dictionary<string, object?>>("input");

    internal static string? Text(Dictionary<string, object?> input, string name) =>
        input.TryGetValue(name, out var value) ? value?.ToString() : null;

    internal static long? Long(Dictionary<string, object?> input, string name) =>
        input.TryGetValue(name, out var value) && value is not null ? Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture) : null;

    internal static List<string> Strings(Dictionary<string, object?> input, string name) =>
        input.TryGetValue(name, out var value) && value is IEnumerable<object?> list ? list.Select(v => v?.ToString() ?? "").ToList() : [];

    private static List<UploadPart> Parts(Dictionary<string, object?> input, string name) =>
        Objects(input, name).Select(p => new UploadPart(Long(p, "partNumber") ?? 0, Text(p, "hexMD5") ?? "")).ToList();

    internal static List<Dictionary<string, object?>> Objects(Dictionary<string, object?> input, string name) =>
        input.TryGetValue(name, out var value) && value is IEnumerable<object?> list ? list.OfType<Dictionary<string, object?>>().ToList() : [];
}

internal sealed class ClientIdMappingGraphType : ObjectGraphType<object>
{
    public ClientIdMappingGraphType()
    {
        Name = "ClientIDMapping";
        Field<NonNullGraphType<IdGraphType>>("serverID").Resolve(_ => "");
    }
}

internal sealed class ArtifactPayloadType : ObjectGraphType<ArtifactRow>
{
    public ArtifactPayloadType()
    {
        Name = "ArtifactPayload";
        Field<NonNullGraphType<ArtifactGraphType>>("artifact").Resolve(c => c.Source);
        Field<StringGraphType>("clientMutationId").Resolve(_ => null);
    }
}

internal sealed class CreateArtifactTypePayloadType : ObjectGraphType<ArtifactTypeSource>
{
    public CreateArtifactTypePayloadType()
    {
        Name = "CreateArtifactTypePayload";
        Field<NonNullGraphType<ArtifactTypeGraphType>>("artifactType").Resolve(c => c.Source);
        Field<StringGraphType>("clientMutationId").Resolve(_ => null);
    }
}

internal sealed class ArtifactManifestPayloadType : ObjectGraphType<ArtifactRow>
{
    public ArtifactManifestPayloadType()
    {
        Name = "ArtifactManifestPayload";
        Field<NonNullGraphType<ArtifactManifestGraphType>>("artifactManifest").Resolve(c => c.Source);
        Field<StringGraphType>("clientMutationId").Resolve(_ => null);
    }
}

internal sealed class CreateArtifactFilesPayloadType : ObjectGraphType<IReadOnlyList<ArtifactFileUpload>>
{
    public CreateArtifactFilesPayloadType()
    {
        Name = "CreateArtifactFilesPayload";
        Field<NonNullGraphType<ArtifactFileUploadConnectionGraphType>>("files").Resolve(c => c.Source);
        Field<StringGraphType>("clientMutationId").Resolve(_ => null);
    }
}

internal sealed class LinkArtifactPayloadType : ObjectGraphType<int>
{
    public LinkArtifactPayloadType()
    {
        Name = "LinkArtifactPayload";
        Field<NonNullGraphType<IntGraphType>>("versionIndex").Resolve(c => c.Source);
        Field<StringGraphType>("clientMutationId").Resolve(_ => null);
    }
}

internal sealed class SuccessPayloadType : ObjectGraphType<bool>
{
    public SuccessPayloadType()
    {
        Name = "ArtifactAliasesPayload";
        Field<NonNullGraphType<BooleanGraphType>>("success").Resolve(c => c.Source);
        Field<StringGraphType>("clientMutationId").Resolve(_ => null);
    }
}

internal sealed class ArtifactAliasInputType : InputObjectGraphType
{
    public ArtifactAliasInputType()
    {
        Name = "ArtifactAliasInput";
        Field<StringGraphType>("artifactCollectionName");
        Field<NonNullGraphType<StringGraphType>>("alias");
    }
}

internal sealed class ArtifactCollectionAliasInputType : InputObjectGraphType
{
    public ArtifactCollectionAliasInputType()
    {
        Name = "ArtifactCollectionAliasInput";
        Field<StringGraphType>("artifactCollectionName");
        Field<NonNullGraphType<StringGraphType>>("alias");
        Field<StringGraphType>("entityName");
        Field<StringGraphType>("projectName");
    }
}

internal sealed class TagInputType : InputObjectGraphType
{
    public TagInputType()
    {
        Name = "TagInput";
        Field<NonNullGraphType<StringGraphType>>("tagName");
        Field<StringGraphType>("tagCategoryName");
        Field<JsonStringGraphType>("attributes");
    }
}

internal sealed class CompleteMultipartUploadArtifactInputType : InputObjectGraphType
{
    public CompleteMultipartUploadArtifactInputType()
    {
        Name = "CompleteMultipartUploadArtifactInput";
        Field<NonNullGraphType<CompleteMultipartActionEnum>>("completeMultipartAction");
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<UploadPartsInputType>>>>("completedParts");
        Field<NonNullGraphType<IdGraphType>>("artifactID");
        Field<NonNullGraphType<StringGraphType>>("storagePath");
        Field<NonNullGraphType<StringGraphType>>("uploadID");
        Field<StringGraphType>("clientMutationId");
    }
}

/// <summary>The answer of <c>completeMultipartUploadArtifact</c>: the base64 MD5 of the assembled file (null after Abort).</summary>
internal sealed class CompleteMultipartUploadArtifactPayloadType : ObjectGraphType<string?>
{
    public CompleteMultipartUploadArtifactPayloadType()
    {
        Name = "CompleteMultipartUploadArtifactPayload";
        Field<StringGraphType>("digest").Resolve(c => c.Source);
        Field<StringGraphType>("clientMutationId").Resolve(_ => null);
    }
}

internal sealed class UploadPartsInputType : InputObjectGraphType
{
    public UploadPartsInputType()
    {
        Name = "UploadPartsInput";
        Field<NonNullGraphType<Int64GraphType>>("partNumber");
        Field<NonNullGraphType<StringGraphType>>("hexMD5");
    }
}

internal sealed class ArtifactManifestEntryInputType : InputObjectGraphType
{
    public ArtifactManifestEntryInputType()
    {
        Name = "ArtifactManifestEntryInput";
        Field<NonNullGraphType<StringGraphType>>("name");
        Field<StringGraphType>("digest");
        Field<StringGraphType>("birthArtifactID");
    }
}

internal sealed class CreateArtifactTypeInputType : InputObjectGraphType
{
    public CreateArtifactTypeInputType()
    {
        Name = "CreateArtifactTypeInput";
        Field<StringGraphType>("entityName");
        Field<StringGraphType>("projectName");
        Field<NonNullGraphType<StringGraphType>>("name");
        Field<StringGraphType>("description");
        Field<StringGraphType>("clientMutationId");
    }
}

/// <summary>Both variable styles: Python's flat variables in a literal input, Go's one <c>$input</c>.</summary>
internal sealed class CreateArtifactInputType : InputObjectGraphType
{
    public CreateArtifactInputType()
    {
        Name = "CreateArtifactInput";
        Field<NonNullGraphType<StringGraphType>>("artifactTypeName");
        Field<ListGraphType<NonNullGraphType<StringGraphType>>>("artifactCollectionNames");
        Field<StringGraphType>("artifactCollectionName");
        Field<StringGraphType>("entityName");
        Field<NonNullGraphType<StringGraphType>>("projectName");
        Field<StringGraphType>("runName");
        Field<StringGraphType>("description");
        Field<NonNullGraphType<StringGraphType>>("digest");
        Field<ArtifactDigestAlgorithmEnum>("digestAlgorithm");
        Field<ListGraphType<NonNullGraphType<ArtifactAliasInputType>>>("aliases");
        Field<JsonStringGraphType>("metadata");
        Field<IdGraphType>("clientID");
        Field<IdGraphType>("sequenceClientID");
        Field<BooleanGraphType>("enableDigestDeduplication");
        Field<Int64GraphType>("historyStep");
        Field<StringGraphType>("distributedID");
        Field<Int64GraphType>("ttlDurationSeconds");
        Field<ListGraphType<NonNullGraphType<TagInputType>>>("tags");
        Field<StringGraphType>("storageRegion");
        Field<JsonStringGraphType>("labels");
        Field<StringGraphType>("clientMutationId");
    }
}

internal sealed class CreateArtifactManifestInputType : InputObjectGraphType
{
    public CreateArtifactManifestInputType()
    {
        Name = "CreateArtifactManifestInput";
        Field<NonNullGraphType<IdGraphType>>("artifactID");
        Field<IdGraphType>("baseArtifactID");
        Field<NonNullGraphType<StringGraphType>>("name");
        Field<NonNullGraphType<StringGraphType>>("digest");
        Field<StringGraphType>("entityName");
        Field<StringGraphType>("projectName");
        Field<StringGraphType>("runName");
        Field<ArtifactManifestTypeEnum>("type");
        Field<BooleanGraphType>("includeUpload");
        Field<StringGraphType>("clientMutationId");
    }
}

internal sealed class UpdateArtifactManifestInputType : InputObjectGraphType
{
    public UpdateArtifactManifestInputType()
    {
        Name = "UpdateArtifactManifestInput";
        Field<NonNullGraphType<IdGraphType>>("artifactManifestID");
        Field<StringGraphType>("digest");
        Field<IdGraphType>("baseArtifactID");
        Field<StringGraphType>("clientMutationId");
    }
}

internal sealed class CreateArtifactFileSpecInputType : InputObjectGraphType
{
    public CreateArtifactFileSpecInputType()
    {
        Name = "CreateArtifactFileSpecInput";
        Field<NonNullGraphType<IdGraphType>>("artifactID");
        Field<NonNullGraphType<StringGraphType>>("name");
        Field<NonNullGraphType<StringGraphType>>("md5");
        Field<StringGraphType>("mimetype");
        Field<IdGraphType>("artifactManifestID");
        Field<ListGraphType<NonNullGraphType<UploadPartsInputType>>>("uploadPartsInput");
        Field<StringGraphType>("digest");
    }
}

internal sealed class CreateArtifactFilesInputType : InputObjectGraphType
{
    public CreateArtifactFilesInputType()
    {
        Name = "CreateArtifactFilesInput";
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<CreateArtifactFileSpecInputType>>>>("artifactFiles");
        Field<ArtifactStorageLayoutEnum>("storageLayout");
        Field<ArtifactDigestAlgorithmEnum>("digestAlgorithm");
        Field<StringGraphType>("clientMutationId");
    }
}

internal sealed class CommitArtifactInputType : InputObjectGraphType
{
    public CommitArtifactInputType()
    {
        Name = "CommitArtifactInput";
        Field<NonNullGraphType<IdGraphType>>("artifactID");
        Field<StringGraphType>("clientMutationId");
    }
}

internal sealed class UseArtifactInputType : InputObjectGraphType
{
    public UseArtifactInputType()
    {
        Name = "UseArtifactInput";
        Field<StringGraphType>("entityName");
        Field<NonNullGraphType<StringGraphType>>("projectName");
        Field<NonNullGraphType<StringGraphType>>("runName");
        Field<NonNullGraphType<IdGraphType>>("artifactID");
        Field<StringGraphType>("usedAs");
        Field<StringGraphType>("artifactEntityName");
        Field<StringGraphType>("artifactProjectName");
        Field<StringGraphType>("clientMutationId");
    }
}

internal sealed class LinkArtifactInputType : InputObjectGraphType
{
    public LinkArtifactInputType()
    {
        Name = "LinkArtifactInput";
        Field<NonNullGraphType<StringGraphType>>("artifactPortfolioName");
        Field<StringGraphType>("entityName");
        Field<StringGraphType>("projectName");
        Field<ListGraphType<NonNullGraphType<ArtifactAliasInputType>>>("aliases");
        Field<IdGraphType>("artifactID");
        Field<IdGraphType>("clientID");
        Field<StringGraphType>("organizationName");
        Field<StringGraphType>("clientMutationId");
    }
}

internal sealed class UpdateArtifactCollectionPayloadType : ObjectGraphType<CollectionRow>
{
    public UpdateArtifactCollectionPayloadType()
    {
        Name = "UpdateArtifactCollectionPayload";
        Field<NonNullGraphType<ArtifactCollectionInterface>>("artifactCollection").Resolve(c => c.Source);
        Field<StringGraphType>("clientMutationId").Resolve(_ => null);
    }
}

internal abstract class UpdateArtifactCollectionInputGraphType : InputObjectGraphType
{
    protected UpdateArtifactCollectionInputGraphType(string name, string idField)
    {
        Name = name;
        Field<NonNullGraphType<IdGraphType>>(idField);
        Field<StringGraphType>("name");
        Field<StringGraphType>("description");
        Field<Int64GraphType>("ttlDurationSeconds");
        Field<StringGraphType>("clientMutationId");
    }
}

internal sealed class UpdateArtifactSequenceInputType() : UpdateArtifactCollectionInputGraphType("UpdateArtifactSequenceInput", "artifactSequenceID");

internal sealed class UpdateArtifactPortfolioInputType() : UpdateArtifactCollectionInputGraphType("UpdateArtifactPortfolioInput", "artifactPortfolioID");

internal sealed class UpdateArtifactInputType : InputObjectGraphType
{
    public UpdateArtifactInputType()
    {
        Name = "UpdateArtifactInput";
        Field<NonNullGraphType<IdGraphType>>("artifactID");
        Field<StringGraphType>("description");
        Field<JsonStringGraphType>("metadata");
        Field<ListGraphType<NonNullGraphType<ArtifactAliasInputType>>>("aliases");
        Field<ListGraphType<NonNullGraphType<TagInputType>>>("tagsToAdd");
        Field<ListGraphType<NonNullGraphType<TagInputType>>>("tagsToDelete");
        Field<Int64GraphType>("ttlDurationSeconds");
        Field<StringGraphType>("clientMutationId");
    }
}

internal sealed class ArtifactAliasesInputType : InputObjectGraphType
{
    public ArtifactAliasesInputType()
    {
        Name = "ArtifactAliasesInput";
        Field<NonNullGraphType<IdGraphType>>("artifactID");
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<ArtifactCollectionAliasInputType>>>>("aliases");
        Field<StringGraphType>("clientMutationId");
    }
}

internal sealed class DeleteArtifactInputType : InputObjectGraphType
{
    public DeleteArtifactInputType()
    {
        Name = "DeleteArtifactInput";
        Field<NonNullGraphType<IdGraphType>>("artifactID");
        Field<BooleanGraphType>("deleteAliases");
        Field<StringGraphType>("clientMutationId");
    }
}
