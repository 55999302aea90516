using Weightless.Bench;

return await BenchCommand.RunAsync(args);
