using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Weightless.Core.Storage;
using Weightless.DevHost;
using Weightless.DevHost.Durable;
using Weightless.Sweeps.Diagnostics;

namespace Weightless.Integration.Tests.Durable;

public sealed class DurableFunctionRegistrationTests
{
    [Fact]
    public void Finds_the_self_check_orchestrator_and_activity_in_the_function_apps()
    {
        var functions = DurableFunctionRegistration.Discover(FunctionApps.Assemblies).ToDictionary(f => f.Name);

        var orchestrator = functions[nameof(DurableSelfCheck)];
        Assert.Equal(DurableFunctionKind.Orchestrator, orchestrator.Kind);
        Assert.Equal(typeof(SelfCheckResult), orchestrator.OutputType);

        var activity = functions[nameof(DurableSelfCheckStep)];
        Assert.Equal(DurableFunctionKind.Activity, activity.Kind);
        Assert.Equal(typeof(SelfCheckStepInput), activity.InputType);
        Assert.Equal(typeof(int), activity.OutputType);
    }

    [Fact]
    public void Rejects_a_function_taking_FunctionContext_naming_it()
    {
        var error = Assert.Throws<InvalidOperationException>(() => DurableFunctionRegistration.Discover([typeof(ActivityWithFunctionContext)]));
        Assert.Contains(nameof(ActivityWithFunctionContext.Run), error.Message);
        Assert.Contains("must not use FunctionContext", error.Message);
    }

    [Fact]
    public void Rejects_an_instance_orchestrator()
    {
        var error = Assert.Throws<InvalidOperationException>(() => DurableFunctionRegistration.Discover([typeof(InstanceOrchestrator)]));
        Assert.Contains("not static", error.Message);
    }

    [Fact]
    public void Rejects_an_activity_with_parameters_it_cannot_bind()
    {
        var error = Assert.Throws<InvalidOperationException>(() => DurableFunctionRegistration.Discover([typeof(ActivityWithServiceParameter)]));
        Assert.Contains("cannot bind", error.Message);
    }

    [Fact]
    public async Task Registered_functions_run_on_the_worker_with_typed_input_and_DI()
    {
        var functions = DurableFunctionRegistration.Discover([typeof(GreetingFunctions), typeof(Shout)]);
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddOptions<DevHostOptions>().Configure(o => o.DurableBackend = "InMemory");
        builder.Services.AddOptions<StorageOptions>();
        builder.Services.AddSingleton(new Punctuation("!"));
        builder.Services.AddDurableFunctions(functions);
        using var host = builder.Build();
        await host.StartAsync();
        try
        {
            var client = host.Services.GetRequiredService<DurableTaskClient>();
            var instanceId = await client.ScheduleNewOrchestrationInstanceAsync(nameof(GreetingFunctions.Greet), new Greeting("ada", 2));
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            var done = await client.WaitForInstanceCompletionAsync(instanceId, getInputsAndOutputs: true, timeout.Token);

            Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
            Assert.Equal("HELLO ADA! HELLO ADA!", done.ReadOutputAs<string>());
        }
        finally
        {
            await host.StopAsync();
        }
    }

    internal sealed record Greeting(string Name, int Times);

    internal sealed record Punctuation(string Mark);

    internal static class GreetingFunctions
    {
        [Function(nameof(Greet))]
        public static async Task<string> Greet([OrchestrationTrigger] TaskOrchestrationContext ctx)
        {
            // A typed GetInput<T> on a function-style orchestrator: the case the context wrapper exists for.
            var greeting = ctx.GetInput<Greeting>()!;
            var parts = new List<string>();
            for (var i = 0; i < greeting.Times; i++)
            {
                parts.Add(await ctx.CallActivityAsync<string>(nameof(Shout), greeting.Name));
            }
            return string.Join(" ", parts);
        }
    }

    internal sealed class Shout(Punctuation punctuation)
    {
        [Function(nameof(Shout))]
        public Task<string> Run([ActivityTrigger] string name, CancellationToken cancellationToken) =>
            Task.FromResult($"HELLO {name.ToUpperInvariant()}{punctuation.Mark}");
    }

    internal sealed class ActivityWithFunctionContext
    {
        [Function("UsesContext")]
        public Task Run([ActivityTrigger] string input, FunctionContext context) => Task.CompletedTask;
    }

    internal sealed class InstanceOrchestrator
    {
        [Function("InstanceOrchestrator")]
        public Task Run([OrchestrationTrigger] TaskOrchestrationContext ctx) => Task.CompletedTask;
    }

    internal sealed class ActivityWithServiceParameter
    {
        [Function("TakesService")]
        public Task Run([ActivityTrigger] string input, Punctuation punctuation) => Task.CompletedTask;
    }
}
