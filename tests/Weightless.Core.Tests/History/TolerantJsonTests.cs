using Weightless.Core.History;

namespace Weightless.Core.Tests.History;

public class TolerantJsonTests
{
    [Fact]
    public void Reads_bare_NaN_and_infinities_as_doubles()
    {
        Assert.True(TolerantJson.TryParse("{\"loss\": NaN, \"inf\": Infinity, \"ninf\": -Infinity, \"x\": -1.5e3}", out var value));
        var row = Assert.IsType<JsonLineObject>(value);
        Assert.True(double.IsNaN((double)row["loss"]!));
        Assert.Equal(double.PositiveInfinity, row["inf"]);
        Assert.Equal(double.NegativeInfinity, row["ninf"]);
        Assert.Equal(-1500.0, row["x"]);
    }

    [Fact]
    public void Leaves_NaN_inside_strings_alone()
    {
        Assert.True(TolerantJson.TryParse("{\"s\": \"NaN Infinity \\\"q\\\" \\u00e9\\n\", \"NaN\": 1}", out var value));
        var row = Assert.IsType<JsonLineObject>(value);
        Assert.Equal("NaN Infinity \"q\" é\n", row["s"]);
        Assert.Equal(1L, row["NaN"]);
    }

    [Fact]
    public void Reads_integers_as_long_and_keeps_key_order()
    {
        Assert.True(TolerantJson.TryParse("{\"b\": 9007199254740993, \"a\": [1, 2.5, true, null, \"x\"], \"c\": {}}", out var value));
        var row = Assert.IsType<JsonLineObject>(value);
        Assert.Equal(["b", "a", "c"], row.Keys);
        Assert.Equal(9007199254740993L, row["b"]);
        Assert.Equal(new List<object?> { 1L, 2.5, true, null, "x" }, row["a"]);
    }

    [Theory]
    [InlineData("")]
    [InlineData("{")]
    [InlineData("{\"a\": }")]
    [InlineData("{\"a\": nan}")]
    [InlineData("{\"a\": 1} trailing")]
    [InlineData("{'a': 1}")]
    [InlineData("{\"a\": Inf}")]
    public void Rejects_what_is_not_json(string text) => Assert.False(TolerantJson.TryParse(text, out _));

    [Fact]
    public void Flattens_nested_keys_and_keeps_media_whole()
    {
        var row = HistoryValues.ParseRow(3, "{\"loss\": NaN, \"nested\": {\"lr\": 0.01, \"grad\": {\"norm\": 1}}, \"img\": {\"_type\": \"image-file\", \"path\": \"media/images/a.png\"}, \"tags\": [1,2], \"_step\": 130}")!;
        Assert.Equal(130, row.Step);
        Assert.Equal(3, row.LineIndex);
        Assert.Equal(["loss", "nested.lr", "nested.grad.norm", "img", "tags", "_step"], row.Flat.Keys);
        Assert.Equal("image-file", HistoryValues.TypeName(row.Flat["img"]));
        Assert.Equal("number", HistoryValues.TypeName(row.Flat["loss"]));
        Assert.Equal("list", HistoryValues.TypeName(row.Flat["tags"]));
        Assert.Equal("media/images/a.png", row.ToNested()["img"]!["path"]!.GetValue<string>());
        Assert.Equal(0.01, row.ToNested()["nested"]!["lr"]!.GetValue<double>());
    }

    [Theory]
    [InlineData("{\"_step\": 5}", 5L)]
    [InlineData("{\"_step\": 5.0}", 5L)]
    [InlineData("{\"_step\": 5.5}", null)]
    [InlineData("{\"_step\": -1}", null)]
    [InlineData("{\"_step\": \"5\"}", null)]
    [InlineData("{\"x\": 1}", null)]
    public void Reads_only_non_negative_integral_steps(string line, long? expected) =>
        Assert.Equal(expected, HistoryValues.ParseRow(0, line)!.Step);
}
