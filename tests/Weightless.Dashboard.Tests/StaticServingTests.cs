using System.Net;
using System.Text.RegularExpressions;
using Weightless.Dashboard.Tests.Infrastructure;

namespace Weightless.Dashboard.Tests;

/// <summary>The query app's Dashboard function: static assets, client-route fallback, and never shadowing the APIs.</summary>
[Collection(DashboardCollection.Name)]
public sealed partial class StaticServingTests(DashboardHost host)
{
    [Theory]
    [InlineData("/")]
    [InlineData("/admin")]
    [InlineData("/admin/my-project")]
    [InlineData("/admin/my-project/runs/abc123/logs")]
    [InlineData("/signin")]
    public async Task ClientRoutesGetIndexHtmlWithoutLongCaching(string path)
    {
        using var response = await host.Http.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("no-cache", response.Headers.CacheControl?.ToString(), StringComparison.Ordinal);
        Assert.Contains("<div id=\"app\">", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task HashedAssetsAreServedWithTheirTypeAndCachedForAYear()
    {
        var html = await host.Http.GetStringAsync("/");
        var assets = AssetReference().Matches(html).Select(m => m.Groups[1].Value).ToList();
        Assert.Contains(assets, a => a.EndsWith(".js", StringComparison.Ordinal));
        Assert.Contains(assets, a => a.EndsWith(".css", StringComparison.Ordinal));
        foreach (var asset in assets)
        {
            using var response = await host.Http.GetAsync(asset);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var expected = asset.EndsWith(".js", StringComparison.Ordinal) ? "text/javascript" : "text/css";
            Assert.Equal(expected, response.Content.Headers.ContentType?.MediaType);
            Assert.Equal("public, max-age=31536000, immutable", response.Headers.CacheControl?.ToString());
            Assert.NotNull(response.Headers.ETag);

            using var conditional = new HttpRequestMessage(HttpMethod.Get, asset);
            conditional.Headers.IfNoneMatch.Add(response.Headers.ETag!);
            using var notModified = await host.Http.SendAsync(conditional);
            Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
        }
    }

    [Theory]
    [InlineData("/api/v1/no-such-route")]
    [InlineData("/api/v2")]
    [InlineData("/graphql")]
    [InlineData("/files/admin/p/r/file_stream")]
    [InlineData("/assets/missing-0000.js")]
    [InlineData("/favicon.ico")]
    [InlineData("/assets/..%2F..%2Fappsettings.json")]
    public async Task ApiPathsAndMissingFilesAre404ProblemsNotTheApp(string path)
    {
        using var response = await host.Http.GetAsync(path);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.DoesNotContain("<div id=\"app\">", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RealApiRoutesStillWin()
    {
        using var health = await host.Http.GetAsync("/api/v1/health");
        Assert.Equal("application/json", health.Content.Headers.ContentType?.MediaType);
        using var viewer = await host.Http.GetAsync("/api/v1/viewer");
        Assert.Equal(HttpStatusCode.Unauthorized, viewer.StatusCode);
        Assert.Equal("application/problem+json", viewer.Content.Headers.ContentType?.MediaType);
    }

    [GeneratedRegex("(?:src|href)=\"(/assets/[^\"]+)\"")]
    private static partial Regex AssetReference();
}
