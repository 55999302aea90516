using System.Globalization;
using NCrontab;

namespace Weightless.Core.Scheduling;

/// <summary>
/// A <c>[TimerTrigger]</c> schedule, read the way the Functions timer extension reads it: a
/// six-field NCRONTAB expression with seconds (<c>{second} {minute} {hour} {day} {month} {day-of-week}</c>,
/// parsed by NCrontab.Signed, the library the extension uses), the five-field form without seconds,
/// or a constant interval <c>hh:mm:ss</c>. Times are UTC, as in Azure without <c>WEBSITE_TIME_ZONE</c>.
/// </summary>
internal sealed class TimerSchedule
{
    private readonly CrontabSchedule? _cron;
    private readonly TimeSpan? _interval;

    private TimerSchedule(string expression, CrontabSchedule? cron, TimeSpan? interval)
    {
        Expression = expression;
        _cron = cron;
        _interval = interval;
    }

    public string Expression { get; }

    /// <summary>Parses a schedule; <see cref="FormatException"/> naming the problem when it is not one.</summary>
    public static TimerSchedule Parse(string expression)
    {
        if (string.IsNullOrWhiteSpace(expression))
        {
            throw new FormatException("A timer schedule is empty.");
        }
        var trimmed = expression.Trim();
        var fields = trimmed.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length is 5 or 6)
        {
            var cron = CrontabSchedule.TryParse(string.Join(' ', fields), new CrontabSchedule.ParseOptions { IncludingSeconds = fields.Length == 6 });
            return cron is null
                ? throw new FormatException($"'{expression}' is not a valid NCRONTAB expression ({{second}} {{minute}} {{hour}} {{day}} {{month}} {{day-of-week}}).")
                : new TimerSchedule(trimmed, cron, null);
        }
        if (fields.Length == 1 && TimeSpan.TryParseExact(trimmed, @"hh\:mm\:ss", CultureInfo.InvariantCulture, out var interval))
        {
            return interval > TimeSpan.Zero
                ? new TimerSchedule(trimmed, null, interval)
                : throw new FormatException($"The interval '{expression}' must be longer than zero.");
        }
        throw new FormatException($"'{expression}' is neither a six-field NCRONTAB expression ({{second}} {{minute}} {{hour}} {{day}} {{month}} {{day-of-week}}) nor an interval hh:mm:ss.");
    }

    /// <summary>The first occurrence strictly after <paramref name="after"/>.</summary>
    public DateTimeOffset NextAfter(DateTimeOffset after)
    {
        if (_interval is { } interval)
        {
            return after + interval;
        }
        var utc = after.UtcDateTime;
        var next = _cron!.GetNextOccurrence(utc);
        return new DateTimeOffset(DateTime.SpecifyKind(next, DateTimeKind.Utc));
    }
}
