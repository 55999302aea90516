namespace Weightless.EndToEnd.Tests.Infrastructure;

/// <summary>
/// One dev host shared by the tests of a class (starting one costs seconds). Tests stay
/// independent by each creating its own user, i.e. its own entity.
/// </summary>
public sealed class DevHostFixture : IAsyncLifetime
{
    private DevHostProcess? _host;

    public DevHostProcess Host => _host ?? throw new InvalidOperationException("The dev host has not started.");

    public async Task InitializeAsync() => _host = await DevHostProcess.StartAsync();

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }
    }
}
