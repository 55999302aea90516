using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;

namespace Weightless.Integration.Tests.Durable;

/// <summary>
/// The dev host as a real child process (<c>dotnet Weightless.DevHost.dll</c>), configured only
/// through environment variables, so a test can SIGKILL it mid-orchestration and start it again.
/// </summary>
internal sealed class DevHostProcess : IDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _log = new();

    private DevHostProcess(Process process, string baseAddress)
    {
        _process = process;
        BaseAddress = new Uri(baseAddress);
        _process.OutputDataReceived += (_, e) => Keep(e.Data);
        _process.ErrorDataReceived += (_, e) => Keep(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public Uri BaseAddress { get; }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>The last lines the process wrote, for failure messages.</summary>
    public string RecentOutput => string.Join(Environment.NewLine, _log);

    public static DevHostProcess Start(int port, IReadOnlyDictionary<string, string> environment)
    {
        var dll = DevHostAssemblyPath();
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { dll },
            WorkingDirectory = Path.GetDirectoryName(dll)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var address = $"http://127.0.0.1:{port}";
        start.Environment["Urls"] = address;
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }
        var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start.");
        return new DevHostProcess(process, address);
    }

    /// <summary>Polls GET /api/v1/health until every check (storage and durable) is ok.</summary>
    public async Task WaitUntilHealthyAsync(TimeSpan timeout)
    {
        using var client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(10) };
        var clock = Stopwatch.StartNew();
        var last = "";
        while (clock.Elapsed < timeout)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"The dev host exited with {_process.ExitCode}:{Environment.NewLine}{RecentOutput}");
            }
            try
            {
                using var response = await client.GetAsync("/api/v1/health");
                last = $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}";
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                last = ex.Message;
            }
            await Task.Delay(100);
        }
        throw new TimeoutException($"The dev host was not healthy within {timeout.TotalSeconds} s (last: {last}):{Environment.NewLine}{RecentOutput}");
    }

    /// <summary>SIGKILL: no shutdown hooks, no lease release, no flushing — a crash.</summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }
        _process.WaitForExit(10_000);
    }

    public void Dispose()
    {
        Kill();
        _process.Dispose();
    }

    /// <summary>
    /// The dev host's own build output (its runtimeconfig and appsettings live there), for the same
    /// configuration as the running tests.
    /// </summary>
    private static string DevHostAssemblyPath()
    {
        var local = Path.Combine(AppContext.BaseDirectory, "Weightless.DevHost.dll");
        if (File.Exists(Path.ChangeExtension(local, ".runtimeconfig.json")))
        {
            return local;
        }
        var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent?.Parent?.Name ?? "Debug";
        var framework = new DirectoryInfo(AppContext.BaseDirectory).Name;
        var built = Path.Combine(Weightless.Tests.Infrastructure.AzuriteFixture.RepositoryRoot(), "functions", "devhost", "bin", configuration, framework, "Weightless.DevHost.dll");
        return File.Exists(built) ? built : throw new FileNotFoundException("The dev host is not built.", built);
    }

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }
        _log.Enqueue(line);
        while (_log.Count > 200 && _log.TryDequeue(out _))
        {
        }
    }
}
