using System.Text;
using System.Text.Json;

namespace Weightless.Integration.Tests.Artifacts;

/// <summary>Versions and aliases under concurrent writers.</summary>
public sealed class ArtifactConcurrencyTests(ArtifactTestHost host) : IClassFixture<ArtifactTestHost>
{
    private const string AddAliases = """
        mutation addAliases($artifactID: ID!, $aliases: [ArtifactCollectionAliasInput!]!) {
          addAliases(input: {artifactID: $artifactID, aliases: $aliases}) { success }
        }
        """;

    /// <summary>Creates and uploads <paramref name="count"/> distinct versions without committing them.</summary>
    private static async Task<List<string>> PrepareAsync(WandbArtifactClient client, string run, string collection, int count, int first = 0)
    {
        var prepared = new List<string>();
        for (var i = first; i < first + count; i++)
        {
            var files = new Dictionary<string, byte[]> { ["data.txt"] = Encoding.UTF8.GetBytes($"version {i} of {collection}\n") };
            var (id, state, edges) = await client.CreateAsync(run, collection, "dataset", files, []);
            Assert.Equal("PENDING", state);
            await client.UploadAsync(run, id, files, edges);
            prepared.Add(id);
        }
        return prepared;
    }

    [Fact]
    public async Task Ten_parallel_commits_get_distinct_gap_free_versions_and_latest_is_the_newest()
    {
        var client = await WandbArtifactClient.NewUserAsync(host);
        await client.CreateRunAsync("r1");
        var prepared = await PrepareAsync(client, "r1", "racy", 10);

        await Task.WhenAll(prepared.Select(id => client.CommitAsync(id)));

        var indexes = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var v = 0; v < 10; v++)
        {
            var version = (await client.ByNameAsync($"racy:v{v}"))!.Value;
            indexes[version.GetProperty("id").GetString()!] = version.GetProperty("versionIndex").GetInt32();
            Assert.Single(WandbArtifactClient.Aliases(version), a => a.StartsWith('v') && a[1..].All(char.IsAsciiDigit));
        }
        Assert.Equal(prepared.Order(), indexes.Keys.Order());
        Assert.Equal(Enumerable.Range(0, 10), indexes.Values.Order());
        Assert.Null(await client.ByNameAsync("racy:v10"));

        var latest = (await client.ByNameAsync("racy:latest"))!.Value;
        Assert.Equal(9, latest.GetProperty("versionIndex").GetInt32());
        var latestHolders = 0;
        for (var v = 0; v < 10; v++)
        {
            latestHolders += WandbArtifactClient.Aliases((await client.ByNameAsync($"racy:v{v}"))!.Value).Count(a => a == "latest");
        }
        Assert.Equal(1, latestHolders);
    }

    [Fact]
    public async Task An_alias_set_on_many_versions_at_once_ends_on_exactly_one()
    {
        var client = await WandbArtifactClient.NewUserAsync(host);
        await client.CreateRunAsync("r1");
        var prepared = await PrepareAsync(client, "r1", "aliased", 6);
        foreach (var id in prepared)
        {
            await client.CommitAsync(id);
        }

        await Task.WhenAll(prepared.Select(id => client.DataAsync(AddAliases, new { artifactID = id, aliases = new[] { new { artifactCollectionName = "aliased", alias = "production" } } })));

        var holders = new List<string>();
        for (var v = 0; v < prepared.Count; v++)
        {
            var version = (await client.ByNameAsync($"aliased:v{v}"))!.Value;
            if (WandbArtifactClient.Aliases(version).Contains("production"))
            {
                holders.Add(version.GetProperty("id").GetString()!);
            }
        }
        var holder = Assert.Single(holders);
        Assert.Equal(holder, (await client.ByNameAsync("aliased:production"))!.Value.GetProperty("id").GetString());
        Assert.Equal(6, host.Sink.Events.Count(e => e.Entity == client.Entity && e.Alias == "production"));
    }

    [Fact]
    public async Task Commits_racing_with_alias_moves_keep_latest_on_the_newest_and_every_alias_unique()
    {
        var client = await WandbArtifactClient.NewUserAsync(host);
        await client.CreateRunAsync("r1");
        var committed = await PrepareAsync(client, "r1", "mixed", 2);
        foreach (var id in committed)
        {
            await client.CommitAsync(id);
        }
        var pending = await PrepareAsync(client, "r1", "mixed", 4, first: 2);

        var work = pending.Select(id => (Task)client.CommitAsync(id))
            .Concat(committed.Select(id => (Task)client.DataAsync(AddAliases, new { artifactID = id, aliases = new[] { new { artifactCollectionName = "mixed", alias = "staging" } } })));
        await Task.WhenAll(work);

        var aliasCounts = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var v = 0; v < 6; v++)
        {
            foreach (var alias in WandbArtifactClient.Aliases((await client.ByNameAsync($"mixed:v{v}"))!.Value))
            {
                aliasCounts[alias] = aliasCounts.GetValueOrDefault(alias) + 1;
            }
        }
        Assert.All(aliasCounts, kv => Assert.Equal(1, kv.Value));
        Assert.Equal(5, (await client.ByNameAsync("mixed:latest"))!.Value.GetProperty("versionIndex").GetInt32());
        Assert.Contains((await client.ByNameAsync("mixed:staging"))!.Value.GetProperty("id").GetString(), committed);
    }

    [Fact]
    public async Task Linking_numbers_versions_in_the_target_collection_and_keeps_the_source()
    {
        var client = await WandbArtifactClient.NewUserAsync(host);
        await client.CreateRunAsync("r1");
        var ids = await PrepareAsync(client, "r1", "model-src", 2);
        foreach (var id in ids)
        {
            await client.CommitAsync(id);
        }
        const string Link = """
            mutation LinkArtifact($artifactPortfolioName: String!, $entityName: String!, $projectName: String!, $aliases: [ArtifactAliasInput!], $clientId: ID, $artifactId: ID, $organizationName: String) {
              linkArtifact(input: {artifactPortfolioName: $artifactPortfolioName, entityName: $entityName, projectName: $projectName, aliases: $aliases, artifactID: $artifactId, clientID: $clientId, organizationName: $organizationName}) { versionIndex }
            }
            """;
        var first = await client.DataAsync(Link, new { artifactPortfolioName = "registered", entityName = client.Entity, projectName = client.Project, artifactId = ids[1], aliases = new[] { new { artifactCollectionName = "registered", alias = "production" } } });
        Assert.Equal(0, first.GetProperty("linkArtifact").GetProperty("versionIndex").GetInt32());
        var second = await client.DataAsync(Link, new { artifactPortfolioName = "registered", entityName = client.Entity, projectName = client.Project, artifactId = ids[0] });
        Assert.Equal(1, second.GetProperty("linkArtifact").GetProperty("versionIndex").GetInt32());
        var again = await client.DataAsync(Link, new { artifactPortfolioName = "registered", entityName = client.Entity, projectName = client.Project, artifactId = ids[1] });
        Assert.Equal(0, again.GetProperty("linkArtifact").GetProperty("versionIndex").GetInt32());

        var production = (await client.ByNameAsync("registered:production"))!.Value;
        Assert.Equal(ids[1], production.GetProperty("id").GetString());
        var registeredAliases = production.GetProperty("aliases").EnumerateArray()
            .Where(a => a.GetProperty("artifactCollection").GetProperty("name").GetString() == "registered")
            .Select(a => a.GetProperty("alias").GetString()).ToList();
        Assert.Equal(["v0", "production"], registeredAliases);
        Assert.Equal(ids[0], (await client.ByNameAsync("registered:latest"))!.Value.GetProperty("id").GetString());
        Assert.Equal(ids[1], (await client.ByNameAsync("model-src:latest"))!.Value.GetProperty("id").GetString());
        var link = Assert.Single(host.Sink.Events, e => e.Entity == client.Entity && e.Type == Core.Artifacts.ArtifactEventTypes.LinkArtifact && e.Version == "v0");
        Assert.Equal(("registered", "model-src", "v1"), (link.Collection, link.SourceCollection, link.SourceVersion));

        const string Portfolio = "query P($e: String!, $p: String!) { project(entityName: $e, name: $p) { artifactCollection(name: \"registered\") { __typename name artifacts { totalCount edges { version node { id } } } } } }";
        var portfolio = (await client.DataAsync(Portfolio, new { e = client.Entity, p = client.Project })).GetProperty("project").GetProperty("artifactCollection");
        Assert.Equal("ArtifactPortfolio", portfolio.GetProperty("__typename").GetString());
        Assert.Equal(2, portfolio.GetProperty("artifacts").GetProperty("totalCount").GetInt32());
        Assert.Equal(["v1", "v0"], portfolio.GetProperty("artifacts").GetProperty("edges").EnumerateArray().Select(e => e.GetProperty("version").GetString()));
    }
}
