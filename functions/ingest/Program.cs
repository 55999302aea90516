using Weightless.Functions;

namespace Weightless.Ingest;

internal static class Program
{
    private static void Main(string[] args) =>
        FunctionAppHost.Run(args, "weightless-ingest", IngestServices.Add);
}
