using Azure.Messaging;
using Weightless.Core.Automations;

namespace Weightless.Core.Tests.Automations;

public sealed class EventLogKeyTests
{
    [Fact]
    public void TheDataEntityField_NamesTheTenant()
    {
        var cloudEvent = new CloudEvent("/t", "x", new { entity = "team-a", project = "p" }) { Subject = "other/p" };

        Assert.Equal("team-a", EventLog.EntityOf(cloudEvent));
    }

    [Theory]
    [InlineData("alice/vision/run1", "alice")]
    [InlineData("/alice/vision", "alice")]
    [InlineData("alice", "alice")]
    [InlineData("/blobServices/default/containers/x", null)]
    [InlineData("", null)]
    [InlineData(null, null)]
    public void WithoutADataEntity_TheSubjectsFirstSegmentNamesTheTenant(string? subject, string? expected)
    {
        var cloudEvent = new CloudEvent("/t", "x", new { project = "p" }) { Subject = subject };

        Assert.Equal(expected, EventLog.EntityOf(cloudEvent));
    }

    [Fact]
    public void BinaryData_NamesNoEntity_ButTheSubjectStillMay()
    {
        var cloudEvent = new CloudEvent("/t", "x", BinaryData.FromBytes([1, 2, 3]), "application/octet-stream") { Subject = "bob/p" };

        Assert.Equal("bob", EventLog.EntityOf(cloudEvent));
    }

    [Fact]
    public void RowKeys_SortNewestFirst_AndAreStableForTheSameEvent()
    {
        var now = DateTimeOffset.UtcNow;
        var newer = EventLog.RowKeyFor(now, "b");
        var older = EventLog.RowKeyFor(now.AddMilliseconds(-1), "a");
        var undated = EventLog.RowKeyFor(null, "c");

        Assert.True(string.CompareOrdinal(newer, older) < 0);
        Assert.True(string.CompareOrdinal(older, undated) < 0);
        Assert.Equal(newer, EventLog.RowKeyFor(now, "b"));
        Assert.NotEqual(newer, EventLog.RowKeyFor(now, "a"));
    }

    [Fact]
    public void RowKeys_EscapeIdsTableStorageWouldReject()
    {
        var key = EventLog.RowKeyFor(DateTimeOffset.UnixEpoch, "a/b#c?d");

        Assert.DoesNotContain('/', key);
        Assert.DoesNotContain('#', key);
        Assert.DoesNotContain('?', key);
    }
}
