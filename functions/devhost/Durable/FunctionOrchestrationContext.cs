using Microsoft.DurableTask;
using Microsoft.DurableTask.Entities;

namespace Weightless.DevHost.Durable;

/// <summary>
/// The context a function-style orchestrator sees in the dev host. A function-style orchestrator
/// does not declare its input type, so the worker deserializes the input as <c>object</c> (a
/// <c>JsonElement</c>) and the plain context's <c>GetInput&lt;T&gt;</c> would fail with "Unable to
/// cast JsonElement". Like the Functions extension's own context, this one re-deserializes the
/// input to whatever type the orchestrator asks for; everything else passes straight through.
/// </summary>
internal sealed class FunctionOrchestrationContext(TaskOrchestrationContext inner, DataConverter converter, ILoggerFactory loggerFactory)
    : TaskOrchestrationContext
{
    private string? _serializedInput;
    private bool _inputSerialized;

    public override TaskName Name => inner.Name;

    public override string InstanceId => inner.InstanceId;

    public override ParentOrchestrationInstance? Parent => inner.Parent;

    public override DateTime CurrentUtcDateTime => inner.CurrentUtcDateTime;

    public override bool IsReplaying => inner.IsReplaying;

    public override string Version => inner.Version;

    public override IReadOnlyDictionary<string, object?> Properties => inner.Properties;

    public override TaskOrchestrationEntityFeature Entities => inner.Entities;

    protected override ILoggerFactory LoggerFactory => loggerFactory;

    public override T GetInput<T>()
        where T : default
    {
        var input = inner.GetInput<object>();
        if (input is null or T)
        {
            return (T)input!;
        }
        if (!_inputSerialized)
        {
            _serializedInput = converter.Serialize(input);
            _inputSerialized = true;
        }
        return converter.Deserialize<T>(_serializedInput)!;
    }

    public override Task<TResult> CallActivityAsync<TResult>(TaskName name, object? input = null, TaskOptions? options = null) =>
        inner.CallActivityAsync<TResult>(name, input, options);

    public override Task CreateTimer(DateTime fireAt, CancellationToken cancellationToken) =>
        inner.CreateTimer(fireAt, cancellationToken);

    public override Task<T> WaitForExternalEvent<T>(string eventName, CancellationToken cancellationToken = default) =>
        inner.WaitForExternalEvent<T>(eventName, cancellationToken);

    public override void SendEvent(string instanceId, string eventName, object payload) =>
        inner.SendEvent(instanceId, eventName, payload);

    public override void SetCustomStatus(object? customStatus) => inner.SetCustomStatus(customStatus);

    public override Task<TResult> CallSubOrchestratorAsync<TResult>(TaskName orchestratorName, object? input = null, TaskOptions? options = null) =>
        inner.CallSubOrchestratorAsync<TResult>(orchestratorName, input, options);

    public override void ContinueAsNew(object? newInput = null, bool preserveUnprocessedEvents = true) =>
        inner.ContinueAsNew(newInput, preserveUnprocessedEvents);

    public override void ContinueAsNew(ContinueAsNewOptions options) => inner.ContinueAsNew(options);

    public override Guid NewGuid() => inner.NewGuid();
}
