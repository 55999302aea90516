using System.IO.Compression;
using System.Text;
using System.Text.Json;
using Azure.Data.Tables;
using Microsoft.AspNetCore.Http;
using Weightless.Core.Errors;
using Weightless.Core.History;
using Weightless.Core.Runs;
using Weightless.Core.Storage;

namespace Weightless.Core.Tests.History;

/// <summary>The pooled and allocation-free paths of file_stream ingest give what the plain ones gave.</summary>
public sealed class IngestBuffersTests
{
    private static DefaultHttpContext Request(byte[] body, bool gzip, bool declareLength)
    {
        var context = new DefaultHttpContext();
        var sent = body;
        if (gzip)
        {
            using var output = new MemoryStream();
            using (var zip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
            {
                zip.Write(body);
            }
            sent = output.ToArray();
            context.Request.Headers.ContentEncoding = "gzip";
        }
        context.Request.Body = new MemoryStream(sent);
        if (declareLength)
        {
            context.Request.ContentLength = sent.Length;
        }
        return context;
    }

    [Theory]
    [InlineData(0, false, false)]
    [InlineData(10, false, true)]
    [InlineData(100_000, false, false)]
    [InlineData(100_000, false, true)]
    [InlineData(700_000, true, true)]
    [InlineData(700_000, true, false)]
    public async Task A_pooled_body_holds_exactly_the_bytes_sent(int size, bool gzip, bool declareLength)
    {
        var body = new byte[size];
        new Random(size).NextBytes(body);
        using var pooled = await RequestBodies.ReadPooledAsync(Request(body, gzip, declareLength).Request, CancellationToken.None);
        Assert.Equal(body, pooled.Memory.ToArray());
        Assert.Equal(body, await RequestBodies.ReadAsync(Request(body, gzip, declareLength).Request, CancellationToken.None));
    }

    [Fact]
    public async Task A_body_over_the_cap_and_broken_gzip_are_refused()
    {
        var big = new byte[RequestBodies.MaxBytes + 1];
        var tooLarge = await Assert.ThrowsAsync<TooLargeException>(() => RequestBodies.ReadPooledAsync(Request(big, gzip: true, declareLength: false).Request, CancellationToken.None));
        Assert.Equal("body", tooLarge.Field);
        using (var exact = await RequestBodies.ReadPooledAsync(Request(new byte[RequestBodies.MaxBytes], gzip: true, declareLength: false).Request, CancellationToken.None))
        {
            Assert.Equal(RequestBodies.MaxBytes, exact.Length);
        }
        var broken = Request("not gzip at all"u8.ToArray(), gzip: false, declareLength: true);
        broken.Request.Headers.ContentEncoding = "gzip";
        Assert.Equal("body", (await Assert.ThrowsAsync<ValidationFailedException>(() => RequestBodies.ReadPooledAsync(broken.Request, CancellationToken.None))).Field);
    }

    [Fact]
    public void Lines_decode_verbatim_from_one_part_many_parts_and_from_any_compression()
    {
        var random = new Random(7);
        // Incompressible lines: the block needs several 64 KiB parts and decodes past the first buffer guess.
        var lines = Enumerable.Range(0, 400).Select(i => i % 50 == 0 ? "" : $"{{\"x\": NaN, \"s\": \"{Convert.ToBase64String(Enumerable.Range(0, 600).Select(_ => (byte)random.Next(256)).ToArray())}\u00e9\\n\"}}").ToList();
        var data = LineCodec.Encode(lines, 0, lines.Count);
        Assert.True(data.Length > LineCodec.PropertyBytes);
        var entity = new TableEntity("p", "c");
        LineCodec.WriteData(entity, data);
        Assert.True(entity.GetInt32("DataParts") > 1);
        Assert.Equal(data, LineCodec.ReadData(entity));
        Assert.Equal(lines, LineCodec.Decode(LineCodec.ReadData(entity)));
        // Highly compressible lines: far more than 8x, so the decode buffer grows.
        var repetitive = Enumerable.Repeat("{\"loss\": 0.5, \"_step\": 1}", 20_000).ToList();
        Assert.Equal(repetitive, LineCodec.Decode(LineCodec.Encode(repetitive, 0, repetitive.Count)));
        var framed = LineCodec.Frame(repetitive, 0, repetitive.Count);
        Assert.Equal(framed, LineCodec.Decompress(LineCodec.Compress(framed, 11, 24)));
        Assert.Empty(LineCodec.Decompress([]));
    }

    [Fact]
    public void Corrupt_or_truncated_blocks_are_invalid_data()
    {
        var data = LineCodec.Encode(["{\"a\": 1}", "{\"a\": 2}"], 0, 2);
        Assert.Throws<InvalidDataException>(() => LineCodec.Decode(data.AsSpan(0, data.Length - 1)));
        Assert.Throws<InvalidDataException>(() => LineCodec.Decode("garbage that is not brotli at all"u8));
    }

    [Fact]
    public void Line_sizes_are_measured_on_the_unescaped_line()
    {
        // Escaped, this line is over the per-value limit; the line itself is just under it.
        var quotes = new string('"', (int)FileStreamRequest.MaxValueBytes - 2);
        var body = JsonSerializer.SerializeToUtf8Bytes(new { files = new Dictionary<string, object> { ["output.log"] = new { offset = 0, content = new[] { quotes, "b" } } } });
        var request = FileStreamRequest.Parse(body);
        Assert.Equal([quotes, "b"], request.File(FileStreamRequest.OutputFile)!.Content);
        Assert.True(request.HasContent);
        var over = JsonSerializer.SerializeToUtf8Bytes(new { files = new Dictionary<string, object> { ["output.log"] = new { offset = 0, content = new[] { "a", quotes + "\u00e9\u00e9" } } } });
        Assert.Equal("files.output.log.content[1]", Assert.Throws<TooLargeException>(() => FileStreamRequest.Parse(over)).Field);
        Assert.False(FileStreamRequest.Parse("""{"files": {"wandb-history.jsonl": {"offset": 3, "content": []}}}"""u8.ToArray()).HasContent);
    }

    [Fact]
    public void A_repeated_content_field_keeps_every_line()
    {
        var request = FileStreamRequest.Parse("""{"files": {"output.log": {"offset": 0, "content": ["a", "b", "c"], "content": ["d"]}}}"""u8.ToArray());
        Assert.Equal(["a", "b", "c", "d"], request.File(FileStreamRequest.OutputFile)!.Content);
    }

    [Fact]
    public void The_key_index_counts_rows_the_same_whatever_map_they_come_in()
    {
        var lines = new[]
        {
            """{"loss": 1, "acc": 0.5, "_step": 0}""",
            """{"loss": NaN, "nested": {"grad": 2, "img": {"_type": "image-file", "path": "a.png"}}, "_step": 1}""",
            """{"acc": "high", "loss": 3, "_step": 2}""",
            """{"loss": null, "extra": [1, 2], "_step": 3}""",
        };
        var rows = lines.Select((line, i) => HistoryValues.ParseRow(i, line)!).ToList();
        Assert.IsType<JsonLineObject>(rows[0].Flat);
        Assert.IsType<Dictionary<string, object?>>(rows[1].Flat);
        var direct = new KeyIndex();
        var viaInterface = new KeyIndex();
        var added = rows.Select(r => direct.AddRow(r.Flat)).ToList();
        var addedViaInterface = rows.Select(r => viaInterface.AddRow(new System.Collections.ObjectModel.ReadOnlyDictionary<string, object?>(r.Flat.ToDictionary()))).ToList();
        Assert.Equal([3, 2, 0, 1], added);
        Assert.Equal(added, addedViaInterface);
        Assert.Equal(direct.ToHistoryKeys().ToJsonString(), viaInterface.ToHistoryKeys().ToJsonString());
        Assert.Equal(new Dictionary<string, long> { ["nil"] = 1, ["number"] = 3 }, direct.TypeCounts("loss"));
        Assert.Equal("image-file", Assert.Single(direct.TypeCounts("nested.img")).Key);
    }

    [Fact]
    public void One_transaction_is_what_chunking_makes_one_chunk_of()
    {
        static TableTransactionAction Action(int i, int bytes) =>
            new(TableTransactionActionType.UpsertReplace, new TableEntity("p", $"{i}") { ["D"] = new byte[bytes] });
        var cases = new List<List<TableTransactionAction>>
        {
            new List<TableTransactionAction> { Action(0, 10) },
            Enumerable.Range(0, 100).Select(i => Action(i, 10)).ToList(),
            Enumerable.Range(0, 101).Select(i => Action(i, 10)).ToList(),
            Enumerable.Range(0, 60).Select(i => Action(i, 60_000)).ToList(),
            Enumerable.Range(0, 50).Select(i => Action(i, 60_000)).ToList(),
        };
        foreach (var actions in cases)
        {
            Assert.Equal(TableStore.Chunk(actions).Count() == 1, TableStore.FitsOneTransaction(actions));
        }
        Assert.False(TableStore.FitsOneTransaction([]));
    }
}
