using System.Reflection;
using System.Runtime.ExceptionServices;
using System.Text.RegularExpressions;

namespace Weightless.DevHost.Triggers;

/// <summary>
/// Calls a non-HTTP function the way the Functions worker does: a fresh DI scope per invocation,
/// the instance built with constructor injection, the trigger parameter bound by the caller, then
/// <see cref="CancellationToken"/> and DI services; Task, ValueTask and their generic forms are awaited.
/// </summary>
internal static partial class FunctionInvoker
{
    /// <summary>Binds the trigger (and trigger metadata) parameters; returns false for parameters it does not bind.</summary>
    public delegate bool TriggerBinder(ParameterInfo parameter, out object? value);

    /// <summary>
    /// Fails fast at start-up for a parameter nothing can bind, instead of on every message.
    /// </summary>
    public static void EnsureBindable(string functionName, MethodInfo method, IServiceProvider services, Func<ParameterInfo, bool> boundByTrigger)
    {
        var isService = services.GetService<IServiceProviderIsService>();
        foreach (var parameter in method.GetParameters())
        {
            if (boundByTrigger(parameter) || parameter.ParameterType == typeof(CancellationToken) || parameter.HasDefaultValue
                || isService?.IsService(parameter.ParameterType) == true)
            {
                continue;
            }
            throw new InvalidOperationException($"Function '{functionName}': parameter '{parameter.Name}' of type {parameter.ParameterType.Name} cannot be bound (not the trigger, its metadata, a CancellationToken or a registered service).");
        }
    }

    public static async Task InvokeAsync(MethodInfo method, IServiceProvider services, TriggerBinder bindTrigger, CancellationToken cancellationToken)
    {
        await using var scope = services.CreateAsyncScope();
        var provider = scope.ServiceProvider;
        var target = method.IsStatic ? null : ActivatorUtilities.CreateInstance(provider, method.DeclaringType!);
        try
        {
            var arguments = method.GetParameters().Select(p => Bind(p, provider, bindTrigger, cancellationToken)).ToArray();
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
            await AwaitResult(returned).ConfigureAwait(false);
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

    /// <summary>
    /// Resolves <c>%Setting%</c> references from configuration, as the Functions host does for
    /// trigger attribute values; a missing setting is an error naming it.
    /// </summary>
    public static string ResolveSettings(string value, IConfiguration configuration, string functionName) =>
        SettingReference().Replace(value, match =>
        {
            var name = match.Groups[1].Value;
            var resolved = configuration[name];
            return string.IsNullOrEmpty(resolved)
                ? throw new InvalidOperationException($"Function '{functionName}' refers to app setting '%{name}%', which is not configured.")
                : resolved;
        });

    private static object? Bind(ParameterInfo parameter, IServiceProvider services, TriggerBinder bindTrigger, CancellationToken cancellationToken)
    {
        if (bindTrigger(parameter, out var value))
        {
            return value;
        }
        if (parameter.ParameterType == typeof(CancellationToken))
        {
            return cancellationToken;
        }
        if (services.GetService(parameter.ParameterType) is { } service)
        {
            return service;
        }
        if (parameter.HasDefaultValue)
        {
            return parameter.DefaultValue;
        }
        throw new InvalidOperationException($"Cannot bind parameter '{parameter.Name}' of {parameter.Member.DeclaringType?.Name}.{parameter.Member.Name}.");
    }

    private static async Task AwaitResult(object? returned)
    {
        switch (returned)
        {
            case Task task:
                await task.ConfigureAwait(false);
                break;
            case ValueTask valueTask:
                await valueTask.ConfigureAwait(false);
                break;
            case not null when returned.GetType() is { IsGenericType: true } type && type.GetGenericTypeDefinition() == typeof(ValueTask<>):
                await ((Task)type.GetMethod(nameof(ValueTask<int>.AsTask))!.Invoke(returned, null)!).ConfigureAwait(false);
                break;
        }
    }

    [GeneratedRegex("%([^%]+)%")]
    private static partial Regex SettingReference();
}
