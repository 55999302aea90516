using System.Reflection;
using System.Runtime.ExceptionServices;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;

namespace Weightless.DevHost.Durable;

internal enum DurableFunctionKind
{
    Orchestrator,
    Activity,
}

/// <summary>A <c>[Function]</c> the durable worker runs: an orchestrator or an activity.</summary>
internal sealed record DurableFunction(string Name, DurableFunctionKind Kind, MethodInfo Method, Type? InputType, Type? OutputType);

/// <summary>
/// Finds the Functions-style orchestrators (<c>[Function]</c> + <c>[OrchestrationTrigger]
/// TaskOrchestrationContext</c>, static) and activities (<c>[Function]</c> + <c>[ActivityTrigger]</c>,
/// instance methods built with DI) of the Function app assemblies, and registers them with the
/// Durable Task worker under their function names — the names the Functions host would use, so
/// <c>CallActivityAsync(nameof(X))</c> means the same thing in both hosts. Methods that could not
/// run the same way in both hosts are rejected at start-up.
/// </summary>
internal static class DurableFunctionRegistration
{
    public static IReadOnlyList<DurableFunction> Discover(IEnumerable<Assembly> assemblies) =>
        Discover(assemblies.SelectMany(a => a.GetTypes()));

    public static IReadOnlyList<DurableFunction> Discover(IEnumerable<Type> types)
    {
        var functions = new List<DurableFunction>();
        var errors = new List<string>();
        const BindingFlags methods = BindingFlags.Instance | BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly;
        foreach (var type in types.Where(t => t.IsClass))
        {
            foreach (var method in type.GetMethods(methods))
            {
                var function = method.GetCustomAttribute<FunctionAttribute>();
                if (function is null)
                {
                    continue;
                }
                var parameters = method.GetParameters();
                var orchestration = parameters.FirstOrDefault(p => p.GetCustomAttribute<OrchestrationTriggerAttribute>() is not null);
                var activity = parameters.FirstOrDefault(p => p.GetCustomAttribute<ActivityTriggerAttribute>() is not null);
                if (orchestration is null && activity is null)
                {
                    continue;
                }
                var where = $"{type.FullName}.{method.Name} ([Function(\"{function.Name}\")])";
                if (parameters.FirstOrDefault(p => p.ParameterType == typeof(FunctionContext)) is { } context)
                {
                    errors.Add($"{where} takes FunctionContext '{context.Name}'. Weightless functions must not use FunctionContext: it exists only under the Functions host, so the dev host cannot run them. Take the trigger input (and a CancellationToken) only and get services through the constructor.");
                    continue;
                }
                if (orchestration is not null)
                {
                    if (Orchestrator(where, method, parameters, orchestration, errors) is { } orchestrator)
                    {
                        functions.Add(orchestrator with { Name = function.Name });
                    }
                }
                else if (Activity(where, method, parameters, activity!, errors) is { } found)
                {
                    functions.Add(found with { Name = function.Name });
                }
            }
        }
        foreach (var duplicate in functions.GroupBy(f => f.Name, StringComparer.OrdinalIgnoreCase).Where(g => g.Count() > 1))
        {
            errors.Add($"Durable function name '{duplicate.Key}' is used by {string.Join(" and ", duplicate.Select(f => f.Method.DeclaringType?.FullName + "." + f.Method.Name))}.");
        }
        if (errors.Count > 0)
        {
            throw new InvalidOperationException("Durable functions that cannot run in the dev host:" + Environment.NewLine + string.Join(Environment.NewLine, errors.Select(e => " - " + e)));
        }
        return functions;
    }

    /// <summary>Adds every function to the worker's registry under its function name.</summary>
    public static void Register(DurableTaskRegistry registry, IEnumerable<DurableFunction> functions, DataConverter converter, ILoggerFactory loggerFactory)
    {
        foreach (var function in functions)
        {
            if (function.Kind == DurableFunctionKind.Orchestrator)
            {
                registry.AddOrchestrator(function.Name, () => new FunctionOrchestrator(function, converter, loggerFactory));
            }
            else
            {
                registry.AddActivity(function.Name, services => new FunctionActivity(function, services));
            }
        }
    }

    private static DurableFunction? Orchestrator(string where, MethodInfo method, ParameterInfo[] parameters, ParameterInfo trigger, List<string> errors)
    {
        if (!method.IsStatic)
        {
            errors.Add($"{where} is an orchestrator but not static. Orchestrators must be static methods that use only their TaskOrchestrationContext (deterministic replay).");
            return null;
        }
        if (trigger.ParameterType != typeof(TaskOrchestrationContext) || parameters.Length != 1)
        {
            errors.Add($"{where} must take exactly one parameter, '[OrchestrationTrigger] TaskOrchestrationContext', and read its input with GetInput<T>().");
            return null;
        }
        return new DurableFunction("", DurableFunctionKind.Orchestrator, method, null, ResultType(method.ReturnType));
    }

    private static DurableFunction? Activity(string where, MethodInfo method, ParameterInfo[] parameters, ParameterInfo trigger, List<string> errors)
    {
        var others = parameters.Where(p => p != trigger && p.ParameterType != typeof(CancellationToken)).ToList();
        if (others.Count > 0)
        {
            errors.Add($"{where} is an activity with parameters the dev host cannot bind ({string.Join(", ", others.Select(p => p.ParameterType.Name + " " + p.Name))}). Take only the [ActivityTrigger] input and optionally a CancellationToken; get services through the constructor.");
            return null;
        }
        if (!method.IsStatic && (method.DeclaringType is null || method.DeclaringType.IsAbstract))
        {
            errors.Add($"{where} is an instance activity on a type that cannot be constructed.");
            return null;
        }
        return new DurableFunction("", DurableFunctionKind.Activity, method, trigger.ParameterType, ResultType(method.ReturnType));
    }

    /// <summary>The value a method produces once awaited: T for Task&lt;T&gt;/ValueTask&lt;T&gt;, null for Task/void.</summary>
    private static Type? ResultType(Type returnType)
    {
        if (returnType == typeof(void) || returnType == typeof(Task) || returnType == typeof(ValueTask))
        {
            return null;
        }
        if (returnType.IsGenericType && (returnType.GetGenericTypeDefinition() == typeof(Task<>) || returnType.GetGenericTypeDefinition() == typeof(ValueTask<>)))
        {
            return returnType.GetGenericArguments()[0];
        }
        return returnType;
    }

    /// <summary>
    /// Invokes a function method and awaits whatever it returns, rethrowing its own exception (not a
    /// TargetInvocationException). Every await here resumes on the captured context: an orchestrator
    /// runs on the worker's single-threaded orchestration context, and its result must be produced
    /// there, inside the same execution episode — resuming on the thread pool would leave the
    /// orchestration Running forever.
    /// </summary>
    internal static async Task<object?> InvokeAsync(MethodInfo method, object? target, object?[] arguments)
    {
        object? returned;
        try
        {
            returned = method.Invoke(target, arguments);
        }
        catch (TargetInvocationException ex) when (ex.InnerException is not null)
        {
            ExceptionDispatchInfo.Capture(ex.InnerException).Throw();
            throw;
        }
        switch (returned)
        {
            case Task task:
                await task.ConfigureAwait(true);
                return ResultType(method.ReturnType) is null ? null : task.GetType().GetProperty(nameof(Task<int>.Result))!.GetValue(task);
            case ValueTask valueTask:
                await valueTask.ConfigureAwait(true);
                return null;
            case not null when returned.GetType().IsGenericType && returned.GetType().GetGenericTypeDefinition() == typeof(ValueTask<>):
                var asTask = (Task)returned.GetType().GetMethod(nameof(ValueTask<int>.AsTask))!.Invoke(returned, null)!;
                await asTask.ConfigureAwait(true);
                return asTask.GetType().GetProperty(nameof(Task<int>.Result))!.GetValue(asTask);
            default:
                return returned;
        }
    }

    private sealed class FunctionOrchestrator(DurableFunction function, DataConverter converter, ILoggerFactory loggerFactory) : ITaskOrchestrator
    {
        // Function-style orchestrators read their input with GetInput<T>(), so the worker hands over
        // the raw value and FunctionOrchestrationContext converts it on request.
        public Type InputType => typeof(object);

        public Type OutputType => function.OutputType ?? typeof(object);

        public Task<object?> RunAsync(TaskOrchestrationContext context, object? input) =>
            InvokeAsync(function.Method, null, [new FunctionOrchestrationContext(context, converter, loggerFactory)]);
    }

    private sealed class FunctionActivity(DurableFunction function, IServiceProvider services) : ITaskActivity
    {
        // The worker deserializes the activity input to the [ActivityTrigger] parameter's type.
        public Type InputType => function.InputType ?? typeof(object);

        public Type OutputType => function.OutputType ?? typeof(object);

        public async Task<object?> RunAsync(TaskActivityContext context, object? input)
        {
            var method = function.Method;
            var stopping = services.GetService<IHostApplicationLifetime>()?.ApplicationStopping ?? CancellationToken.None;
            var arguments = method.GetParameters()
                .Select(p => p.ParameterType == typeof(CancellationToken) && p.GetCustomAttribute<ActivityTriggerAttribute>() is null ? (object?)stopping : input)
                .ToArray();
            var target = method.IsStatic ? null : ActivatorUtilities.CreateInstance(services, method.DeclaringType!);
            try
            {
                return await InvokeAsync(method, target, arguments).ConfigureAwait(false);
            }
            finally
            {
                switch (target)
                {
                    case IAsyncDisposable asyncDisposable:
                        await asyncDisposable.DisposeAsync().ConfigureAwait(false);
                        break;
                    case IDisposable disposable:
                        disposable.Dispose();
                        break;
                }
            }
        }
    }
}
