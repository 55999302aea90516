using Weightless.Bench;
using Weightless.Core.Hosting;

// As every host of the service code does (the figures are the service's).
ThreadPoolFloor.Apply();
return await BenchCommand.RunAsync(args);
