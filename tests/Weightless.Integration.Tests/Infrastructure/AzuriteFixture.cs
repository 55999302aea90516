using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;

namespace Weightless.Tests.Infrastructure;

/// <summary>
/// The one Azurite the tests of a process share. <c>test.sh</c> starts Azurite once and exports
/// <c>WEIGHTLESS_TEST_STORAGE</c>; without it (an IDE run) the first test that needs storage starts
/// an in-memory Azurite from the repository's node_modules on free ports, stopped at process exit.
/// Tests never share data: each takes its own name prefix from <see cref="NewPrefix"/>.
/// </summary>
public static class AzuriteFixture
{
    public const string EnvironmentVariable = "WEIGHTLESS_TEST_STORAGE";

    // Azurite's well-known development account key (public, documented; not a secret).
    public const string DevAccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private static readonly Lazy<string> Connection = new(StartOrReuse, LazyThreadSafetyMode.ExecutionAndPublication);
    private static Process? _process;

    /// <summary>A full connection string with explicit endpoints.</summary>
    public static string ConnectionString => Connection.Value;

    /// <summary>A unique lowercase prefix for table, container, queue and task-hub names.</summary>
    public static string NewPrefix() => "t" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));

    /// <summary>A fresh API key of the shape the W&amp;B clients accept.</summary>
    public static string NewApiKey() =>
        "wl_" + RandomNumberGenerator.GetString("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 45);

    public static string ConnectionStringFor(int blobPort, int queuePort, int tablePort) =>
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;" +
        $"AccountKey={DevAccountKey};" +
        $"BlobEndpoint=http://127.0.0.1:{blobPort}/devstoreaccount1;" +
        $"QueueEndpoint=http://127.0.0.1:{queuePort}/devstoreaccount1;" +
        $"TableEndpoint=http://127.0.0.1:{tablePort}/devstoreaccount1;";

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>The repository root (the folder holding Serverless.sln).</summary>
    public static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Serverless.sln")))
        {
            directory = directory.Parent;
        }
        return directory?.FullName ?? throw new InvalidOperationException("Cannot find Serverless.sln above " + AppContext.BaseDirectory);
    }

    private static string StartOrReuse()
    {
        var configured = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(configured))
        {
            return configured;
        }
        var azurite = Path.Combine(RepositoryRoot(), "node_modules", ".bin", "azurite");
        if (!File.Exists(azurite))
        {
            throw new InvalidOperationException($"Azurite is not installed at {azurite}; run ./test.sh (it runs npm ci) or set {EnvironmentVariable}.");
        }
        var (blob, queue, table) = (FreePort(), FreePort(), FreePort());
        var start = new ProcessStartInfo(azurite)
        {
            ArgumentList =
            {
                "--inMemoryPersistence", "--skipApiVersionCheck", "--loose", "--silent", "--disableTelemetry",
                "--blobHost", "127.0.0.1", "--queueHost", "127.0.0.1", "--tableHost", "127.0.0.1",
                "--blobPort", blob.ToString(System.Globalization.CultureInfo.InvariantCulture),
                "--queuePort", queue.ToString(System.Globalization.CultureInfo.InvariantCulture),
                "--tablePort", table.ToString(System.Globalization.CultureInfo.InvariantCulture),
            },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        _process = Process.Start(start) ?? throw new InvalidOperationException("Azurite did not start.");
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Stop();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            if (IsListening(blob) && IsListening(queue) && IsListening(table))
            {
                return ConnectionStringFor(blob, queue, table);
            }
            if (_process.HasExited)
            {
                throw new InvalidOperationException("Azurite exited: " + _process.StandardError.ReadToEnd());
            }
            Thread.Sleep(100);
        }
        Stop();
        throw new TimeoutException("Azurite did not open its ports within 60 s.");
    }

    private static bool IsListening(int port)
    {
        try
        {
            using var client = new TcpClient();
            client.Connect(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static void Stop()
    {
        try
        {
            if (_process is { HasExited: false })
            {
                _process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }
}
