using System.Reflection;
using Microsoft.Azure.Functions.Worker;
using Weightless.DevHost;

namespace Weightless.Integration.Tests.Query;

/// <summary>openapi.json and the /api/v1 HTTP functions of the four apps describe the same operations, both ways.</summary>
public sealed class OpenApiCoverageTests
{
    private static readonly string[] Methods = ["get", "post", "put", "patch", "delete"];

    /// <summary>"method /path" for every [Function] whose [HttpTrigger] route starts with api/v1/, as the dev host maps them.</summary>
    private static SortedSet<string> ImplementedOperations()
    {
        var operations = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var method in FunctionApps.Assemblies.SelectMany(a => a.GetTypes()).SelectMany(t => t.GetMethods(BindingFlags.Instance | BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic)))
        {
            if (method.GetCustomAttribute<FunctionAttribute>() is null)
            {
                continue;
            }
            var trigger = method.GetParameters().Select(p => p.GetCustomAttribute<HttpTriggerAttribute>()).FirstOrDefault(a => a is not null);
            if (trigger?.Route is not { } route || !route.StartsWith("api/v1/", StringComparison.Ordinal))
            {
                continue;
            }
            foreach (var verb in trigger.Methods ?? [])
            {
                operations.Add($"{verb.ToLowerInvariant()} /{route}");
            }
        }
        return operations;
    }

    private static SortedSet<string> DocumentedOperations()
    {
        using var document = QueryApiTests.OpenApi();
        var operations = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var path in document.RootElement.GetProperty("paths").EnumerateObject())
        {
            foreach (var operation in path.Value.EnumerateObject().Where(o => Methods.Contains(o.Name)))
            {
                operations.Add($"{operation.Name} {path.Name}");
            }
        }
        return operations;
    }

    [Fact]
    public void Every_api_v1_function_is_documented_and_every_documented_operation_is_a_function()
    {
        var implemented = ImplementedOperations();
        var documented = DocumentedOperations();
        Assert.True(implemented.Count >= 50, $"only {implemented.Count} /api/v1 functions found by reflection");
        Assert.True(implemented.SetEquals(documented),
            "undocumented functions: " + string.Join(", ", implemented.Except(documented)) +
            "; documented operations without a function: " + string.Join(", ", documented.Except(implemented)));
    }
}
