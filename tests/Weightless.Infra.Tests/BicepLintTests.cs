using System.Text.Json.Nodes;

namespace Weightless.Infra.Tests;

/// <summary>Every Bicep source under infra/ compiles and lints with zero errors and zero warnings.</summary>
[Collection(BicepCollection.Name)]
public sealed class BicepLintTests(BicepRunFixture bicep)
{
    public static TheoryData<string> BicepFiles => [.. RepositoryPaths.InfraFiles(".bicep")];

    public static TheoryData<string> ParamsFiles => [.. RepositoryPaths.InfraFiles(".bicepparam")];

    [Fact]
    public void InfraSourcesAreFound()
    {
        Assert.Contains("main.bicep", RepositoryPaths.InfraFiles(".bicep"));
        Assert.Contains(BicepRunFixture.ExampleParamsFile, RepositoryPaths.InfraFiles(".bicepparam"));
    }

    [Fact]
    public void EveryBicepCommandExitsZeroWithNothingButInfoOnStderr()
    {
        foreach (var run in bicep.AllRuns)
        {
            var result = run.Result;
            Assert.True(result.ExitCode == 0, result.ToString());
            Assert.True(!result.Diagnostics.Any(d => d.IsErrorOrWarning), result.ToString());
            Assert.True(result.OtherErrorOutput.Count == 0, result.ToString());
        }
    }

    [Theory]
    [MemberData(nameof(BicepFiles))]
    public void BicepFileBuildsAndLintsClean(string file)
    {
        AssertNoProblems(bicep.Lint, file);
        AssertNoProblems(bicep.Build, file);

        var armPath = Path.ChangeExtension(bicep.Build.PathOf(file), ".json");
        Assert.True(File.Exists(armPath), $"bicep build wrote no ARM template for {file}.\n{bicep.Build.Result}");
        var template = JsonNode.Parse(File.ReadAllText(armPath))!;
        Assert.Contains("deploymentTemplate.json", (string?)template["$schema"], StringComparison.Ordinal);
        Assert.NotNull(template["resources"]);
    }

    [Theory]
    [MemberData(nameof(ParamsFiles))]
    public void ParamsFileBuildsAndLintsClean(string file)
    {
        AssertNoProblems(bicep.Lint, file);
        AssertNoProblems(bicep.BuildParams, file);

        var parametersPath = Path.ChangeExtension(bicep.BuildParams.PathOf(file), ".json");
        Assert.True(File.Exists(parametersPath), $"bicep build-params wrote no parameters file for {file}.\n{bicep.BuildParams.Result}");
        var parameters = JsonNode.Parse(File.ReadAllText(parametersPath))!;
        Assert.Contains("deploymentParameters.json", (string?)parameters["$schema"], StringComparison.Ordinal);
        Assert.NotNull(parameters["parameters"]?["customerName"]?["value"]);
    }

    private static void AssertNoProblems(BicepRun run, string file)
    {
        var problems = run.ProblemsIn(file);
        Assert.True(problems.Count == 0, $"bicep {run.Result.Command}: {file}\n{string.Join('\n', problems)}");
    }
}
