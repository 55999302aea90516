using System.Collections.Concurrent;
using System.Reflection;
using System.Text;
using System.Text.Json;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Options;
using Weightless.Core.Events;
using Weightless.Core.Storage;

namespace Weightless.DevHost.Triggers;

/// <summary>One <c>[QueueTrigger]</c> function and the queue it listens on.</summary>
internal sealed record QueueFunction(string Name, MethodInfo Method, ParameterInfo Trigger, string QueueName, string PhysicalQueue)
{
    /// <summary>Where messages go after the last failed attempt, named as the Functions host names it.</summary>
    public string PoisonQueue => PhysicalQueue + "-poison";
}

/// <summary>
/// The Functions host's queue listener, locally: polls the queue of every <c>[QueueTrigger]</c>
/// function (name from the attribute, <c>%Setting%</c> resolved, storage prefix applied), invokes
/// the function per message, deletes the message on success, makes it visible again after
/// <see cref="TriggerOptions.QueueVisibilityTimeout"/> on failure, and after
/// <see cref="TriggerOptions.QueueMaxDequeueCount"/> attempts moves it to <c>&lt;queue&gt;-poison</c>.
/// Messages are base64-decoded first (see <see cref="QueueMessageText"/>).
/// </summary>
internal sealed class QueueTriggerPoller : BackgroundService
{
    private static readonly JsonSerializerOptions PocoJson = new(JsonSerializerDefaults.Web);

    private readonly FunctionAssemblies _assemblies;
    private readonly IServiceProvider _services;
    private readonly IConfiguration _configuration;
    private readonly StorageAccount _storage;
    private readonly IOptions<DevHostOptions> _hostOptions;
    private readonly IOptions<TriggerOptions> _options;
    private readonly ILogger<QueueTriggerPoller> _logger;
    private readonly ConcurrentDictionary<string, string> _queueErrors = new(StringComparer.Ordinal);
    private readonly Lazy<IReadOnlyList<QueueFunction>> _functions;
    private volatile bool _running;

    public QueueTriggerPoller(FunctionAssemblies assemblies, IServiceProvider services, IConfiguration configuration, StorageAccount storage,
        IOptions<DevHostOptions> hostOptions, IOptions<TriggerOptions> options, ILogger<QueueTriggerPoller> logger)
    {
        _assemblies = assemblies;
        _services = services;
        _configuration = configuration;
        _storage = storage;
        _hostOptions = hostOptions;
        _options = options;
        _logger = logger;
        _functions = new Lazy<IReadOnlyList<QueueFunction>>(Discover);
    }

    public IReadOnlyList<QueueFunction> Functions => _functions.Value;

    /// <summary>"ok" while every queue loop is running and its last poll reached storage.</summary>
    public string Health()
    {
        if (!_running)
        {
            return "unavailable: the queue pollers are not running";
        }
        var errors = _queueErrors.Select(kv => $"{kv.Key}: {kv.Value}").ToList();
        return errors.Count == 0 ? "ok" : "unavailable: " + string.Join("; ", errors);
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
        _logger.LogInformation("Polling {Count} queue-trigger function(s): {Functions}", functions.Count, string.Join(", ", functions.Select(f => $"{f.Name} <- {f.PhysicalQueue}")));
        _running = true;
        try
        {
            await Task.WhenAll(functions.Select(f => PollAsync(f, stoppingToken))).ConfigureAwait(false);
        }
        finally
        {
            _running = false;
        }
    }

    private IReadOnlyList<QueueFunction> Discover()
    {
        var functions = new List<QueueFunction>();
        foreach (var (_, method, name) in _assemblies.Functions())
        {
            var trigger = method.GetParameters().FirstOrDefault(p => p.GetCustomAttribute<QueueTriggerAttribute>() is not null);
            if (trigger is null)
            {
                continue;
            }
            var queueName = FunctionInvoker.ResolveSettings(trigger.GetCustomAttribute<QueueTriggerAttribute>()!.QueueName, _configuration, name);
            var physical = _storage.PhysicalName(queueName);
            if (!IsValidQueueName(physical) || !IsValidQueueName(physical + "-poison"))
            {
                throw new InvalidOperationException($"Function '{name}': queue name '{physical}' (and its '-poison' queue) must be a valid storage queue name: 3–63 lowercase letters, digits and single hyphens.");
            }
            FunctionInvoker.EnsureBindable(name, method, _services, p => p == trigger || IsMetadata(p));
            functions.Add(new QueueFunction(name, method, trigger, queueName, physical));
        }
        return functions;
    }

    private async Task PollAsync(QueueFunction function, CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var received = 0;
            try
            {
                var queue = await _storage.QueueAsync(function.PhysicalQueue).ConfigureAwait(false);
                var options = _options.Value;
                var messages = await queue.ReceiveAsync(Math.Clamp(options.QueueBatchSize, 1, 32), options.QueueMessageLease, stoppingToken).ConfigureAwait(false);
                _queueErrors.TryRemove(function.PhysicalQueue, out _);
                received = messages.Length;
                for (var i = 0; i < messages.Length; i++)
                {
                    if (stoppingToken.IsCancellationRequested)
                    {
                        // Shutting down: hand the rest back now rather than after the lease runs out.
                        await ReleaseQuietlyAsync(queue, messages[i..]).ConfigureAwait(false);
                        return;
                    }
                    await ProcessAsync(function, queue, messages[i], stoppingToken).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                _queueErrors[function.PhysicalQueue] = ex.Message.Split('\n')[0];
                _logger.LogWarning(ex, "Polling queue {Queue} for {Function} failed", function.PhysicalQueue, function.Name);
            }
            if (received > 0)
            {
                continue;
            }
            try
            {
                await Task.Delay(_hostOptions.Value.QueuePollInterval, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task ProcessAsync(QueueFunction function, QueueStore queue, QueueMessage message, CancellationToken stoppingToken)
    {
        var maxDequeueCount = _options.Value.QueueMaxDequeueCount;
        if (message.DequeueCount > maxDequeueCount)
        {
            // Taken more often than allowed without finishing (e.g. the host died mid-run): as the Functions host does, poison it unprocessed.
            await MoveToPoisonAsync(function, queue, message, null).ConfigureAwait(false);
            return;
        }
        try
        {
            var body = QueueMessageText.Decode(message.MessageText);
            await FunctionInvoker.InvokeAsync(function.Method, _services, (ParameterInfo p, out object? value) => TryBind(function, p, message, body, out value), stoppingToken).ConfigureAwait(false);
            // Not cancelled by shutdown: the work is done, and an undeleted message would run again.
            await queue.DeleteAsync(message, CancellationToken.None).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // The function stopped because the host is stopping: not a failed attempt, so retry it as soon as a host runs.
            await ReleaseQuietlyAsync(queue, [message]).ConfigureAwait(false);
            throw;
        }
        catch (Exception ex)
        {
            if (message.DequeueCount >= maxDequeueCount)
            {
                await MoveToPoisonAsync(function, queue, message, ex).ConfigureAwait(false);
                return;
            }
            _logger.LogWarning(ex, "Function {Function} failed on message {MessageId} from {Queue} (attempt {Attempt} of {Max}); it will be retried",
                function.Name, message.MessageId, function.PhysicalQueue, message.DequeueCount, maxDequeueCount);
            await queue.ReleaseAsync(message, _options.Value.QueueVisibilityTimeout, CancellationToken.None).ConfigureAwait(false);
        }
    }

    private async Task ReleaseQuietlyAsync(QueueStore queue, IEnumerable<QueueMessage> messages)
    {
        foreach (var message in messages)
        {
            try
            {
                await queue.ReleaseAsync(message, TimeSpan.Zero, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Azure.RequestFailedException ex)
            {
                _logger.LogWarning(ex, "Could not hand message {MessageId} back to {Queue}; it reappears when its lease ends", message.MessageId, queue.Name);
            }
        }
    }

    private async Task MoveToPoisonAsync(QueueFunction function, QueueStore queue, QueueMessage message, Exception? failure)
    {
        var poison = await _storage.QueueAsync(function.PoisonQueue).ConfigureAwait(false);
        // The text is copied unchanged (still base64), so a fixed function can be pointed at the poison queue.
        await poison.SendAsync(message.MessageText, cancellationToken: CancellationToken.None).ConfigureAwait(false);
        await queue.DeleteAsync(message, CancellationToken.None).ConfigureAwait(false);
        _logger.LogError(failure, "Function {Function} failed on message {MessageId} {Attempts} times; moved it to {PoisonQueue}",
            function.Name, message.MessageId, message.DequeueCount, function.PoisonQueue);
    }

    /// <summary>
    /// The trigger parameter as string, BinaryData, byte[], QueueMessage or a JSON POCO, plus the
    /// queue trigger's metadata by name (id, dequeueCount, insertionTime, expirationTime,
    /// nextVisibleTime, popReceipt), as the Functions worker binds them.
    /// </summary>
    private static bool TryBind(QueueFunction function, ParameterInfo parameter, QueueMessage message, byte[] body, out object? value)
    {
        if (parameter == function.Trigger)
        {
            var type = parameter.ParameterType;
            value = type == typeof(string) ? Encoding.UTF8.GetString(body)
                : type == typeof(BinaryData) ? BinaryData.FromBytes(body)
                : type == typeof(byte[]) ? body
                : type == typeof(QueueMessage) ? QueuesModelFactory.QueueMessage(message.MessageId, message.PopReceipt, BinaryData.FromBytes(body), message.DequeueCount, message.NextVisibleOn, message.InsertedOn, message.ExpiresOn)
                : JsonSerializer.Deserialize(body, type, PocoJson);
            return true;
        }
        switch (parameter.Name?.ToLowerInvariant())
        {
            case "id" when parameter.ParameterType == typeof(string):
                value = message.MessageId;
                return true;
            case "popreceipt" when parameter.ParameterType == typeof(string):
                value = message.PopReceipt;
                return true;
            case "dequeuecount" when parameter.ParameterType == typeof(long):
                value = message.DequeueCount;
                return true;
            case "dequeuecount" when parameter.ParameterType == typeof(int):
                value = (int)message.DequeueCount;
                return true;
            case "insertiontime" when IsTime(parameter):
                value = message.InsertedOn;
                return true;
            case "expirationtime" when IsTime(parameter):
                value = message.ExpiresOn;
                return true;
            case "nextvisibletime" when IsTime(parameter):
                value = message.NextVisibleOn;
                return true;
            default:
                value = null;
                return false;
        }
    }

    private static bool IsMetadata(ParameterInfo parameter) => parameter.Name?.ToLowerInvariant() switch
    {
        "id" or "popreceipt" => parameter.ParameterType == typeof(string),
        "dequeuecount" => parameter.ParameterType == typeof(long) || parameter.ParameterType == typeof(int),
        "insertiontime" or "expirationtime" or "nextvisibletime" => IsTime(parameter),
        _ => false,
    };

    private static bool IsTime(ParameterInfo parameter) =>
        parameter.ParameterType == typeof(DateTimeOffset) || parameter.ParameterType == typeof(DateTimeOffset?);

    private static bool IsValidQueueName(string name) =>
        name.Length is >= 3 and <= 63
        && char.IsAsciiLetterOrDigit(name[0]) && char.IsAsciiLetterOrDigit(name[^1])
        && name.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-')
        && !name.Contains("--", StringComparison.Ordinal);
}
