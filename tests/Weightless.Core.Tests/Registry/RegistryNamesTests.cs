using Weightless.Core.Errors;
using Weightless.Core.Registry;

namespace Weightless.Core.Tests.Registry;

public sealed class RegistryNamesTests
{
    [Theory]
    [InlineData("wandb-registry-model", true, "model")]
    [InlineData("wandb-registry-vision.v2", true, "vision.v2")]
    [InlineData("model-registry", true, "model")]
    [InlineData("wandb-registry-", false, null)]
    [InlineData("my-project", false, null)]
    public void Registry_projects_are_recognised_and_name_their_registry(string project, bool governed, string? registry)
    {
        Assert.Equal(governed, RegistryNames.IsGoverned(project));
        if (governed)
        {
            Assert.Equal(registry, RegistryNames.RegistryOf(project));
        }
    }

    [Fact]
    public void Names_may_carry_the_prefix_and_bad_names_name_the_field()
    {
        Assert.Equal("vision", RegistryNames.Validate("wandb-registry-vision"));
        Assert.Equal("vision", RegistryNames.Validate(" vision "));
        var error = Assert.Throws<ValidationFailedException>(() => RegistryNames.Validate("has space", "name"));
        Assert.Equal("name", error.Field);
        Assert.Throws<ValidationFailedException>(() => RegistryNames.Validate(""));
        Assert.Throws<ValidationFailedException>(() => RegistryVisibility.Parse("public", "visibility"));
        Assert.Equal(RegistryVisibility.Organization, RegistryVisibility.Parse("PRIVATE", "visibility"));
    }

    [Fact]
    public void Metadata_filters_compare_top_level_values_as_text()
    {
        var filter = RegistryFilter.None with { Metadata = new Dictionary<string, string> { ["split"] = "train", ["epochs"] = "10" } };
        Assert.True(filter.MatchesMetadata("""{"split": "train", "epochs": 10, "other": null}"""));
        Assert.False(filter.MatchesMetadata("""{"split": "test", "epochs": 10}"""));
        Assert.False(filter.MatchesMetadata("""{"split": "train"}"""));
        Assert.False(filter.MatchesMetadata(null));
        Assert.False(filter.MatchesMetadata("{\"split\": NaN"));
        Assert.True(RegistryFilter.None.MatchesMetadata(null));
    }

    [Fact]
    public void Protected_aliases_raise_the_needed_role_to_admin()
    {
        var registry = new RegistryRow { Name = "model", ProtectedAliases = """["production"]""", ArtifactTypes = """["model"]""" };
        Assert.Equal(Tenancy.Role.Admin, RegistryAccess.AliasRole(registry, ["candidate", "production"], Tenancy.Role.Member));
        Assert.Equal(Tenancy.Role.Member, RegistryAccess.AliasRole(registry, ["candidate"], Tenancy.Role.Member));
        Assert.True(RegistryAccess.AcceptsType(registry, "model"));
        Assert.False(RegistryAccess.AcceptsType(registry, "dataset"));
        registry.AllowAllTypes = true;
        Assert.True(RegistryAccess.AcceptsType(registry, "dataset"));
    }
}
