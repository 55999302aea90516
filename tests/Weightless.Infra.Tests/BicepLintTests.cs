using System.Text.Json.Nodes;

namespace Weightless.Infra.Tests;

/// <summary>Every Bicep source under infra/ compiles and lints with zero errors and zero warnings.</summary>
[Collection(BicepCollection.Name)]
public sealed class BicepLintTests(BicepRunFixture bicep)
{
    public static TheoryData<string> BicepFiles => [.. RepositoryPaths.InfraFiles(".bicep")];

    public static TheoryData<string> ParamsFiles => [.. RepositoryPaths.InfraFiles(".bicepparam")];

    [Fact]
    public void InfraSourcesAreFoundAndTheCliIsThePinnedVersion()
    {
        Assert.Contains("main.bicep", RepositoryPaths.InfraFiles(".bicep"));
        Assert.Contains(BicepRunFixture.ExampleParamsFile, RepositoryPaths.InfraFiles(".bicepparam"));
        Assert.Equal(BicepRunFixture.ExpectedBicepVersion, bicep.Version);
        Assert.True(bicep.CliErrorOutput.Trim().Length == 0, $"bicep wrote to stderr:\n{bicep.CliErrorOutput}");
    }

    [Theory]
    [MemberData(nameof(BicepFiles))]
    public void BicepFileBuildsAndLintsClean(string file)
    {
        var compilation = bicep.Templates[file];
        Assert.True(compilation.Problems.Count == 0, compilation.ToString());
        Assert.True(compilation.Success, compilation.ToString());

        var template = JsonNode.Parse(compilation.Output ?? "null") ?? throw new Xunit.Sdk.XunitException($"{file}: no ARM template");
        Assert.Contains("deploymentTemplate.json", (string?)template["$schema"], StringComparison.Ordinal);
        Assert.NotNull(template["resources"]);
    }

    [Theory]
    [MemberData(nameof(ParamsFiles))]
    public void ParamsFileBuildsAndLintsClean(string file)
    {
        var compilation = bicep.Parameters[file];
        Assert.True(compilation.Problems.Count == 0, compilation.ToString());
        Assert.True(compilation.Success, compilation.ToString());

        var parameters = JsonNode.Parse(compilation.Output ?? "null") ?? throw new Xunit.Sdk.XunitException($"{file}: no parameters JSON");
        Assert.Contains("deploymentParameters.json", (string?)parameters["$schema"], StringComparison.Ordinal);
        Assert.NotNull(parameters["parameters"]?["customerName"]?["value"]);
        Assert.NotNull(JsonNode.Parse(compilation.Template ?? "null")?["resources"]);
    }
}
