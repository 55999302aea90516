using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using Weightless.Core.Errors;
using Weightless.Core.History;
using Weightless.Core.Query;

namespace Weightless.Core.Tests.Query;

public sealed class M4WireTests
{
    private static readonly M4ResponseDto Answer = new("_step", 3,
    [
        new("run-a", "loss",
        [
            new(0, 99, 100, 0, new(0, 0.1), new(99, 1.0 / 3), new(42, -1e-300), new(7, double.MaxValue)),
            new(100, 199, 3, 3, null, null, null, null),
            new(200, 9_007_199_254_740_991, 9_007_199_254_740_991, 0, new(200, 5e-324), new(9_007_199_254_740_991, -0.0), new(201, double.MinValue), new(202, Math.PI)),
        ], "rollup"),
        new("rün/b", "val/acc", [], "raw"),
    ]);

    /// <summary>Buckets as the engine makes them on <c>_step</c>: extremes, a bucket without finite values, steps up to 2^53 - 1.</summary>
    private static readonly List<M4Bucket> StepBuckets =
    [
        new(0, 100, 100, 1, new(0, 0.1), new(99, 1.0 / 3), new(42, -1e-300), new(7, double.MaxValue)),
        new(100, 200, 3, 3, null, null, null, null),
        new(200, 9_007_199_254_740_991, 5, 0, new(200, 5e-324), new(9_007_199_254_740_990, -0.0), new(201, double.MinValue), new(202, Math.PI)),
    ];

    /// <summary>The columns answer read back into buckets (what the dashboard's decoder does).</summary>
    private static M4ResponseDto Decode(byte[] bytes)
    {
        Assert.Equal("WM4C"u8.ToArray(), bytes[..4]);
        var headerLength = (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(4));
        Assert.Equal(0, (8 + headerLength) % 8);
        using var header = JsonDocument.Parse(Encoding.UTF8.GetString(bytes, 8, headerLength));
        var columns = header.RootElement.GetProperty("columns").EnumerateArray().Select(c => c.GetString()!).ToList();
        var position = 8 + headerLength;
        var series = new List<M4SeriesDto>();
        foreach (var s in header.RootElement.GetProperty("series").EnumerateArray())
        {
            var count = s.GetProperty("count").GetInt32();
            var values = columns.ToDictionary(c => c, _ => new double[count]);
            foreach (var column in columns)
            {
                for (var i = 0; i < count; i++, position += 8)
                {
                    values[column][i] = BinaryPrimitives.ReadDoubleLittleEndian(bytes.AsSpan(position));
                }
            }
            M4PointDto? Point(string name, int i) => double.IsNaN(values[name + "Y"][i]) ? null : new(values[name + "X"][i], values[name + "Y"][i]);
            var buckets = Enumerable.Range(0, count).Select(i => new M4BucketDto(values["start"][i], values["end"][i], (long)values["count"][i], (long)values["nonFinite"][i], Point("first", i), Point("last", i), Point("min", i), Point("max", i))).ToList();
            series.Add(new(s.GetProperty("run").GetString()!, s.GetProperty("metric").GetString()!, buckets, s.GetProperty("source").GetString()!));
        }
        Assert.Equal(bytes.Length, position);
        return new(header.RootElement.GetProperty("xAxis").GetString()!, header.RootElement.GetProperty("buckets").GetInt32(), series);
    }

    [Fact]
    public void Columns_encoded_from_the_engines_step_buckets_equal_those_of_their_json_answer()
    {
        var steps = StepBuckets;
        var result = new M4Result("_step", 3, [new("run-a", "loss", "rollup", steps, null), new("run-b", "acc", "raw", [], null)]);
        foreach (var columns in new[] { M4Wire.AllColumns, M4Wire.ParseColumns(["start", "end", "lastX", "lastY", "minY", "maxY"]) })
        {
            Assert.Equal(M4Wire.Encode(result.ToDto(), columns), M4Wire.Encode(result, columns));
        }
    }

    [Fact]
    public void The_json_answer_written_from_the_engines_buckets_is_exactly_that_of_its_dtos()
    {
        var steps = StepBuckets;
        var values = Answer.Series[0].Buckets;
        var result = new M4Result("_step", 3, [new("run-a", "loss", "rollup", steps, null), new("rün/b", "val/acc \"x\"", "raw", null, values), new("c", "m", "raw", [], null)]);
        var expected = JsonSerializer.Serialize(result.ToDto(), Weightless.Core.Http.RequestBody.Options);
        Assert.Equal(expected, JsonSerializer.Serialize(result, Weightless.Core.Http.RequestBody.Options));
        Assert.DoesNotContain("null", expected, StringComparison.Ordinal);
    }

    [Fact]
    public void Columns_round_trip_every_bucket_exactly()
    {
        var decoded = Decode(M4Wire.Encode(Answer, M4Wire.AllColumns));
        Assert.Equal(Answer.XAxis, decoded.XAxis);
        Assert.Equal(Answer.Buckets, decoded.Buckets);
        Assert.Equal(Answer.Series.Count, decoded.Series.Count);
        for (var s = 0; s < Answer.Series.Count; s++)
        {
            Assert.Equal((Answer.Series[s].Run, Answer.Series[s].Metric, Answer.Series[s].Source), (decoded.Series[s].Run, decoded.Series[s].Metric, decoded.Series[s].Source));
            Assert.Equal(Answer.Series[s].Buckets, decoded.Series[s].Buckets);
        }
        // -0.0 keeps its sign bit (record equality compares doubles with Equals, which treats -0.0 == 0.0).
        Assert.True(double.IsNegative(decoded.Series[0].Buckets[2].Last!.Y));
    }

    [Fact]
    public void Named_columns_alone_are_written_in_the_order_asked()
    {
        var bytes = M4Wire.Encode(Answer, M4Wire.ParseColumns(["lastY", "start"]));
        var headerLength = (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(4));
        Assert.Equal(8 + headerLength + (3 * 2 * 8), bytes.Length);
        var body = bytes.AsSpan(8 + headerLength);
        Assert.Equal(1.0 / 3, BinaryPrimitives.ReadDoubleLittleEndian(body));
        Assert.True(double.IsNaN(BinaryPrimitives.ReadDoubleLittleEndian(body[8..])));
        Assert.Equal(100, BinaryPrimitives.ReadDoubleLittleEndian(body[32..]));
    }

    [Fact]
    public void Unknown_formats_and_columns_are_validation_errors()
    {
        Assert.Null(M4Wire.ParseFormat(null));
        Assert.Null(M4Wire.ParseFormat("json"));
        Assert.Equal(M4Wire.Format, M4Wire.ParseFormat("columns"));
        Assert.Equal("format", Assert.Throws<ValidationFailedException>(() => M4Wire.ParseFormat("xml")).Field);
        Assert.Equal("columns", Assert.Throws<ValidationFailedException>(() => M4Wire.ParseColumns(["start", "median"])).Field);
        Assert.Equal(M4Wire.AllColumns, M4Wire.ParseColumns(null));
    }
}
