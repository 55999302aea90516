using System.Text.Json;
using Weightless.Core.Artifacts;

namespace Weightless.Core.Tests.Artifacts;

/// <summary>The CloudEvents automations subscribe to: type, source, subject and a camelCase payload.</summary>
public sealed class ArtifactEventTests
{
    [Fact]
    public void An_alias_event_carries_where_which_version_what_and_who()
    {
        var e = new ArtifactEvent(ArtifactEventTypes.AddArtifactAlias, "team-a", "vision", "resnet", "model", "v3", "QXJ0aWZhY3Q6MQ==", "alice", Alias: "production");
        var cloudEvent = EventGridArtifactEventSink.ToCloudEvent(e);
        Assert.Equal("weightless.artifact.ADD_ARTIFACT_ALIAS", cloudEvent.Type);
        Assert.Equal("/entities/team-a/projects/vision/artifacts/resnet", cloudEvent.Source);
        Assert.Equal("team-a/vision/resnet:v3", cloudEvent.Subject);
        Assert.Equal("application/json", cloudEvent.DataContentType);
        var data = JsonDocument.Parse(cloudEvent.Data!.ToString()).RootElement;
        Assert.Equal("team-a", data.GetProperty("entity").GetString());
        Assert.Equal("vision", data.GetProperty("project").GetString());
        Assert.Equal("resnet", data.GetProperty("collection").GetString());
        Assert.Equal("model", data.GetProperty("collectionType").GetString());
        Assert.Equal("v3", data.GetProperty("version").GetString());
        Assert.Equal("alice", data.GetProperty("author").GetString());
        Assert.Equal("production", data.GetProperty("alias").GetString());
        Assert.False(data.TryGetProperty("sourceCollection", out _));
    }

    [Fact]
    public void A_link_event_names_the_source_version()
    {
        var e = new ArtifactEvent(ArtifactEventTypes.LinkArtifact, "org", "model-registry", "classifier", "model", "v0", "id", "bob", SourceEntity: "team-a", SourceProject: "vision", SourceCollection: "resnet", SourceVersion: "v7");
        var data = JsonDocument.Parse(EventGridArtifactEventSink.ToCloudEvent(e).Data!.ToString()).RootElement;
        Assert.Equal("weightless.artifact.LINK_ARTIFACT", e.Type);
        Assert.Equal(("team-a", "vision", "resnet", "v7"), (data.GetProperty("sourceEntity").GetString(), data.GetProperty("sourceProject").GetString(), data.GetProperty("sourceCollection").GetString(), data.GetProperty("sourceVersion").GetString()));
    }
}
