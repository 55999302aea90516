using System.Text.Json.Nodes;
using Weightless.Core.Errors;
using Weightless.Core.Registry;

namespace Weightless.Core.Tests.Registry;

public sealed class RegistryDocumentFilterTests
{
    private static readonly JsonObject Version = JsonNode.Parse("""
        {"name": "churn", "tag": ["reviewed", "prod"], "alias": ["latest", "golden"], "type": "model",
         "metadata": {"accuracy": 0.93, "split": "train", "layers": 12}, "description": null}
        """)!.AsObject();

    [Theory]
    [InlineData(null, true)]
    [InlineData("{}", true)]
    [InlineData("""{"tag": "prod"}""", true)]
    [InlineData("""{"tag": "draft"}""", false)]
    [InlineData("""{"alias": {"$in": ["staging", "golden"]}}""", true)]
    [InlineData("""{"alias": {"$nin": ["golden"]}}""", false)]
    [InlineData("""{"name": {"$regex": "^CH", "$options": "i"}}""", true)]
    [InlineData("""{"name": {"$regex": "^CH"}}""", false)]
    [InlineData("""{"metadata.accuracy": {"$gt": 0.9, "$lte": 0.93}}""", true)]
    [InlineData("""{"metadata.layers": {"$lt": 10}}""", false)]
    [InlineData("""{"metadata.split": "train", "type": "model"}""", true)]
    [InlineData("""{"metadata.missing": {"$exists": false}}""", true)]
    [InlineData("""{"$or": [{"type": "dataset"}, {"tag": "reviewed"}]}""", true)]
    [InlineData("""{"$and": [{"type": "model"}, {"tag": "draft"}]}""", false)]
    [InlineData("""{"$nor": [{"type": "dataset"}]}""", true)]
    [InlineData("""{"type": {"$ne": "model"}}""", false)]
    public void Client_filters_match_as_in_Mongo(string? filter, bool expected) =>
        Assert.Equal(expected, RegistryDocumentFilter.Parse(filter, "filters").Matches(Version));

    [Theory]
    [InlineData("not json")]
    [InlineData("[1]")]
    [InlineData("""{"name": {"$where": "1"}}""")]
    [InlineData("""{"$or": {"name": "x"}}""")]
    [InlineData("""{"name": {"$regex": "("}}""")]
    [InlineData("""{"$text": "x"}""")]
    public void Malformed_filters_are_refused_naming_the_argument(string filter)
    {
        var error = Assert.Throws<ValidationFailedException>(() => RegistryDocumentFilter.Parse(filter, "collectionFilters"));
        Assert.Equal("collectionFilters", error.Field);
    }
}
