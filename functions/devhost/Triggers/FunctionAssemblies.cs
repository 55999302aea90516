using System.Reflection;

namespace Weightless.DevHost.Triggers;

/// <summary>
/// The assemblies whose <c>[Function]</c> methods the trigger runners serve: the four apps in the
/// dev host; tests may register their own to run test-only functions.
/// </summary>
internal sealed class FunctionAssemblies(IReadOnlyList<Assembly> assemblies)
{
    public IReadOnlyList<Assembly> Assemblies { get; } = assemblies;

    public IEnumerable<(Type Type, MethodInfo Method, string Name)> Functions()
    {
        foreach (var type in Assemblies.SelectMany(a => a.GetTypes()).Where(t => t.IsClass && !t.IsAbstract))
        {
            foreach (var method in type.GetMethods(BindingFlags.Instance | BindingFlags.Static | BindingFlags.Public))
            {
                if (method.GetCustomAttribute<Microsoft.Azure.Functions.Worker.FunctionAttribute>() is { } function)
                {
                    yield return (type, method, function.Name);
                }
            }
        }
    }
}
