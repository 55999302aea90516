using Weightless.Functions;

namespace Weightless.Query;

internal static class Program
{
    private static void Main(string[] args) =>
        FunctionAppHost.Run(args, "weightless-query", QueryServices.Add);
}
