using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Weightless.Tests.Infrastructure;

namespace Weightless.EndToEnd.Tests.Infrastructure;

/// <summary>A user of the dev host and the API key the W&amp;B clients use for them.</summary>
public sealed record TestUser(string Name, string ApiKey);

/// <summary>
/// The dev host as a real child process (<c>dotnet Weightless.DevHost.dll</c>) on a free port, with
/// its own storage prefix and task hub, so the tests see exactly what a W&amp;B client sees: a
/// socket, HTTP and the stored result. It builds nothing: the DLL comes with the project reference.
/// Stdout/stderr are kept (the last lines) so a failing test can say what the host logged.
/// </summary>
public sealed class DevHostProcess : IAsyncDisposable
{
    private const int KeptOutputLines = 400;
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);

    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();
    private readonly HttpClient _admin;

    private DevHostProcess(Process process, string baseUrl, string adminKey, string prefix)
    {
        _process = process;
        BaseUrl = baseUrl;
        AdminKey = adminKey;
        Prefix = prefix;
        _admin = NewClient(baseUrl, adminKey);
    }

    /// <summary>Like <c>http://127.0.0.1:20451</c> (no trailing slash), what WANDB_BASE_URL is set to.</summary>
    public string BaseUrl { get; }

    /// <summary>The instance administrator's API key.</summary>
    public string AdminKey { get; }

    /// <summary>The storage name prefix (and task hub) of this host.</summary>
    public string Prefix { get; }

    /// <summary>The last lines the host wrote to stdout/stderr.</summary>
    public string Output => string.Join('\n', _output);

    /// <summary>
    /// Starts a host and waits until <c>GET /api/v1/health</c> answers 200. <paramref name="settings"/>
    /// are extra configuration values in environment form (<c>Runs__CrashAfter</c>).
    /// </summary>
    public static async Task<DevHostProcess> StartAsync(IReadOnlyDictionary<string, string>? settings = null, CancellationToken cancellationToken = default)
    {
        var hostDll = Path.Combine(AppContext.BaseDirectory, "Weightless.DevHost.dll");
        if (!File.Exists(hostDll))
        {
            throw new InvalidOperationException($"{hostDll} is missing; the test project must reference functions/devhost.");
        }
        var port = AzuriteFixture.FreePort();
        var baseUrl = $"http://127.0.0.1:{port}";
        var prefix = AzuriteFixture.NewPrefix();
        var adminKey = AzuriteFixture.NewApiKey();
        var start = new ProcessStartInfo(DotnetExecutable())
        {
            ArgumentList = { hostDll },
            WorkingDirectory = AppContext.BaseDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var environment = start.Environment;
        environment.Remove("ASPNETCORE_URLS");
        environment.Remove("ASPNETCORE_ENVIRONMENT");
        environment["Urls"] = baseUrl;
        environment["Storage__ConnectionString"] = AzuriteFixture.ConnectionString;
        environment["Storage__TablePrefix"] = prefix;
        environment["Admin__ApiKey"] = adminKey;
        environment["DevHost__DurableBackend"] = "InMemory";
        environment["DurableTaskHub"] = prefix;
        environment["Logging__LogLevel__Default"] = "Warning";
        environment["Logging__LogLevel__Weightless"] = "Information";
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            environment[key] = value;
        }

        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var host = new DevHostProcess(process, baseUrl, adminKey, prefix);
        process.OutputDataReceived += (_, e) => host.Keep(e.Data);
        process.ErrorDataReceived += (_, e) => host.Keep(e.Data is null ? null : "stderr: " + e.Data);
        if (!process.Start())
        {
            throw new InvalidOperationException("dotnet did not start the dev host.");
        }
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        // A test process that dies without disposing its fixtures must not leave hosts behind.
        AppDomain.CurrentDomain.ProcessExit += (_, _) => host.KillQuietly();
        try
        {
            await host.WaitUntilHealthyAsync(cancellationToken);
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }
        return host;
    }

    /// <summary>A client with Basic <c>api:&lt;key&gt;</c> authentication, as the W&amp;B clients send it.</summary>
    public HttpClient ClientFor(string apiKey) => NewClient(BaseUrl, apiKey);

    /// <summary>A client without credentials (storage URLs carry their own signature).</summary>
    public HttpClient AnonymousClient() => new() { BaseAddress = new Uri(BaseUrl + "/"), Timeout = TimeSpan.FromSeconds(100) };

    /// <summary>Creates a user (as the instance admin) with an email, as the recorded clients' user had, and an API key for them.</summary>
    public async Task<TestUser> CreateUserWithKeyAsync(string name, CancellationToken cancellationToken = default)
    {
        using (var created = await _admin.PostAsJsonAsync("api/v1/admin/users", new { name, email = name + "@example.invalid" }, cancellationToken))
        {
            await EnsureStatusAsync(created, HttpStatusCode.Created, "create user " + name);
        }
        using var keyResponse = await _admin.PostAsync($"api/v1/users/{Uri.EscapeDataString(name)}/keys", content: null, cancellationToken);
        await EnsureStatusAsync(keyResponse, HttpStatusCode.Created, "create a key for " + name);
        var body = JsonNode.Parse(await keyResponse.Content.ReadAsStringAsync(cancellationToken))
            ?? throw new InvalidOperationException("The key response is empty.");
        return new TestUser(name, body["key"]!.GetValue<string>());
    }

    /// <summary>A new user named <c>{purpose}-{8 hex}</c> (purpose: lowercase), so tests sharing a host never share an entity.</summary>
    public Task<TestUser> CreateUniqueUserAsync(string purpose, CancellationToken cancellationToken = default) =>
        CreateUserWithKeyAsync($"{purpose}-{Guid.NewGuid().ToString("N")[..8]}", cancellationToken);

    /// <summary>Appends the host's recent output to a failure message.</summary>
    public string Describe(string message) => $"{message}\n--- dev host output (last lines) ---\n{Output}";

    public async ValueTask DisposeAsync()
    {
        _admin.Dispose();
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
                await _process.WaitForExitAsync(timeout.Token);
            }
        }
        catch (InvalidOperationException)
        {
            // The process already ended.
        }
        catch (OperationCanceledException)
        {
            // It did not end in time after SIGKILL; nothing more can be done from here.
        }
        _process.Dispose();
    }

    private void KillQuietly()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone (or disposed).
        }
    }

    private static HttpClient NewClient(string baseUrl, string apiKey)
    {
        var client = new HttpClient { BaseAddress = new Uri(baseUrl + "/"), Timeout = TimeSpan.FromSeconds(100) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("api:" + apiKey)));
        return client;
    }

    private static string DotnetExecutable()
    {
        // `dotnet test` tells its children where the muxer is; an IDE run falls back to PATH.
        var fromHost = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        return !string.IsNullOrEmpty(fromHost) && File.Exists(fromHost) ? fromHost : "dotnet";
    }

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }
        _output.Enqueue(line);
        while (_output.Count > KeptOutputLines && _output.TryDequeue(out _))
        {
        }
    }

    private async Task WaitUntilHealthyAsync(CancellationToken cancellationToken)
    {
        using var probe = AnonymousClient();
        probe.Timeout = TimeSpan.FromSeconds(5);
        var deadline = DateTime.UtcNow + StartTimeout;
        var last = "no answer";
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException(Describe($"The dev host exited with code {_process.ExitCode} before it was healthy."));
            }
            try
            {
                using var response = await probe.GetAsync("api/v1/health", cancellationToken);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
                last = $"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(cancellationToken)}";
            }
            catch (HttpRequestException ex)
            {
                last = ex.Message;
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                last = "health check timed out";
            }
            await Task.Delay(200, cancellationToken);
        }
        throw new TimeoutException(Describe($"The dev host was not healthy within {StartTimeout.TotalSeconds:0} s (last: {last})."));
    }

    private async Task EnsureStatusAsync(HttpResponseMessage response, HttpStatusCode expected, string what)
    {
        if (response.StatusCode != expected)
        {
            var body = await response.Content.ReadAsStringAsync();
            throw new InvalidOperationException(Describe($"{what}: expected {(int)expected}, got {(int)response.StatusCode}: {body}"));
        }
    }
}
