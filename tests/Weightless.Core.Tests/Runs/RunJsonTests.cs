using System.Text.Json.Nodes;
using Weightless.Core.Errors;
using Weightless.Core.Runs;

namespace Weightless.Core.Tests.Runs;

public sealed class RunJsonTests
{
    [Fact]
    public void Raw_js_config_is_wrapped_key_by_key_with_values_verbatim()
    {
        var normalised = RunJson.NormaliseConfig("{\"learning_rate\":0.01,\"model\":{\"layers\":3},\"name\":\"x\",\"list\":[1,2],\"flag\":true,\"none\":null}");
        Assert.Equal("{\"learning_rate\": {\"desc\": null, \"value\": 0.01}, \"model\": {\"desc\": null, \"value\": {\"layers\":3}}, \"name\": {\"desc\": null, \"value\": \"x\"}, \"list\": {\"desc\": null, \"value\": [1,2]}, \"flag\": {\"desc\": null, \"value\": true}, \"none\": {\"desc\": null, \"value\": null}}", normalised);
        Assert.NotNull(JsonNode.Parse(normalised));
    }

    [Theory]
    [InlineData("{\"lr\": {\"desc\": null, \"value\": 0.01}, \"_wandb\": {\"desc\": null, \"value\": {\"t\": {}}}}")]
    [InlineData("{\"lr\": {\"value\": 0.01}, \"_wandb\": {\"value\": {\"cli_version\": \"0.19.11\"}}}")]
    [InlineData("{}")]
    public void Wrapped_python_and_go_configs_are_kept_verbatim(string config) =>
        Assert.Equal(config, RunJson.NormaliseConfig(config));

    [Fact]
    public void A_dict_with_one_unwrapped_value_is_raw_and_every_key_is_wrapped()
    {
        var normalised = JsonNode.Parse(RunJson.NormaliseConfig("{\"a\": {\"value\": 1}, \"b\": 2}"))!;
        Assert.Equal(1, normalised["a"]!["value"]!["value"]!.GetValue<int>());
        Assert.Equal(2, normalised["b"]!["value"]!.GetValue<int>());
    }

    [Fact]
    public void Bare_NaN_and_Infinity_survive_normalisation_untouched()
    {
        var normalised = RunJson.NormaliseConfig("{\"loss\": NaN, \"hi\": Infinity, \"lo\": -Infinity, \"s\": \"NaN Infinity\"}");
        Assert.Equal("{\"loss\": {\"desc\": null, \"value\": NaN}, \"hi\": {\"desc\": null, \"value\": Infinity}, \"lo\": {\"desc\": null, \"value\": -Infinity}, \"s\": {\"desc\": null, \"value\": \"NaN Infinity\"}}", normalised);
    }

    [Fact]
    public void Unicode_and_escapes_are_sliced_correctly()
    {
        var normalised = RunJson.NormaliseConfig("{\"naïve\": \"é\\\"q\\\"\", \"n\": 1}");
        var parsed = JsonNode.Parse(normalised)!;
        Assert.Equal("é\"q\"", parsed["naïve"]!["value"]!.GetValue<string>());
        Assert.Equal(1, parsed["n"]!["value"]!.GetValue<int>());
    }

    [Theory]
    [InlineData("[1, 2]")]
    [InlineData("5")]
    [InlineData("{\"a\": ")]
    [InlineData("{\"a\": 1} {\"b\": 2}")]
    [InlineData("not json")]
    public void Non_object_or_broken_config_is_a_validation_error(string config)
    {
        var error = Assert.Throws<ValidationFailedException>(() => RunJson.NormaliseConfig(config));
        Assert.Equal("config", error.Field);
    }

    [Fact]
    public void Config_over_the_limit_is_too_large()
    {
        var huge = "{\"a\": \"" + new string('x', RunJson.MaxConfigChars) + "\"}";
        Assert.Throws<TooLargeException>(() => RunJson.NormaliseConfig(huge));
    }

    [Fact]
    public void Summary_must_be_an_object_but_may_hold_NaN()
    {
        Assert.Equal("{\"loss\": NaN}", RunJson.RequireObject(" {\"loss\": NaN} ", "summaryMetrics", 100));
        Assert.Throws<ValidationFailedException>(() => RunJson.RequireObject("[NaN]", "summaryMetrics", 100));
    }

    [Fact]
    public void WandbConfig_picks_the_requested_keys_of_the_wandb_value()
    {
        var config = "{\"lr\": {\"value\": 1}, \"_wandb\": {\"desc\": null, \"value\": {\"t\": {\"1\": [55]}, \"cli_version\": \"0.16.6\"}}}";
        Assert.Equal("{\"t\": {\"1\": [55]}}", RunJson.WandbConfig(config, ["t"]));
        Assert.Equal("{\"t\": {\"1\": [55]}, \"cli_version\": \"0.16.6\"}", RunJson.WandbConfig(config, null));
        Assert.Equal("{}", RunJson.WandbConfig("{\"lr\": 1}", ["t"]));
        Assert.Equal("{}", RunJson.WandbConfig(null, ["t"]));
    }
}
