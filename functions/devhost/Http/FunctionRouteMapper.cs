using System.Globalization;
using System.Reflection;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Abstractions;
using Microsoft.AspNetCore.Mvc.Infrastructure;
using Microsoft.AspNetCore.Routing;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using Weightless.Core.Errors;

namespace Weightless.DevHost.Http;

/// <summary>
/// Serves every <c>[Function]</c> + <c>[HttpTrigger]</c> method of the Function app assemblies as
/// a minimal-API endpoint. The attributes are the only route table: a function gets the same
/// path here as under the Functions host with an empty route prefix.
/// </summary>
internal static class FunctionRouteMapper
{
    internal sealed record HttpFunction(string Name, MethodInfo Method, string Route, string[] Verbs);

    public static IReadOnlyList<HttpFunction> Discover(IEnumerable<Assembly> assemblies)
    {
        var functions = new List<HttpFunction>();
        foreach (var type in assemblies.SelectMany(a => a.GetTypes()).Where(t => t.IsClass && !t.IsAbstract))
        {
            foreach (var method in type.GetMethods(BindingFlags.Instance | BindingFlags.Static | BindingFlags.Public))
            {
                var function = method.GetCustomAttribute<FunctionAttribute>();
                var trigger = method.GetParameters().Select(p => p.GetCustomAttribute<HttpTriggerAttribute>()).FirstOrDefault(a => a is not null);
                if (function is null || trigger is null)
                {
                    continue;
                }
                var route = trigger.Route ?? function.Name;
                var verbs = (trigger.Methods ?? ["get", "post"]).Select(m => m.ToUpperInvariant()).ToArray();
                functions.Add(new HttpFunction(function.Name, method, route, verbs));
            }
        }
        return functions;
    }

    public static IEndpointRouteBuilder MapFunctions(this IEndpointRouteBuilder endpoints, IEnumerable<Assembly> assemblies)
    {
        foreach (var function in Discover(assemblies))
        {
            endpoints.MapMethods("/" + function.Route, function.Verbs, context => InvokeAsync(function, context))
                .WithName(function.Name)
                .WithDisplayName(function.Name);
        }
        return endpoints;
    }

    private static async Task InvokeAsync(HttpFunction function, HttpContext context)
    {
        var services = context.RequestServices;
        try
        {
            var target = function.Method.IsStatic ? null : ActivatorUtilities.CreateInstance(services, function.Method.DeclaringType!);
            var arguments = function.Method.GetParameters().Select(p => Bind(p, context)).ToArray();
            object? returned;
            try
            {
                returned = function.Method.Invoke(target, arguments);
            }
            catch (TargetInvocationException ex) when (ex.InnerException is not null)
            {
                throw ex.InnerException;
            }
            var result = await Unwrap(returned).ConfigureAwait(false);
            await ExecuteAsync(result, context).ConfigureAwait(false);
        }
        catch (Exception ex) when (!context.Response.HasStarted)
        {
            var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger("Weightless.DevHost.Functions");
            await ProblemMapper.ToResult(ex, context, logger).ExecuteAsync(context).ConfigureAwait(false);
        }
    }

    private static object? Bind(ParameterInfo parameter, HttpContext context)
    {
        var type = parameter.ParameterType;
        if (type == typeof(HttpRequest))
        {
            return context.Request;
        }
        if (type == typeof(HttpContext))
        {
            return context;
        }
        if (type == typeof(CancellationToken))
        {
            return context.RequestAborted;
        }
        if (parameter.GetCustomAttribute<DurableClientAttribute>() is not null || type == typeof(DurableTaskClient))
        {
            return context.RequestServices.GetRequiredService<DurableTaskClient>();
        }
        if (parameter.Name is { } name && context.Request.RouteValues.TryGetValue(name, out var routeValue))
        {
            return ConvertRouteValue(routeValue?.ToString(), type, name);
        }
        if (context.RequestServices.GetService(type) is { } service)
        {
            return service;
        }
        if (parameter.HasDefaultValue)
        {
            return parameter.DefaultValue;
        }
        throw new InvalidOperationException($"Cannot bind parameter '{parameter.Name}' of {parameter.Member.DeclaringType?.Name}.{parameter.Member.Name}.");
    }

    private static object? ConvertRouteValue(string? value, Type type, string name)
    {
        if (value is null || type == typeof(string))
        {
            return value is null ? null : Uri.UnescapeDataString(value);
        }
        var target = Nullable.GetUnderlyingType(type) ?? type;
        try
        {
            return Convert.ChangeType(value, target, CultureInfo.InvariantCulture);
        }
        catch (Exception ex) when (ex is FormatException or OverflowException or InvalidCastException)
        {
            throw new ValidationFailedException($"Route value '{name}' must be a {target.Name}.", name);
        }
    }

    private static async Task<object?> Unwrap(object? returned)
    {
        if (returned is not Task task)
        {
            return returned;
        }
        await task.ConfigureAwait(false);
        var resultProperty = task.GetType().GetProperty("Result");
        return resultProperty is null || resultProperty.PropertyType.Name == "VoidTaskResult" ? null : resultProperty.GetValue(task);
    }

    private static async Task ExecuteAsync(object? result, HttpContext context)
    {
        switch (result)
        {
            case IResult http:
                await http.ExecuteAsync(context).ConfigureAwait(false);
                break;
            case IActionResult action:
                var actionContext = new ActionContext(context, context.GetRouteData(), new ActionDescriptor());
                await action.ExecuteResultAsync(actionContext).ConfigureAwait(false);
                break;
            case null:
                context.Response.StatusCode = StatusCodes.Status204NoContent;
                break;
            default:
                await context.Response.WriteAsJsonAsync(result, result.GetType()).ConfigureAwait(false);
                break;
        }
    }
}
