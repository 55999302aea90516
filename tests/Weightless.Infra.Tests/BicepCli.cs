using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Text;
using System.Text.Json.Nodes;

namespace Weightless.Infra.Tests;

/// <summary>Locates the Bicep CLI shipped in the Azure.Bicep.CommandLine.linux-x64 NuGet package.</summary>
internal static class BicepCli
{
    private const string PackageId = "azure.bicep.commandline.linux-x64";

    private static readonly Lazy<string> Executable = new(LocateExecutable);

    public static string ExecutablePath => Executable.Value;

    private static string LocateExecutable()
    {
        var packageRoot = typeof(BicepCli).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "BicepPackageRoot")?.Value;
        var candidates = new List<string>();
        if (!string.IsNullOrEmpty(packageRoot))
        {
            candidates.Add(Path.Combine(packageRoot, "tools", "bicep"));
        }
        // Fallback: the NuGet global packages folder, newest restored version first.
        var nugetRoot = Environment.GetEnvironmentVariable("NUGET_PACKAGES");
        if (string.IsNullOrEmpty(nugetRoot))
        {
            nugetRoot = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        }
        var packageDir = Path.Combine(nugetRoot, PackageId);
        if (Directory.Exists(packageDir))
        {
            candidates.AddRange(Directory.EnumerateDirectories(packageDir)
                .Select(d => (Dir: d, Version: Version.TryParse(Path.GetFileName(d), out var v) ? v : new Version(0, 0)))
                .OrderByDescending(x => x.Version)
                .Select(x => Path.Combine(x.Dir, "tools", "bicep")));
        }

        var path = candidates.FirstOrDefault(File.Exists)
            ?? throw new FileNotFoundException(
                $"Bicep CLI not found (looked in: {string.Join(", ", candidates)}). Run 'dotnet restore tests/Weightless.Infra.Tests'.");

        // NuGet extraction does not always keep the executable bit.
        if (!OperatingSystem.IsWindows())
        {
            var mode = File.GetUnixFileMode(path);
            if ((mode & UnixFileMode.UserExecute) == 0)
            {
                File.SetUnixFileMode(path, mode | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
            }
        }
        return path;
    }
}

/// <summary>
/// A client for "bicep jsonrpc --stdio", the CLI's programmatic interface (JSON-RPC 2.0 with
/// Content-Length framing, as used by Azure.Bicep.RpcClient). One process serves every request:
/// starting the CLI costs 2-4 s of CPU, so a process per file and command would not fit the test
/// time budget on a busy two-core machine. "bicep/compile" runs the same compiler and linter as
/// "bicep build" / "bicep lint" and returns the same diagnostics.
/// </summary>
internal sealed class BicepJsonRpcClient : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Stream _input;
    private readonly Stream _output;
    private readonly StringBuilder _stderr = new();
    private readonly SemaphoreSlim _gate = new(1, 1);
    private int _nextId;

    private BicepJsonRpcClient(Process process)
    {
        _process = process;
        _input = process.StandardInput.BaseStream;
        _output = process.StandardOutput.BaseStream;
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (_stderr)
                {
                    _stderr.AppendLine(e.Data);
                }
            }
        };
        process.BeginErrorReadLine();
    }

    /// <summary>Everything the CLI wrote to stderr so far.</summary>
    public string StandardError
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    public static BicepJsonRpcClient Start(string workingDirectory)
    {
        var startInfo = new ProcessStartInfo(BicepCli.ExecutablePath)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        startInfo.ArgumentList.Add("jsonrpc");
        startInfo.ArgumentList.Add("--stdio");
        // No tracing output, no telemetry, no first-run messages.
        startInfo.Environment["BICEP_TRACING_ENABLED"] = "false";
        startInfo.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        startInfo.Environment["DOTNET_NOLOGO"] = "1";
        var process = Process.Start(startInfo) ?? throw new InvalidOperationException($"Could not start {BicepCli.ExecutablePath}.");
        return new BicepJsonRpcClient(process);
    }

    /// <summary>Sends one request and returns its result; a JSON-RPC error becomes an exception.</summary>
    public async Task<JsonNode> CallAsync(string method, JsonObject parameters, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _gate.WaitAsync(cts.Token).ConfigureAwait(false);
        try
        {
            var id = ++_nextId;
            var request = new JsonObject
            {
                ["jsonrpc"] = "2.0",
                ["id"] = id,
                ["method"] = method,
                ["params"] = parameters,
            };
            var body = Encoding.UTF8.GetBytes(request.ToJsonString());
            var header = Encoding.ASCII.GetBytes($"Content-Length: {body.Length}\r\n\r\n");
            await _input.WriteAsync(header, cts.Token).ConfigureAwait(false);
            await _input.WriteAsync(body, cts.Token).ConfigureAwait(false);
            await _input.FlushAsync(cts.Token).ConfigureAwait(false);

            while (true)
            {
                var message = await ReadMessageAsync(cts.Token).ConfigureAwait(false);
                if (message["id"]?.GetValue<int>() != id)
                {
                    continue; // a notification or a stale reply
                }
                if (message["error"] is { } error)
                {
                    throw new InvalidOperationException($"bicep {method} failed: {error.ToJsonString()}\n{StandardError}");
                }
                return message["result"] ?? throw new InvalidOperationException($"bicep {method} returned no result.");
            }
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            throw new TimeoutException($"bicep {method} did not answer within {timeout}.\n{StandardError}");
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            _input.Close(); // end of input: the server exits
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await _process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException)
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }
        }
        finally
        {
            _process.Dispose();
            _gate.Dispose();
        }
    }

    private async Task<JsonNode> ReadMessageAsync(CancellationToken cancellationToken)
    {
        var contentLength = -1;
        while (true)
        {
            var line = await ReadHeaderLineAsync(cancellationToken).ConfigureAwait(false);
            if (line.Length == 0)
            {
                break;
            }
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0 && line[..colon].Trim().Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
            {
                contentLength = int.Parse(line[(colon + 1)..].Trim(), CultureInfo.InvariantCulture);
            }
        }
        if (contentLength < 0)
        {
            throw new InvalidOperationException($"bicep jsonrpc sent a message without Content-Length.\n{StandardError}");
        }
        var body = new byte[contentLength];
        await _output.ReadExactlyAsync(body, cancellationToken).ConfigureAwait(false);
        return JsonNode.Parse(body) ?? throw new InvalidOperationException("bicep jsonrpc sent an empty message.");
    }

    private async Task<string> ReadHeaderLineAsync(CancellationToken cancellationToken)
    {
        var bytes = new List<byte>();
        var one = new byte[1];
        while (true)
        {
            if (await _output.ReadAsync(one, cancellationToken).ConfigureAwait(false) == 0)
            {
                throw new EndOfStreamException($"bicep jsonrpc exited.\n{StandardError}");
            }
            if (one[0] == (byte)'\n')
            {
                return Encoding.ASCII.GetString(bytes.ToArray()).TrimEnd('\r');
            }
            bytes.Add(one[0]);
        }
    }
}
