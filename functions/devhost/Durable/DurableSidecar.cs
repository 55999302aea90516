using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using DurableTask.AzureStorage;
using DurableTask.Core;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.DurableTask.Testing.Sidecar;
using Microsoft.DurableTask.Testing.Sidecar.Grpc;
using Microsoft.Extensions.Options;
using Weightless.Core.Storage;

namespace Weightless.DevHost.Durable;

/// <summary>
/// Where the sidecar listens: <c>DevHost:DurableSidecarPort</c>, or a free loopback port chosen once
/// per process. Resolved lazily (not while services are registered) so configuration added by a
/// test host after registration is honoured.
/// </summary>
internal sealed class DurableSidecarEndpoint
{
    public DurableSidecarEndpoint(IOptions<DevHostOptions> options)
    {
        Port = options.Value.DurableSidecarPort > 0 ? options.Value.DurableSidecarPort : FreeLoopbackPort();
        Address = $"http://127.0.0.1:{Port}";
    }

    public int Port { get; }

    public string Address { get; }

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>Which durable backend the sidecar serves, and its settings (from configuration).</summary>
internal sealed partial class DurableBackendSettings
{
    public const string AzureStorage = "AzureStorage";
    public const string InMemory = "InMemory";

    public DurableBackendSettings(IOptions<DevHostOptions> devHost, IOptions<StorageOptions> storage, IConfiguration configuration)
    {
        Backend = devHost.Value.DurableBackend;
        if (!string.Equals(Backend, AzureStorage, StringComparison.OrdinalIgnoreCase) && !string.Equals(Backend, InMemory, StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidOperationException($"DevHost:DurableBackend must be '{AzureStorage}' or '{InMemory}', not '{Backend}'.");
        }
        Storage = storage.Value;
        MessageVisibilityTimeout = devHost.Value.DurableMessageVisibilityTimeout;
        var hub = configuration["DurableTaskHub"];
        TaskHubName = storage.Value.TablePrefix + (string.IsNullOrWhiteSpace(hub) ? "weightless" : hub.Trim());
        if (!TaskHubNamePattern().IsMatch(TaskHubName))
        {
            throw new InvalidOperationException(
                $"The durable task hub name '{TaskHubName}' (Storage:TablePrefix + DurableTaskHub) must be 3–45 letters and digits, starting with a letter.");
        }
    }

    public string Backend { get; }

    public bool IsInMemory => string.Equals(Backend, InMemory, StringComparison.OrdinalIgnoreCase);

    public string TaskHubName { get; }

    public StorageOptions Storage { get; }

    public TimeSpan MessageVisibilityTimeout { get; }

    [GeneratedRegex("^[A-Za-z][A-Za-z0-9]{2,44}$")]
    private static partial Regex TaskHubNamePattern();
}

/// <summary>
/// The Durable Task gRPC sidecar of the dev host: the public <see cref="TaskHubGrpcServer"/> of
/// Microsoft.DurableTask.InProcessTestHost served by its own Kestrel (HTTP/2, loopback only) over
/// either <see cref="AzureStorageOrchestrationService"/> on the same storage account as core
/// (persistent: tables, queues and blobs named after the task hub, the layout Durable Functions uses
/// in Azure) or the in-memory service (fast tests). The normal Worker.Grpc / Client.Grpc packages
/// connect to it, so orchestrators and activities run on the real worker SDK. Local-only: in Azure,
/// the Durable Functions extension is the host. The preview package is used only in this file, so
/// it can be swapped without touching anything else.
/// </summary>
internal sealed class DurableSidecar(
    DurableBackendSettings settings,
    DurableSidecarEndpoint endpoint,
    ILoggerFactory loggerFactory,
    ILogger<DurableSidecar> logger) : IHostedService, IAsyncDisposable
{
    private WebApplication? _server;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var started = System.Diagnostics.Stopwatch.StartNew();
        var service = await CreateOrchestrationServiceAsync(cancellationToken).ConfigureAwait(false);

        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.Services.AddSingleton(loggerFactory);
        builder.Services.AddLogging();
        builder.Services.AddRouting();
        builder.Services.AddGrpc();
        builder.Services.AddSingleton<IOrchestrationService>(new StartStopGuard(service));
        builder.Services.AddSingleton((IOrchestrationServiceClient)service);
        builder.Services.Configure<ConsoleLifetimeOptions>(options => options.SuppressStatusMessages = true);
        builder.Services.AddSingleton<TaskHubGrpcServer>();
        builder.WebHost.UseKestrelCore();
        builder.WebHost.ConfigureKestrel(kestrel =>
            kestrel.Listen(IPAddress.Loopback, endpoint.Port, listen => listen.Protocols = HttpProtocols.Http2));
        var server = builder.Build();
        server.UseRouting();
        server.MapGrpcService<TaskHubGrpcServer>();
        await server.StartAsync(cancellationToken).ConfigureAwait(false);
        _server = server;
        logger.LogInformation(
            "Durable sidecar ({Backend}, task hub {TaskHub}) listening on {Address} after {Elapsed} ms",
            settings.Backend, settings.TaskHubName, endpoint.Address, started.ElapsedMilliseconds);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_server is not null)
        {
            await _server.StopAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync().ConfigureAwait(false);
            _server = null;
        }
    }

    private async Task<IOrchestrationService> CreateOrchestrationServiceAsync(CancellationToken cancellationToken)
    {
        if (settings.IsInMemory)
        {
            return new InMemoryOrchestrationService(loggerFactory);
        }
        var storage = settings.Storage;
        // Same account as core. With an account name (identity, as in Azure) the provider uses the
        // same DefaultAzureCredential core uses; otherwise the connection string (Azurite locally).
        var clients = string.IsNullOrEmpty(storage.AccountName)
            ? new StorageAccountClientProvider(storage.ConnectionString)
            : new StorageAccountClientProvider(storage.AccountName, new Azure.Identity.DefaultAzureCredential());
        var service = new AzureStorageOrchestrationService(new AzureStorageOrchestrationServiceSettings
        {
            StorageAccountClientProvider = clients,
            TaskHubName = settings.TaskHubName,
            PartitionCount = 1,
            MaxQueuePollingInterval = TimeSpan.FromMilliseconds(500),
            // The sidecar does not renew message leases, and a killed dev host leaves its in-flight
            // messages invisible for this long; the Durable Functions default (5 min) would stall a
            // restarted dev host for minutes. Activities running longer than this may run again.
            WorkItemQueueVisibilityTimeout = settings.MessageVisibilityTimeout,
            ControlQueueVisibilityTimeout = settings.MessageVisibilityTimeout,
            // One dev host owns the single partition. A killed one cannot release its lease, so the
            // restarted one waits for it to expire: keep that short (15 s is the shortest lease Azure
            // Storage grants) and look for it often.
            LeaseInterval = TimeSpan.FromSeconds(15),
            LeaseRenewInterval = TimeSpan.FromSeconds(5),
            LeaseAcquireInterval = TimeSpan.FromSeconds(2),
            LoggerFactory = loggerFactory,
        });
        await service.CreateIfNotExistsAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        return service;
    }
}

/// <summary>
/// Passes everything through to the backend, except that it stops the backend only if it was
/// started. The sidecar starts the backend when the first worker connects and stops it when its
/// host stops, from an <c>async void</c> handler; a host stopped before any worker connected would
/// otherwise stop a never-started <see cref="AzureStorageOrchestrationService"/>, whose
/// NullReferenceException would end the process.
/// </summary>
internal sealed class StartStopGuard(IOrchestrationService inner) : IOrchestrationService
{
    private int _started;

    public int TaskOrchestrationDispatcherCount => inner.TaskOrchestrationDispatcherCount;

    public int MaxConcurrentTaskOrchestrationWorkItems => inner.MaxConcurrentTaskOrchestrationWorkItems;

    public BehaviorOnContinueAsNew EventBehaviourForContinueAsNew => inner.EventBehaviourForContinueAsNew;

    public int TaskActivityDispatcherCount => inner.TaskActivityDispatcherCount;

    public int MaxConcurrentTaskActivityWorkItems => inner.MaxConcurrentTaskActivityWorkItems;

    public async Task StartAsync()
    {
        await inner.StartAsync().ConfigureAwait(false);
        Interlocked.Exchange(ref _started, 1);
    }

    public Task StopAsync() => StopAsync(false);

    public Task StopAsync(bool isForced) =>
        Interlocked.Exchange(ref _started, 0) == 1 ? inner.StopAsync(isForced) : Task.CompletedTask;

    public Task CreateAsync() => inner.CreateAsync();

    public Task CreateAsync(bool recreateInstanceStore) => inner.CreateAsync(recreateInstanceStore);

    public Task CreateIfNotExistsAsync() => inner.CreateIfNotExistsAsync();

    public Task DeleteAsync() => inner.DeleteAsync();

    public Task DeleteAsync(bool deleteInstanceStore) => inner.DeleteAsync(deleteInstanceStore);

    public bool IsMaxMessageCountExceeded(int currentMessageCount, OrchestrationRuntimeState runtimeState) =>
        inner.IsMaxMessageCountExceeded(currentMessageCount, runtimeState);

    public int GetDelayInSecondsAfterOnProcessException(Exception exception) => inner.GetDelayInSecondsAfterOnProcessException(exception);

    public int GetDelayInSecondsAfterOnFetchException(Exception exception) => inner.GetDelayInSecondsAfterOnFetchException(exception);

    public Task<TaskOrchestrationWorkItem> LockNextTaskOrchestrationWorkItemAsync(TimeSpan receiveTimeout, CancellationToken cancellationToken) =>
        inner.LockNextTaskOrchestrationWorkItemAsync(receiveTimeout, cancellationToken);

    public Task RenewTaskOrchestrationWorkItemLockAsync(TaskOrchestrationWorkItem workItem) => inner.RenewTaskOrchestrationWorkItemLockAsync(workItem);

    public Task CompleteTaskOrchestrationWorkItemAsync(
        TaskOrchestrationWorkItem workItem,
        OrchestrationRuntimeState newOrchestrationRuntimeState,
        IList<TaskMessage> outboundMessages,
        IList<TaskMessage> orchestratorMessages,
        IList<TaskMessage> timerMessages,
        TaskMessage continuedAsNewMessage,
        OrchestrationState orchestrationState) =>
        inner.CompleteTaskOrchestrationWorkItemAsync(workItem, newOrchestrationRuntimeState, outboundMessages, orchestratorMessages, timerMessages, continuedAsNewMessage, orchestrationState);

    public Task AbandonTaskOrchestrationWorkItemAsync(TaskOrchestrationWorkItem workItem) => inner.AbandonTaskOrchestrationWorkItemAsync(workItem);

    public Task ReleaseTaskOrchestrationWorkItemAsync(TaskOrchestrationWorkItem workItem) => inner.ReleaseTaskOrchestrationWorkItemAsync(workItem);

    public Task<TaskActivityWorkItem> LockNextTaskActivityWorkItem(TimeSpan receiveTimeout, CancellationToken cancellationToken) =>
        inner.LockNextTaskActivityWorkItem(receiveTimeout, cancellationToken);

    public Task<TaskActivityWorkItem> RenewTaskActivityWorkItemLockAsync(TaskActivityWorkItem workItem) => inner.RenewTaskActivityWorkItemLockAsync(workItem);

    public Task CompleteTaskActivityWorkItemAsync(TaskActivityWorkItem workItem, TaskMessage responseMessage) =>
        inner.CompleteTaskActivityWorkItemAsync(workItem, responseMessage);

    public Task AbandonTaskActivityWorkItemAsync(TaskActivityWorkItem workItem) => inner.AbandonTaskActivityWorkItemAsync(workItem);
}
