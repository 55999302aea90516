using System.Text;
using System.Text.Json;
using Weightless.Core.Errors;
using Weightless.Core.History;

namespace Weightless.Core.Tests.History;

public class FileStreamRequestTests
{
    private static FileStreamRequest Parse(string json) => FileStreamRequest.Parse(new MemoryStream(Encoding.UTF8.GetBytes(json)));

    [Fact]
    public void Parses_a_python_post_with_all_files()
    {
        var request = Parse("""
            {"files": {"wandb-history.jsonl": {"offset": 130, "content": ["{\"loss\": NaN, \"nested\": {\"lr\": 0.01}, \"_step\": 130, \"_runtime\": 1.2, \"_timestamp\": 1795888401.97}"]},
                       "wandb-summary.json": {"offset": 0, "content": ["{\"loss\": 1}", "{\"loss\": 2}"]},
                       "wandb-events.jsonl": {"offset": 0, "content": ["{\"system.cpu\": 3.5}"]},
                       "output.log": {"offset": 12, "content": ["2026-11-28T17:54:17.576983 hello\n", "ERROR 2026-11-28T17:54:17.576983 oops\n"]}},
             "complete": false, "exitcode": null, "failed": false, "dropped": 3, "uploaded": ["wandb-metadata.json"], "preempting": true, "somethingNew": {"x": 1}}
            """);
        var history = request.File(FileStreamRequest.HistoryFile)!;
        Assert.Equal(130, history.Offset);
        Assert.Contains("NaN", history.Content[0], StringComparison.Ordinal);
        Assert.Equal(2, request.File(FileStreamRequest.SummaryFile)!.Content.Count);
        Assert.Equal(12, request.File(FileStreamRequest.OutputFile)!.Offset);
        Assert.False(request.Complete);
        Assert.Null(request.ExitCode);
        Assert.Equal(3, request.Dropped);
        Assert.True(request.Preempting);
        Assert.Equal(["wandb-metadata.json"], request.Uploaded);
    }

    [Fact]
    public void Parses_finish_and_heartbeat_posts()
    {
        var finish = Parse("""{"complete": true, "exitcode": 1, "failed": true}""");
        Assert.True(finish.Complete);
        Assert.Equal(1, finish.ExitCode);
        Assert.True(finish.Failed);
        Assert.Empty(finish.Files);
        var heartbeat = Parse("{}");
        Assert.False(heartbeat.Complete);
        Assert.Empty(heartbeat.Uploaded);
    }

    [Fact]
    public void Parses_an_already_parsed_document()
    {
        using var document = JsonDocument.Parse("""{"files": {"wandb-history.jsonl": {"offset": 0, "content": ["{}"]}}}""");
        Assert.Single(FileStreamRequest.Parse(document).File(FileStreamRequest.HistoryFile)!.Content);
    }

    [Theory]
    [InlineData("""{"files": {"wandb-history.jsonl": {"offset": "0", "content": []}}}""", "files.wandb-history.jsonl.offset")]
    [InlineData("""{"files": {"wandb-history.jsonl": {"offset": 1.5, "content": []}}}""", "files.wandb-history.jsonl.offset")]
    [InlineData("""{"files": {"wandb-history.jsonl": {"offset": -1, "content": []}}}""", "files.wandb-history.jsonl.offset")]
    [InlineData("""{"files": {"wandb-history.jsonl": {"offset": 0, "content": "x"}}}""", "files.wandb-history.jsonl.content")]
    [InlineData("""{"files": {"output.log": {"offset": 0, "content": ["a", 1]}}}""", "files.output.log.content[1]")]
    [InlineData("""{"files": {"output.log": 3}}""", "files.output.log")]
    [InlineData("""{"files": []}""", "files")]
    [InlineData("""{"complete": "yes"}""", "complete")]
    [InlineData("""{"exitcode": "0"}""", "exitcode")]
    [InlineData("""{"dropped": -2}""", "dropped")]
    [InlineData("""{"uploaded": "a"}""", "uploaded")]
    [InlineData("""{"uploaded": ["a", 2]}""", "uploaded[1]")]
    [InlineData("""{"preempting": 1}""", "preempting")]
    [InlineData("""[1]""", "body")]
    [InlineData("""{"files": """, "body")]
    public void Names_the_field_at_fault(string json, string field)
    {
        var error = Assert.Throws<ValidationFailedException>(() => Parse(json));
        Assert.Equal(field, error.Field);
    }

    [Fact]
    public void Rejects_a_value_over_1_MiB_naming_its_key()
    {
        var big = new string('x', (int)FileStreamRequest.MaxValueBytes + 10);
        var line = JsonSerializer.Serialize(new { loss = 1, nested = new { text = big } });
        var body = JsonSerializer.Serialize(new { files = new Dictionary<string, object> { ["wandb-history.jsonl"] = new { offset = 0, content = new[] { "{}", line } } } });
        var error = Assert.Throws<TooLargeException>(() => Parse(body));
        Assert.Equal("files.wandb-history.jsonl.content[1].nested.text", error.Field);
    }

    [Fact]
    public void Accepts_a_long_line_of_small_values_and_large_media_references()
    {
        var values = Enumerable.Range(0, 2000).ToDictionary(i => "k" + i, i => (object)new string('v', 600));
        values["img"] = new Dictionary<string, object> { ["_type"] = "image-file", ["caption"] = new string('c', (int)FileStreamRequest.MaxValueBytes + 1) };
        var line = JsonSerializer.Serialize(values);
        Assert.True(Encoding.UTF8.GetByteCount(line) > FileStreamRequest.MaxValueBytes);
        var body = JsonSerializer.Serialize(new { files = new Dictionary<string, object> { ["wandb-history.jsonl"] = new { offset = 0, content = new[] { line } } } });
        Assert.Single(Parse(body).File(FileStreamRequest.HistoryFile)!.Content);
    }

    [Fact]
    public void Rejects_an_output_line_over_1_MiB()
    {
        var body = JsonSerializer.Serialize(new { files = new Dictionary<string, object> { ["output.log"] = new { offset = 0, content = new[] { new string('x', (int)FileStreamRequest.MaxValueBytes + 1) } } } });
        Assert.Equal("files.output.log.content[0]", Assert.Throws<TooLargeException>(() => Parse(body)).Field);
    }

    [Fact]
    public void Rejects_a_post_over_25_MiB()
    {
        var line = new string('x', 1000 * 1000);
        var body = JsonSerializer.Serialize(new { files = new Dictionary<string, object> { ["output.log"] = new { offset = 0, content = Enumerable.Repeat(line, 27).ToArray() } } });
        Assert.Equal("body", Assert.Throws<TooLargeException>(() => Parse(body)).Field);
        using var document = JsonDocument.Parse(body);
        Assert.Equal("files", Assert.Throws<TooLargeException>(() => FileStreamRequest.Parse(document)).Field);
    }
}
