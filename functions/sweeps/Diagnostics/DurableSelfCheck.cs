using Azure.Data.Tables;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;
using Weightless.Core.Errors;
using Weightless.Core.Storage;

namespace Weightless.Sweeps.Diagnostics;

/// <summary>What an operator asks the durable self-check to do.</summary>
internal sealed record SelfCheckInput(int Steps, int DelaySeconds)
{
    public const int DefaultSteps = 3;
    public const int MaxSteps = 20;
    public const int DefaultDelaySeconds = 1;
    public const int MaxDelaySeconds = 30;
}

/// <summary>The request body of POST /api/v1/sweeps/diagnostics/durable (every field optional).</summary>
internal sealed record SelfCheckRequest(int? Steps, int? DelaySeconds)
{
    public SelfCheckInput Validate()
    {
        var steps = Steps ?? SelfCheckInput.DefaultSteps;
        if (steps is < 1 or > SelfCheckInput.MaxSteps)
        {
            throw new ValidationFailedException($"'steps' must be between 1 and {SelfCheckInput.MaxSteps}.", "steps");
        }
        var delay = DelaySeconds ?? SelfCheckInput.DefaultDelaySeconds;
        if (delay is < 0 or > SelfCheckInput.MaxDelaySeconds)
        {
            throw new ValidationFailedException($"'delaySeconds' must be between 0 and {SelfCheckInput.MaxDelaySeconds}.", "delaySeconds");
        }
        return new SelfCheckInput(steps, delay);
    }
}

/// <summary>One activity call of the self-check.</summary>
internal sealed record SelfCheckStepInput(string InstanceId, int Step);

/// <summary>What the self-check orchestration returns.</summary>
internal sealed record SelfCheckResult(int Steps, DateTime CompletedAt);

/// <summary>
/// The durable self-check operators run after a deployment: <c>steps</c> activity calls, each
/// followed by a durable timer. It exercises the whole durable path — scheduling, activity
/// dispatch, storage writes from an activity, timers and replay — and, because every step leaves a
/// row, shows afterwards exactly which steps ran.
/// </summary>
internal static class DurableSelfCheck
{
    [Function(nameof(DurableSelfCheck))]
    public static async Task<SelfCheckResult> Run([OrchestrationTrigger] TaskOrchestrationContext ctx)
    {
        var input = ctx.GetInput<SelfCheckInput>() ?? new SelfCheckInput(SelfCheckInput.DefaultSteps, SelfCheckInput.DefaultDelaySeconds);
        for (var step = 1; step <= input.Steps; step++)
        {
            await ctx.CallActivityAsync<int>(nameof(DurableSelfCheckStep), new SelfCheckStepInput(ctx.InstanceId, step));
            if (input.DelaySeconds > 0)
            {
                await ctx.CreateTimer(ctx.CurrentUtcDateTime.AddSeconds(input.DelaySeconds), CancellationToken.None);
            }
        }
        return new SelfCheckResult(input.Steps, ctx.CurrentUtcDateTime);
    }
}

/// <summary>
/// One self-check step: upserts the row <c>diagnostics / {instanceId}:{step}</c> in
/// <c>durablechecks</c>. An upsert, so a step replayed after a crash leaves one row, not two.
/// </summary>
internal sealed class DurableSelfCheckStep
{
    public const string Table = "durablechecks";
    public const string Partition = "diagnostics";

    private readonly StorageAccount _storage;
    private readonly TimeProvider _time;

    public DurableSelfCheckStep(StorageAccount storage, TimeProvider time)
    {
        _storage = storage;
        _time = time;
    }

    public static string RowKey(string instanceId, int step) => $"{TableKeys.Escape(instanceId)}:{step}";

    [Function(nameof(DurableSelfCheckStep))]
    public async Task<int> Run([ActivityTrigger] SelfCheckStepInput input, CancellationToken cancellationToken)
    {
        var table = await _storage.TableAsync(Table);
        var row = new TableEntity(Partition, RowKey(input.InstanceId, input.Step))
        {
            ["InstanceId"] = input.InstanceId,
            ["Step"] = input.Step,
            ["WrittenAt"] = _time.GetUtcNow(),
        };
        await table.UpsertAsync(row, TableUpdateMode.Replace, cancellationToken);
        return input.Step;
    }
}
