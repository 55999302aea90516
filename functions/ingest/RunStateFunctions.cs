using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Logging;
using Weightless.Core.Runs;

namespace Weightless.Ingest;

/// <summary>Marks runs crashed when their heartbeats stop.</summary>
internal sealed class RunStateFunctions
{
    private readonly RunService _runs;
    private readonly TimeProvider _clock;
    private readonly ILogger<RunStateFunctions> _logger;

    public RunStateFunctions(RunService runs, TimeProvider clock, ILogger<RunStateFunctions> logger)
    {
        _runs = runs;
        _clock = clock;
        _logger = logger;
    }

    [Function("DetectCrashedRuns")]
    public async Task DetectCrashedRuns([TimerTrigger("0 */1 * * * *")] TimerInfo timer, CancellationToken cancellationToken)
    {
        var marked = await _runs.MarkCrashedAsync(_clock.GetUtcNow(), cancellationToken);
        if (marked > 0)
        {
            _logger.LogInformation("Marked {Count} runs without heartbeats as crashed", marked);
        }
    }
}
