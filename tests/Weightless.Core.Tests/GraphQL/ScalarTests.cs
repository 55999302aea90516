using System.Text.Json;
using GraphQL.Types;
using GraphQLParser.AST;
using Weightless.Core.GraphQL;

namespace Weightless.Core.Tests.GraphQL;

public sealed class ScalarTests
{
    [Fact]
    public void JSONString_accepts_text_verbatim_and_objects_as_their_json()
    {
        var scalar = new JsonStringGraphType();
        Assert.Equal("{\"a\": NaN}", scalar.ParseValue("{\"a\": NaN}"));
        Assert.Equal("{\"a\":1}", scalar.ParseValue(new Dictionary<string, object?> { ["a"] = 1 }));
        Assert.Equal("[1,\"x\"]", scalar.ParseValue(new List<object?> { 1, "x" }));
        Assert.Null(scalar.ParseValue(null));
        using var document = JsonDocument.Parse("{\"b\": [true]}");
        Assert.Equal("{\"b\": [true]}", scalar.ParseValue(document.RootElement));
    }

    [Fact]
    public void JSONString_literals_may_be_strings_or_objects()
    {
        var scalar = new JsonStringGraphType();
        Assert.Equal("{\"x\":1}", scalar.ParseLiteral(new GraphQLStringValue("{\"x\":1}")));
        var literal = new GraphQLObjectValue
        {
            Fields = [new GraphQLObjectField(new GraphQLName("k"), new GraphQLIntValue(3))],
        };
        Assert.Equal("{\"k\":3}", scalar.ParseLiteral(literal));
        Assert.Null(scalar.ParseLiteral(new GraphQLNullValue()));
    }

    [Fact]
    public void JSONString_serialises_strings_as_is()
    {
        var scalar = new JsonStringGraphType();
        Assert.Equal("{\"loss\": NaN}", scalar.Serialize("{\"loss\": NaN}"));
    }

    [Fact]
    public void Int64_accepts_numbers_and_numeric_strings_and_rejects_the_rest()
    {
        var scalar = new Int64GraphType();
        Assert.Equal(5L, scalar.ParseValue(5));
        Assert.Equal(9_007_199_254_740_993L, scalar.ParseValue(9_007_199_254_740_993L));
        Assert.Equal(200L, scalar.ParseValue("200"));
        Assert.Equal(7L, scalar.ParseValue(7.0));
        Assert.Equal(12L, scalar.ParseLiteral(new GraphQLIntValue(12)));
        Assert.ThrowsAny<Exception>(() => scalar.ParseValue(1.5));
        Assert.ThrowsAny<Exception>(() => scalar.ParseValue("abc"));
        Assert.ThrowsAny<Exception>(() => scalar.ParseLiteral(new GraphQLFloatValue(1.5)));
    }

    [Fact]
    public void DateTime_is_written_in_wandb_form_and_read_from_iso_strings()
    {
        var scalar = new WandbDateTimeGraphType();
        var instant = new DateTimeOffset(2026, 11, 28, 17, 56, 9, 830, TimeSpan.Zero);
        Assert.Equal("2026-11-28T17:56:09", scalar.Serialize(instant));
        Assert.Equal(instant.AddMilliseconds(-830), scalar.ParseValue("2026-11-28T17:56:09"));
        Assert.Equal(instant, scalar.ParseValue("2026-11-28T17:56:09.830Z"));
        Assert.ThrowsAny<Exception>(() => scalar.ParseValue("yesterday"));
    }

    [Fact]
    public void JSON_passes_values_through()
    {
        var scalar = new JsonGraphType();
        var value = new Dictionary<string, object?> { ["keys"] = new Dictionary<string, object?>() };
        Assert.Same(value, scalar.ParseValue(value));
        Assert.Same(value, scalar.Serialize(value));
    }

    [Fact]
    public void The_schema_builds_and_names_the_wandb_types()
    {
        var schema = new WandbSchema();
        schema.Initialize();
        foreach (var name in new[] { "Query", "Mutation", "Run", "Project", "User", "ServerInfo", "ServerSettings", "UpsertBucketInput", "JSONString", "JSON", "Int64", "DateTime", "File", "FileConnection" })
        {
            Assert.NotNull(schema.AllTypes[name]);
        }
        Assert.IsType<JsonStringGraphType>(schema.AllTypes["JSONString"]);
        Assert.IsAssignableFrom<IObjectGraphType>(schema.AllTypes["Run"]);
    }
}
