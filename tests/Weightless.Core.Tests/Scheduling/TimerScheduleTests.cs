using Weightless.Core.Scheduling;

namespace Weightless.Core.Tests.Scheduling;

public sealed class TimerScheduleTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 28, 18, 41, 7, 250, TimeSpan.Zero); // a Saturday

    [Theory]
    [InlineData("* * * * * *", "2026-11-28T18:41:08Z")]
    [InlineData("*/15 * * * * *", "2026-11-28T18:41:15Z")]
    [InlineData("0 */5 * * * *", "2026-11-28T18:45:00Z")]
    [InlineData("0 30 9 * * *", "2026-11-29T09:30:00Z")]
    [InlineData("0 0 9 * * Mon-Fri", "2026-11-30T09:00:00Z")]
    [InlineData("0 0 0 1 1 *", "2027-01-01T00:00:00Z")]
    [InlineData("*/5 * * * *", "2026-11-28T18:45:00Z")]
    [InlineData("00:00:30", "2026-11-28T18:41:37.250Z")]
    public void NextAfter_FollowsTheExpression(string expression, string expected)
    {
        var schedule = TimerSchedule.Parse(expression);

        Assert.Equal(DateTimeOffset.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), schedule.NextAfter(Start));
    }

    [Fact]
    public void NextAfter_IsStrictlyLater_WhenStartingOnAnOccurrence()
    {
        var schedule = TimerSchedule.Parse("0 */5 * * * *");
        var onOccurrence = new DateTimeOffset(2026, 11, 28, 18, 45, 0, TimeSpan.Zero);

        Assert.Equal(onOccurrence.AddMinutes(5), schedule.NextAfter(onOccurrence));
    }

    [Fact]
    public void NextAfter_WorksInUtc_WhateverTheOffsetOfTheInput()
    {
        var schedule = TimerSchedule.Parse("0 0 12 * * *");
        var inBerlin = new DateTimeOffset(2026, 11, 28, 12, 30, 0, TimeSpan.FromHours(1)); // 11:30 UTC

        Assert.Equal(new DateTimeOffset(2026, 11, 28, 12, 0, 0, TimeSpan.Zero), schedule.NextAfter(inBerlin));
    }

    [Theory]
    [InlineData("")]
    [InlineData("every minute")]
    [InlineData("61 * * * * *")]
    [InlineData("* * * * * * *")]
    [InlineData("00:00:00")]
    [InlineData("25:00")]
    public void Parse_RejectsWhatIsNotASchedule(string expression)
    {
        var error = Assert.Throws<FormatException>(() => TimerSchedule.Parse(expression));

        Assert.False(string.IsNullOrWhiteSpace(error.Message));
    }
}
