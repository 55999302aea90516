using Weightless.Functions;

namespace Weightless.Sweeps;

internal static class Program
{
    private static void Main(string[] args) =>
        FunctionAppHost.Run(args, "weightless-sweeps", SweepsServices.Add);
}
