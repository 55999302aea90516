using System.Text.Json;

namespace Weightless.Core.Tests.Query;

public sealed class OpenApiDocumentTests
{
    private static JsonDocument Load()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Serverless.sln")))
        {
            directory = directory.Parent;
        }
        Assert.NotNull(directory);
        return JsonDocument.Parse(File.ReadAllText(Path.Combine(directory.FullName, "functions", "query", "openapi.json")));
    }

    [Fact]
    public void Document_is_openapi_31_with_responses_on_every_operation_and_resolvable_refs()
    {
        using var document = Load();
        var root = document.RootElement;
        Assert.Equal("3.1.0", root.GetProperty("openapi").GetString());
        var operations = 0;
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var path in root.GetProperty("paths").EnumerateObject())
        {
            Assert.StartsWith("/api/v1/", path.Name);
            foreach (var operation in path.Value.EnumerateObject())
            {
                Assert.Contains(operation.Name, new[] { "get", "post", "put", "patch", "delete" });
                operations++;
                Assert.True(ids.Add(operation.Value.GetProperty("operationId").GetString()!), "duplicate operationId");
                var responses = operation.Value.GetProperty("responses").EnumerateObject().ToList();
                Assert.NotEmpty(responses);
                Assert.Contains(responses, r => r.Name.StartsWith('2'));
                foreach (var parameter in operation.Value.TryGetProperty("parameters", out var p) ? p.EnumerateArray() : default)
                {
                    if (parameter.GetProperty("in").GetString() == "path")
                    {
                        Assert.Contains("{" + parameter.GetProperty("name").GetString() + "}", path.Name);
                        Assert.True(parameter.GetProperty("required").GetBoolean());
                    }
                }
            }
        }
        Assert.True(operations >= 30, $"{operations} operations");
        var refs = new List<string>();
        Collect(root, refs);
        Assert.NotEmpty(refs);
        foreach (var reference in refs)
        {
            Assert.StartsWith("#/", reference);
            var node = root;
            foreach (var segment in reference[2..].Split('/'))
            {
                Assert.True(node.TryGetProperty(segment, out node), $"unresolved $ref {reference}");
            }
        }
        Assert.True(root.GetProperty("components").GetProperty("securitySchemes").TryGetProperty("bearer", out _));
        Assert.True(root.GetProperty("components").GetProperty("schemas").GetProperty("Problem").GetProperty("properties").TryGetProperty("field", out _));
    }

    private static void Collect(JsonElement element, List<string> refs)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    if (property.Name == "$ref")
                    {
                        refs.Add(property.Value.GetString()!);
                    }
                    else
                    {
                        Collect(property.Value, refs);
                    }
                }
                break;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                {
                    Collect(item, refs);
                }
                break;
        }
    }
}
