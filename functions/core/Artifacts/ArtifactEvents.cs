using Azure.Messaging;
using Weightless.Core.Events;

namespace Weightless.Core.Artifacts;

/// <summary>The CloudEvent types artifact changes publish; automations subscribe to them.</summary>
internal static class ArtifactEventTypes
{
    public const string VersionCreated = "weightless.artifact.version.created";
    public const string LinkArtifact = "weightless.artifact.LINK_ARTIFACT";
    public const string AddArtifactAlias = "weightless.artifact.ADD_ARTIFACT_ALIAS";
}

/// <summary>
/// The payload of every artifact event: where it happened (entity, project, collection), which
/// version (<c>v3</c>), what (the alias added, the source of a link), and who did it.
/// </summary>
internal sealed record ArtifactEvent(
    string Type,
    string Entity,
    string Project,
    string Collection,
    string CollectionType,
    string Version,
    string ArtifactId,
    string Author,
    string? Alias = null,
    string? SourceEntity = null,
    string? SourceProject = null,
    string? SourceCollection = null,
    string? SourceVersion = null,
    string? Id = null);

/// <summary>Where artifact events go. Tests swap in a recorder; hosts publish through Event Grid.</summary>
internal interface IArtifactEventSink
{
    Task PublishAsync(IReadOnlyList<ArtifactEvent> events, CancellationToken cancellationToken);
}

/// <summary>
/// Publishes artifact events as CloudEvents through <see cref="EventPublisher"/>. Failures are
/// thrown: the <see cref="ArtifactOutbox"/> keeps the events and publishes them again later.
/// </summary>
internal sealed class EventGridArtifactEventSink(EventPublisher publisher) : IArtifactEventSink
{
    public async Task PublishAsync(IReadOnlyList<ArtifactEvent> events, CancellationToken cancellationToken)
    {
        if (events.Count == 0)
        {
            return;
        }
        await publisher.PublishAsync(events.Select(ToCloudEvent).ToList(), cancellationToken).ConfigureAwait(false);
    }

    private static readonly System.Text.Json.JsonSerializerOptions PayloadJson = new(System.Text.Json.JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };

    public static CloudEvent ToCloudEvent(ArtifactEvent e) =>
        new($"/entities/{e.Entity}/projects/{e.Project}/artifacts/{e.Collection}", e.Type, BinaryData.FromObjectAsJson(e, PayloadJson), "application/json")
        {
            Id = e.Id ?? Guid.NewGuid().ToString("N"),
            Subject = $"{e.Entity}/{e.Project}/{e.Collection}:{e.Version}",
            Time = DateTimeOffset.UtcNow,
        };
}
