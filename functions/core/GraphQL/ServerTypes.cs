using System.Text.Json;
using GraphQL;
using GraphQL.Types;
using Weightless.Core.Tenancy;

namespace Weightless.Core.GraphQL;

internal sealed class UserType : ObjectGraphType<ViewerSource>
{
    public UserType()
    {
        Name = "User";
        Field<NonNullGraphType<IdGraphType>>("id").ResolveAsync(async c => await EntityGraphIds.UserAsync(c, c.Source.Principal.UserName).ConfigureAwait(false));
        Field<StringGraphType>("entity").Resolve(c => c.Source.Principal.UserName);
        Field<StringGraphType>("username").Resolve(c => c.Source.Principal.UserName);
        Field<StringGraphType>("name").Resolve(c => c.Source.Principal.UserName);
        Field<StringGraphType>("email").Resolve(c => c.Source.Email);
        Field<JsonStringGraphType>("flags").Resolve(_ => "{}");
        Field<BooleanGraphType>("admin").Resolve(c => c.Source.Principal.IsInstanceAdmin);
        Field<EntityConnectionType>("teams").Argument<IntGraphType>("first").Resolve(c => c.Source.Teams.Select(t => new NamedSource(Runs.RunIds.Entity(t), t)).ToList());
        Field<ApiKeyConnectionType>("apiKeys").Resolve(_ => null);
    }
}

/// <summary>A run's creator, as <c>Run.user</c> shows it.</summary>
internal sealed class RunUserType : ObjectGraphType<string>
{
    public RunUserType()
    {
        Name = "RunUser";
        Field<IdGraphType>("id").ResolveAsync(async c => await EntityGraphIds.UserAsync(c, c.Source).ConfigureAwait(false));
        Field<StringGraphType>("name").Resolve(c => c.Source);
        Field<StringGraphType>("username").Resolve(c => c.Source);
    }
}

internal sealed class EntityType : ObjectGraphType<NamedSource>
{
    public EntityType()
    {
        Name = "Entity";
        Field<NonNullGraphType<IdGraphType>>("id").Resolve(c => c.Source.Id);
        Field<NonNullGraphType<StringGraphType>>("name").Resolve(c => c.Source.Name);
        RegistryMemberSchema.AddTeamFields(this);
    }
}

internal sealed class EntityEdgeType : ObjectGraphType<NamedSource>
{
    public EntityEdgeType()
    {
        Name = "EntityEdge";
        Field<EntityType>("node").Resolve(c => c.Source);
        Field<StringGraphType>("cursor").Resolve(c => c.Source.Name);
    }
}

internal sealed class EntityConnectionType : ObjectGraphType<IReadOnlyList<NamedSource>>
{
    public EntityConnectionType()
    {
        Name = "EntityConnection";
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<EntityEdgeType>>>>("edges").Resolve(c => c.Source);
    }
}

/// <summary>Listed for the clients that select <c>viewer.apiKeys</c>; keys are managed over REST, so this is null.</summary>
internal sealed class ApiKeyConnectionType : ObjectGraphType<object>
{
    public ApiKeyConnectionType()
    {
        Name = "ApiKeyConnection";
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<ApiKeyEdgeType>>>>("edges").Resolve(_ => Array.Empty<object>());
    }
}

internal sealed class ApiKeyEdgeType : ObjectGraphType<object>
{
    public ApiKeyEdgeType()
    {
        Name = "ApiKeyEdge";
        Field<ApiKeyType>("node").Resolve(_ => null);
    }
}

internal sealed class ApiKeyType : ObjectGraphType<object>
{
    public ApiKeyType()
    {
        Name = "ApiKey";
        Field<IdGraphType>("id").Resolve(_ => null);
        Field<StringGraphType>("name").Resolve(_ => null);
        Field<StringGraphType>("description").Resolve(_ => null);
    }
}

internal sealed class ServerInfoType : ObjectGraphType<object>
{
    public static readonly string Version = typeof(ServerInfoType).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    private static readonly ServerFeature[] AdvertisedFeatures =
    [
        new("FILESTREAM_GZIP", true),
        new("ARTIFACT_REGISTRY_SEARCH", true),
        new("INCLUDE_ARTIFACT_TYPES_IN_REGISTRY_CREATION", true),
    ];

    public ServerInfoType()
    {
        Name = "ServerInfo";
        Field<JsonGraphType>("cliVersionInfo").Resolve(_ => JsonDocument.Parse("{}").RootElement);
        Field<LocalVersionInfoType>("latestLocalVersionInfo").Resolve(_ => new object());
        // Each advertised feature commits the server to a protocol variant, so only those it speaks:
        // Go core gzips file_stream bodies when FILESTREAM_GZIP is on (its featurechecker maps the
        // name onto spb.ServerFeature); RequestBodies inflates them. The Python client calls the registry
        // search and registry create/save documents (RegistryClientSchema) only when the two registry features are on.
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<ServerFeatureType>>>>("features").Resolve(_ => AdvertisedFeatures);
    }
}

internal sealed class LocalVersionInfoType : ObjectGraphType<object>
{
    public LocalVersionInfoType()
    {
        Name = "LocalVersionInfo";
        Field<NonNullGraphType<BooleanGraphType>>("outOfDate").Resolve(_ => false);
        Field<StringGraphType>("latestVersionString").Resolve(_ => ServerInfoType.Version);
        Field<StringGraphType>("versionOnThisInstanceString").Resolve(_ => ServerInfoType.Version);
    }
}

internal sealed record ServerFeature(string Name, bool IsEnabled);

internal sealed class ServerFeatureType : ObjectGraphType<ServerFeature>
{
    public ServerFeatureType()
    {
        Name = "ServerFeature";
        Field<NonNullGraphType<StringGraphType>>("name").Resolve(c => c.Source.Name);
        Field<NonNullGraphType<BooleanGraphType>>("isEnabled").Resolve(c => c.Source.IsEnabled);
    }
}

/// <summary>Python probes this type's fields; with it present, UpsertBucket asks for server messages (none).</summary>
internal sealed class ServerSettingsType : ObjectGraphType<object>
{
    public ServerSettingsType()
    {
        Name = "ServerSettings";
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<ServerMessageType>>>>("serverMessages").Resolve(_ => Array.Empty<object>());
    }
}

internal sealed class ServerMessageType : ObjectGraphType<object>
{
    public ServerMessageType()
    {
        Name = "ServerMessage";
        Field<StringGraphType>("utfText").Resolve(_ => null);
        Field<StringGraphType>("plainText").Resolve(_ => null);
        Field<StringGraphType>("htmlText").Resolve(_ => null);
        Field<StringGraphType>("messageType").Resolve(_ => null);
        Field<StringGraphType>("messageLevel").Resolve(_ => null);
    }
}

internal static class ViewerResolver
{
    public static async Task<object?> ResolveAsync(IResolveFieldContext context)
    {
        var principal = context.Principal();
        var tenancy = context.Service<TenancyService>();
        var user = await tenancy.GetEntityAsync(principal.UserName, context.CancellationToken).ConfigureAwait(false);
        var memberships = await tenancy.ListMembershipsAsync(principal.UserName, context.CancellationToken).ConfigureAwait(false);
        return new ViewerSource(principal, user?.Email, memberships.Where(m => m.Kind == "team").Select(m => m.Entity).ToList());
    }
}
