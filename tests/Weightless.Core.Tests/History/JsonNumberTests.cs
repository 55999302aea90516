using System.Globalization;
using Weightless.Core.History;

namespace Weightless.Core.Tests.History;

public class JsonNumberTests
{
    private static void AssertSameAsFramework(string text)
    {
        var expected = double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);
        if (JsonNumber.TryParse(text, out var whole, out var real, out var isInteger))
        {
            var actual = isInteger ? whole : real;
            Assert.True(
                BitConverter.DoubleToInt64Bits(expected) == BitConverter.DoubleToInt64Bits(actual),
                $"{text}: framework {expected:R} ({BitConverter.DoubleToInt64Bits(expected):X16}), fast {actual:R} ({BitConverter.DoubleToInt64Bits(actual):X16})");
        }
    }

    [Fact]
    public void Reads_every_shortest_round_trip_text_of_random_doubles_bit_for_bit()
    {
        var random = new Random(20261129);
        var decided = 0;
        for (var i = 0; i < 400_000; i++)
        {
            // Random bit patterns cover every exponent; the formats cover Python's repr (shortest,
            // 'e' beyond 1e16), 17-digit and exponent forms.
            var value = BitConverter.Int64BitsToDouble(random.NextInt64());
            if (!double.IsFinite(value))
            {
                continue;
            }
            foreach (var format in new[] { "R", "G17", "E16", "E10", "G15" })
            {
                var text = value.ToString(format, CultureInfo.InvariantCulture);
                AssertSameAsFramework(text);
                decided += JsonNumber.TryParse(text, out _, out _, out _) ? 1 : 0;
            }
        }
        // Nearly all of them take the fast route (subnormals and the odd ambiguous product do not).
        Assert.True(decided > 1_500_000, $"decided {decided}");
    }

    [Fact]
    public void Reads_training_metric_values_bit_for_bit()
    {
        var random = new Random(7);
        for (var i = 0; i < 300_000; i++)
        {
            var value = Math.Sin(i / 100.0) * random.NextDouble() * Math.Pow(10, random.Next(-12, 12));
            AssertSameAsFramework(value.ToString("R", CultureInfo.InvariantCulture));
            AssertSameAsFramework((value * 1e-300).ToString("R", CultureInfo.InvariantCulture));
            AssertSameAsFramework(((float)value).ToString("R", CultureInfo.InvariantCulture));
        }
    }

    [Fact]
    public void Reads_random_decimal_texts_bit_for_bit()
    {
        var random = new Random(11);
        for (var i = 0; i < 300_000; i++)
        {
            var digits = random.Next(1, 21);
            var mantissa = string.Concat(Enumerable.Range(0, digits).Select(_ => (char)('0' + random.Next(10))));
            var point = random.Next(0, digits);
            var text = (random.Next(2) == 0 ? "-" : "") + mantissa[..(digits - point)] + (point > 0 ? "." + mantissa[(digits - point)..] : ".0")
                + (random.Next(3) == 0 ? "e" + random.Next(-330, 310).ToString(CultureInfo.InvariantCulture) : "");
            // Texts with leading zeros (not JSON) are left to the framework; the rest must match it.
            AssertSameAsFramework(text);
        }
    }

    [Theory]
    [InlineData("9007199254740993.0")]
    [InlineData("9007199254740995.0")]
    [InlineData("9007199254740992.5")]
    [InlineData("1.7976931348623157e308")]
    [InlineData("2.2250738585072014e-308")]
    [InlineData("4.9406564584124654e-324")]
    [InlineData("1e-400")]
    [InlineData("1e400")]
    [InlineData("0.1")]
    [InlineData("-0.0")]
    [InlineData("0e10")]
    [InlineData("123456789012345678e-5")]
    [InlineData("0.30000000000000004")]
    [InlineData("1E+2")]
    [InlineData("2.5e-3")]
    [InlineData("7.2057594037927933e16")]
    public void Reads_edge_cases_like_the_framework(string text) => AssertSameAsFramework(text);

    [Fact]
    public void Keeps_negative_zero()
    {
        Assert.True(JsonNumber.TryParse("-0.0", out _, out var real, out var isInteger));
        Assert.False(isInteger);
        Assert.True(double.IsNegative(real));
    }

    [Theory]
    [InlineData("0", 0L)]
    [InlineData("-0", 0L)]
    [InlineData("42", 42L)]
    [InlineData("-123456789012345678", -123456789012345678L)]
    public void Reads_integers_of_up_to_18_digits_as_long(string text, long expected)
    {
        Assert.True(JsonNumber.TryParse(text, out var whole, out _, out var isInteger));
        Assert.True(isInteger);
        Assert.Equal(expected, whole);
    }

    [Theory]
    [InlineData("1234567890123456789")]
    [InlineData("01")]
    [InlineData("1.")]
    [InlineData(".5")]
    [InlineData("1e")]
    [InlineData("1e+")]
    [InlineData("-")]
    [InlineData("1-2")]
    [InlineData("1.2.3")]
    [InlineData("12345678901234567890.5")]
    public void Leaves_long_integers_and_non_json_forms_to_the_framework(string text) =>
        Assert.False(JsonNumber.TryParse(text, out _, out _, out _));

    [Fact]
    public void History_lines_keep_their_numbers_through_the_tolerant_reader()
    {
        Assert.True(TolerantJson.TryParse("{\"a\": 0.8414709848078965, \"b\": -1e-7, \"c\": 12, \"d\": 1234567890123456789, \"e\": 1.5E300, \"f\": NaN}", out var value));
        var row = Assert.IsType<JsonLineObject>(value);
        Assert.Equal(0.8414709848078965, row["a"]);
        Assert.Equal(-1e-7, row["b"]);
        Assert.Equal(12L, row["c"]);
        Assert.Equal(1234567890123456789L, row["d"]);
        Assert.Equal(1.5e300, row["e"]);
        Assert.True(double.IsNaN((double)row["f"]!));
    }
}
