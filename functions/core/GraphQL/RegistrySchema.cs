using GraphQL;
using GraphQL.Types;
using Weightless.Core.Artifacts;
using Weightless.Core.Errors;
using Weightless.Core.Registry;
using Weightless.Core.Runs;
using Weightless.Core.Tenancy;

namespace Weightless.Core.GraphQL;

/// <summary>
/// The Registry in the W&amp;B schema: how clients find an organization's entity
/// (<c>entity { organization, user { organizations } }</c>, <c>organization { orgEntity }</c>), the
/// project lookup of registry paths (<see cref="ResolveProjectAsync"/>), and <c>unlinkArtifact</c>.
/// </summary>
internal static class RegistrySchema
{
    public static void Register(Schema schema)
    {
        var query = (ObjectGraphType)schema.Query;
        query.Field<OrganizationGraphType>("organization").Argument<StringGraphType>("name").ResolveAsync(async c =>
        {
            var name = EntityNames.ValidateEntity(c.GetArgument<string?>("name"), "name");
            var organization = await c.Service<RegistryAccess>().ResolveOrganizationAsync(c.Principal(), name, c.CancellationToken).ConfigureAwait(false);
            await c.Service<TenancyService>().RequireRoleAsync(c.Principal(), organization, Role.Viewer, c.CancellationToken).ConfigureAwait(false);
            return organization;
        });
        if (!query.HasField("entity"))
        {
            query.Field<EntityOrganizationsGraphType>("entity").Argument<StringGraphType>("name").ResolveAsync(async c =>
            {
                var name = EntityNames.ValidateEntity(RunService.ResolveEntity(c.Principal(), c.GetArgument<string?>("name")), "name");
                var tenancy = c.Service<TenancyService>();
                await tenancy.RequireRoleAsync(c.Principal(), name, Role.Viewer, c.CancellationToken).ConfigureAwait(false);
                var row = await tenancy.GetEntityAsync(name, c.CancellationToken).ConfigureAwait(false);
                var teams = row is { Kind: "team" } ? [] : (await tenancy.ListMembershipsAsync(name, c.CancellationToken).ConfigureAwait(false)).Where(m => m.Kind == "team").Select(m => m.Entity).ToList();
                return new EntityOrganizations(name, row is { Kind: "team" }, teams);
            });
        }
        var mutation = (ObjectGraphType)schema.Mutation!;
        RegistryClientSchema.AddMutations(mutation);
        mutation.Field<UnlinkArtifactPayloadType>("unlinkArtifact").Argument<NonNullGraphType<UnlinkArtifactInputType>>("input").ResolveAsync(async c =>
        {
            var input = c.GetArgument<Dictionary<string, object?>>("input");
            var principal = c.Principal();
            var artifactId = ArtifactSchema.Text(input, "artifactID");
            var source = ArtifactIds.ParseArtifact(artifactId);
            var portfolio = ArtifactIds.ParseSequence(ArtifactSchema.Text(input, "artifactPortfolioID"), "artifactPortfolioID");
            var artifacts = c.Service<ArtifactService>();
            var link = (await artifacts.LinksAsync(source, c.CancellationToken).ConfigureAwait(false)).FirstOrDefault(l => l.Collection == portfolio)
                ?? throw new NotFoundException("The version is not linked into that collection.");
            var aliases = (await artifacts.CollectionAliasesAsync(portfolio, c.CancellationToken).ConfigureAwait(false)).Select(a => a.Alias).Where(a => !ArtifactIds.IsVersionAlias(a)).ToList();
            var held = new List<string>();
            foreach (var alias in aliases)
            {
                if ((await artifacts.FindByNameAsync(portfolio.Entity, portfolio.Project, $"{portfolio.Collection}:{alias}", c.CancellationToken).ConfigureAwait(false))?.Index == link.Index)
                {
                    held.Add(alias);
                }
            }
            if (RegistryNames.IsGoverned(portfolio.Project))
            {
                await c.Service<IRegistryPolicy>().AuthorizeAsync(principal, portfolio.Entity, portfolio.Project, Role.Member, held, c.CancellationToken).ConfigureAwait(false);
            }
            else
            {
                await artifacts.AuthorizeAsync(principal, portfolio.Entity, Role.Member, c.CancellationToken).ConfigureAwait(false);
            }
            await artifacts.UnlinkAsync(portfolio, link.Index, c.CancellationToken).ConfigureAwait(false);
            return artifactId!;
        });
    }

    /// <summary>
    /// <c>project(entityName, name)</c> for a registry project: the client's entity may be a personal
    /// one (clients before 0.18 send the run's), which means the user's organization; the caller needs
    /// the viewer role in the registry, not merely in the organization.
    /// </summary>
    public static async Task<object?> ResolveProjectAsync(IResolveFieldContext context, string entity, string project)
    {
        var policy = context.Service<IRegistryPolicy>();
        var organization = await policy.ResolveEntityAsync(context.Principal(), entity, project, context.CancellationToken).ConfigureAwait(false);
        await policy.AuthorizeAsync(context.Principal(), organization, project, Role.Viewer, [], context.CancellationToken).ConfigureAwait(false);
        return new ProjectSource(organization, project, await context.Service<RunService>().FindProjectAsync(organization, project, context.CancellationToken).ConfigureAwait(false));
    }
}

internal sealed record EntityOrganizations(string Name, bool IsOrganization, IReadOnlyList<string> Organizations);

internal sealed class OrganizationGraphType : ObjectGraphType<string>
{
    public OrganizationGraphType()
    {
        Name = "Organization";
        Field<NonNullGraphType<IdGraphType>>("id").Resolve(c => Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes("Organization:" + c.Source)));
        Field<NonNullGraphType<StringGraphType>>("name").Resolve(c => c.Source);
        Field<NonNullGraphType<StringGraphType>>("orgType").Resolve(_ => "ORGANIZATION");
        Field<OrganizationEntityGraphType>("orgEntity").Resolve(c => c.Source);
    }
}

internal sealed class OrganizationEntityGraphType : ObjectGraphType<string>
{
    public OrganizationEntityGraphType()
    {
        Name = "OrganizationEntity";
        Field<NonNullGraphType<IdGraphType>>("id").ResolveAsync(async c => await EntityGraphIds.EntityAsync(c, c.Source).ConfigureAwait(false));
        Field<NonNullGraphType<StringGraphType>>("name").Resolve(c => c.Source);
        RegistryClientSchema.AddOrganizationEntityFields(this);
    }
}

internal sealed class EntityOrganizationsGraphType : ObjectGraphType<EntityOrganizations>
{
    public EntityOrganizationsGraphType()
    {
        Name = "EntityWithOrganizations";
        Field<NonNullGraphType<IdGraphType>>("id").ResolveAsync(async c => await EntityGraphIds.EntityAsync(c, c.Source.Name).ConfigureAwait(false));
        Field<NonNullGraphType<StringGraphType>>("name").Resolve(c => c.Source.Name);
        Field<OrganizationGraphType>("organization").Resolve(c => c.Source.IsOrganization ? c.Source.Name : null);
        Field<EntityUserOrganizationsGraphType>("user").Resolve(c => c.Source.IsOrganization ? null : c.Source);
        Field<ProjectType>("project").Argument<StringGraphType>("name").ResolveAsync(async c =>
        {
            var name = EntityNames.ValidateProject(c.GetArgument<string?>("name"), "name");
            if (RegistryNames.IsGoverned(name))
            {
                return await RegistrySchema.ResolveProjectAsync(c, c.Source.Name, name).ConfigureAwait(false);
            }
            var runs = c.Service<RunService>();
            return new ProjectSource(c.Source.Name, name, await runs.FindProjectAsync(c.Source.Name, name, c.CancellationToken).ConfigureAwait(false));
        });
    }
}

internal sealed class EntityUserOrganizationsGraphType : ObjectGraphType<EntityOrganizations>
{
    public EntityUserOrganizationsGraphType()
    {
        Name = "EntityUserOrganizations";
        Field<NonNullGraphType<StringGraphType>>("name").Resolve(c => c.Source.Name);
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<OrganizationGraphType>>>>("organizations").Resolve(c => c.Source.Organizations);
    }
}

internal sealed class UnlinkArtifactInputType : InputObjectGraphType
{
    public UnlinkArtifactInputType()
    {
        Name = "UnlinkArtifactInput";
        Field<NonNullGraphType<IdGraphType>>("artifactID");
        Field<NonNullGraphType<IdGraphType>>("artifactPortfolioID");
        Field<StringGraphType>("clientMutationId");
    }
}

internal sealed class UnlinkArtifactPayloadType : ObjectGraphType<string>
{
    public UnlinkArtifactPayloadType()
    {
        Name = "UnlinkArtifactPayload";
        Field<NonNullGraphType<IdGraphType>>("artifactID").Resolve(c => c.Source);
        Field<NonNullGraphType<BooleanGraphType>>("success").Resolve(_ => true);
        Field<StringGraphType>("clientMutationId").Resolve(_ => null);
    }
}
