using System.Reflection;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Options;
using Weightless.Core.Scheduling;

namespace Weightless.DevHost.Triggers;

/// <summary>One <c>[TimerTrigger]</c> function and its parsed schedule.</summary>
internal sealed record TimerFunction(string Name, MethodInfo Method, ParameterInfo Trigger, TimerSchedule Schedule, bool RunOnStartup);

/// <summary>
/// Runs <c>[TimerTrigger]</c> functions on their schedules (NCRONTAB with seconds, UTC, or
/// <c>hh:mm:ss</c>), one run at a time per function as the Functions host's singleton timer does.
/// Off when <see cref="DevHostOptions.RunTimers"/> is false; <see cref="RunNowAsync"/> works either way.
/// </summary>
internal sealed class TimerTriggerRunner : BackgroundService
{
    /// <summary>A run later than this after its due time is reported as past due.</summary>
    private static readonly TimeSpan PastDueTolerance = TimeSpan.FromSeconds(1);

    private readonly FunctionAssemblies _assemblies;
    private readonly IServiceProvider _services;
    private readonly IConfiguration _configuration;
    private readonly IOptions<DevHostOptions> _options;
    private readonly TimeProvider _clock;
    private readonly ILogger<TimerTriggerRunner> _logger;
    private readonly Lazy<IReadOnlyList<TimerFunction>> _functions;
    private readonly Dictionary<string, DateTimeOffset> _lastRuns = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SemaphoreSlim> _gates = new(StringComparer.Ordinal);

    public TimerTriggerRunner(FunctionAssemblies assemblies, IServiceProvider services, IConfiguration configuration, IOptions<DevHostOptions> options,
        TimeProvider clock, ILogger<TimerTriggerRunner> logger)
    {
        _assemblies = assemblies;
        _services = services;
        _configuration = configuration;
        _options = options;
        _clock = clock;
        _logger = logger;
        _functions = new Lazy<IReadOnlyList<TimerFunction>>(Discover);
    }

    public IReadOnlyList<TimerFunction> Functions => _functions.Value;

    /// <summary>Runs a timer function once, now, and returns when it has finished; its exception propagates.</summary>
    public async Task RunNowAsync(string functionName, CancellationToken cancellationToken = default)
    {
        var function = Functions.FirstOrDefault(f => string.Equals(f.Name, functionName, StringComparison.Ordinal))
            ?? throw new InvalidOperationException($"There is no timer function named '{functionName}'. Known: {string.Join(", ", Functions.Select(f => f.Name))}.");
        var now = _clock.GetUtcNow();
        await RunAsync(function, now, now, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Finds the functions before starting, so that a bad one (unknown setting, invalid name or
    /// schedule, unbindable parameter) stops the host at start-up: since .NET 10,
    /// <see cref="BackgroundService.ExecuteAsync"/> runs in the background and its exceptions would only be logged.
    /// </summary>
    public override Task StartAsync(CancellationToken cancellationToken)
    {
        _ = Functions;
        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var functions = Functions;
        if (!_options.Value.RunTimers)
        {
            _logger.LogInformation("Timer triggers are off (DevHost:RunTimers=false); {Count} timer function(s) run only when invoked directly", functions.Count);
            return;
        }
        _logger.LogInformation("Scheduling {Count} timer function(s): {Functions}", functions.Count, string.Join(", ", functions.Select(f => $"{f.Name} '{f.Schedule.Expression}'")));
        await Task.WhenAll(functions.Select(f => ScheduleAsync(f, stoppingToken))).ConfigureAwait(false);
    }

    private IReadOnlyList<TimerFunction> Discover()
    {
        var functions = new List<TimerFunction>();
        foreach (var (_, method, name) in _assemblies.Functions())
        {
            var trigger = method.GetParameters().FirstOrDefault(p => p.GetCustomAttribute<TimerTriggerAttribute>() is not null);
            if (trigger is null)
            {
                continue;
            }
            var attribute = trigger.GetCustomAttribute<TimerTriggerAttribute>()!;
            var expression = FunctionInvoker.ResolveSettings(attribute.Schedule, _configuration, name);
            TimerSchedule schedule;
            try
            {
                schedule = TimerSchedule.Parse(expression);
            }
            catch (FormatException ex)
            {
                throw new InvalidOperationException($"Function '{name}': {ex.Message}", ex);
            }
            FunctionInvoker.EnsureBindable(name, method, _services, p => p == trigger);
            functions.Add(new TimerFunction(name, method, trigger, schedule, attribute.RunOnStartup));
            _gates[name] = new SemaphoreSlim(1, 1);
        }
        return functions;
    }

    internal async Task ScheduleAsync(TimerFunction function, CancellationToken stoppingToken)
    {
        var due = _clock.GetUtcNow();
        if (!function.RunOnStartup)
        {
            due = function.Schedule.NextAfter(due);
        }
        while (!stoppingToken.IsCancellationRequested)
        {
            var wait = due - _clock.GetUtcNow();
            try
            {
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, _clock, stoppingToken).ConfigureAwait(false);
                }
                await RunAsync(function, due, _clock.GetUtcNow(), stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                _logger.LogError(ex, "Timer function {Function} failed; it runs again at its next occurrence", function.Name);
            }
            // Occurrences missed while the function ran are skipped, as the Functions host does.
            var now = _clock.GetUtcNow();
            due = function.Schedule.NextAfter(due > now ? due : now);
        }
    }

    private async Task RunAsync(TimerFunction function, DateTimeOffset due, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var gate = _gates[function.Name];
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            DateTimeOffset last;
            lock (_lastRuns)
            {
                last = _lastRuns.GetValueOrDefault(function.Name, default);
            }
            var info = new TimerInfo
            {
                IsPastDue = now - due > PastDueTolerance,
                ScheduleStatus = new ScheduleStatus
                {
                    Last = last == default ? DateTime.MinValue : last.UtcDateTime,
                    Next = function.Schedule.NextAfter(now).UtcDateTime,
                    LastUpdated = now.UtcDateTime,
                },
            };
            await FunctionInvoker.InvokeAsync(function.Method, _services, (ParameterInfo p, out object? value) =>
            {
                value = p == function.Trigger ? info : null;
                return p == function.Trigger;
            }, cancellationToken).ConfigureAwait(false);
            lock (_lastRuns)
            {
                _lastRuns[function.Name] = now;
            }
        }
        finally
        {
            gate.Release();
        }
    }

    public override void Dispose()
    {
        foreach (var gate in _gates.Values)
        {
            gate.Dispose();
        }
        base.Dispose();
    }
}
