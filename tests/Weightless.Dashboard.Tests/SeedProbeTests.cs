using Weightless.Dashboard.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Weightless.Dashboard.Tests;

[Collection(DashboardCollection.Name)]
public sealed class SeedProbeTests(DashboardHost host, ITestOutputHelper output)
{
    [Fact]
    public async Task Seeded()
    {
        output.WriteLine(host.SeedTimings);
        var r = await host.Http.GetStringAsync("/api/v1/entities/admin/projects/spikes/runs/r0000");
        output.WriteLine(r);
        Assert.Contains("r0000", r, StringComparison.Ordinal);
    }
}
