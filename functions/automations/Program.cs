using Weightless.Functions;

namespace Weightless.Automations;

internal static class Program
{
    private static void Main(string[] args) =>
        FunctionAppHost.Run(args, "weightless-automations", AutomationsServices.Add);
}
