using System.Numerics;

namespace Weightless.Core.History;

/// <summary>
/// A JSON number's text to <see cref="long"/> or <see cref="double"/> without <see cref="double.Parse(string)"/>'s
/// general machinery (~200 ns per 17-digit value, the largest single cost of reading a history row).
/// The double is the correctly rounded one, bit for bit what <see cref="double.Parse(string)"/> gives:
/// Clinger's exact fast path (at most 2^53 as mantissa, at most 10^22 as scale: one IEEE operation),
/// else the Eisel-Lemire algorithm (Lemire, "Number Parsing at a Gigabyte per Second", 2021; the
/// fast_float library) over 128-bit truncated powers of five computed once at startup.
/// <see cref="TryParse"/> answers false whenever it cannot decide cheaply (text outside strict JSON
/// number grammar, more than 19 significant digits, an integer of 19 digits, results that are
/// subnormal, zero by underflow or overflowing, the rare ambiguous product): the caller then uses the
/// framework's parser, so what is accepted and what it reads as are unchanged.
/// </summary>
internal static class JsonNumber
{
    private const int SmallestPowerOfFive = -342;
    private const int LargestPowerOfFive = 308;
    private const int MantissaBits = 52;
    private const int MinimumExponent = -1023;
    private const int InfinitePower = 0x7FF;
    private const ulong MaxExactMantissa = 1UL << 53;

    private static readonly double[] ExactPowersOfTen =
    [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ];

    /// <summary>For q in [-342, 308]: the 128 most significant bits of 5^q (high word, then low word).</summary>
    private static readonly ulong[] PowersOfFive = BuildPowersOfFive();

    /// <summary>
    /// Reads <paramref name="text"/> (a whole JSON number). An integer (no fraction, no exponent) of at most
    /// 18 digits comes back as <paramref name="whole"/> with <paramref name="isInteger"/> true; any other number
    /// as <paramref name="real"/>. False: let the framework's parser decide.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<char> text, out long whole, out double real, out bool isInteger)
    {
        whole = 0;
        real = 0;
        isInteger = false;
        var i = 0;
        var negative = false;
        if (i < text.Length && text[i] == '-')
        {
            negative = true;
            i++;
        }
        if (i >= text.Length || !char.IsAsciiDigit(text[i]))
        {
            return false;
        }
        ulong mantissa = 0;
        var significant = 0;
        var exponent = 0;
        if (text[i] == '0')
        {
            i++;
        }
        else
        {
            while (i < text.Length && char.IsAsciiDigit(text[i]))
            {
                if (!AddDigit(ref mantissa, ref significant, text[i]))
                {
                    return false;
                }
                i++;
            }
        }
        var integral = true;
        if (i < text.Length && text[i] == '.')
        {
            integral = false;
            i++;
            var fractionStart = i;
            while (i < text.Length && char.IsAsciiDigit(text[i]))
            {
                if (!AddDigit(ref mantissa, ref significant, text[i]))
                {
                    return false;
                }
                exponent--;
                i++;
            }
            if (i == fractionStart)
            {
                return false;
            }
        }
        if (i < text.Length && (text[i] == 'e' || text[i] == 'E'))
        {
            integral = false;
            i++;
            var exponentNegative = false;
            if (i < text.Length && (text[i] == '+' || text[i] == '-'))
            {
                exponentNegative = text[i] == '-';
                i++;
            }
            var exponentStart = i;
            var written = 0;
            while (i < text.Length && char.IsAsciiDigit(text[i]))
            {
                // Beyond 10^6 the value is zero or infinite either way; the framework handles those.
                if (written < 1_000_000)
                {
                    written = written * 10 + (text[i] - '0');
                }
                i++;
            }
            if (i == exponentStart)
            {
                return false;
            }
            exponent += exponentNegative ? -written : written;
        }
        if (i != text.Length)
        {
            return false;
        }
        if (integral)
        {
            if (significant > 18)
            {
                return false;
            }
            isInteger = true;
            whole = negative ? -(long)mantissa : (long)mantissa;
            return true;
        }
        if (mantissa == 0)
        {
            real = negative ? -0.0 : 0.0;
            return true;
        }
        if (mantissa <= MaxExactMantissa && exponent >= -22 && exponent <= 22)
        {
            var exact = (double)mantissa;
            exact = exponent < 0 ? exact / ExactPowersOfTen[-exponent] : exact * ExactPowersOfTen[exponent];
            real = negative ? -exact : exact;
            return true;
        }
        if (!TryEiselLemire(mantissa, exponent, out var bits))
        {
            return false;
        }
        real = BitConverter.UInt64BitsToDouble(bits | (negative ? 1UL << 63 : 0));
        return true;
    }

    private static bool AddDigit(ref ulong mantissa, ref int significant, char digit)
    {
        if (mantissa == 0 && digit == '0')
        {
            // A leading zero (of the fraction, e.g. 0.000123) is not a significant digit.
            return true;
        }
        if (significant == 19)
        {
            return false;
        }
        mantissa = mantissa * 10 + (ulong)(digit - '0');
        significant++;
        return true;
    }

    /// <summary>
    /// w * 10^q (w non-zero, at most 19 digits) as the bits of a normal double, correctly rounded; false
    /// for subnormal or infinite results and when the 128-bit product cannot settle the rounding.
    /// </summary>
    private static bool TryEiselLemire(ulong w, int q, out ulong bits)
    {
        bits = 0;
        if (q < SmallestPowerOfFive || q > LargestPowerOfFive)
        {
            return false;
        }
        var leadingZeros = BitOperations.LeadingZeroCount(w);
        w <<= leadingZeros;
        var index = 2 * (q - SmallestPowerOfFive);
        var high = Math.BigMul(w, PowersOfFive[index], out var low);
        // Only the top 55 bits matter; when the rest are all ones a carry from the next word may change them.
        const ulong precisionMask = ulong.MaxValue >> (MantissaBits + 3);
        if ((high & precisionMask) == precisionMask)
        {
            var secondHigh = Math.BigMul(w, PowersOfFive[index + 1], out _);
            low += secondHigh;
            if (secondHigh > low)
            {
                high++;
            }
        }
        if (low == ulong.MaxValue && (q < -27 || q > 55))
        {
            // The truncated power of five may be too small to decide; rare, so leave it to the framework.
            return false;
        }
        var upperBit = (int)(high >> 63);
        var shift = upperBit + 64 - MantissaBits - 3;
        var mantissa = high >> shift;
        var power2 = (((152170 + 65536) * q) >> 16) + 63 + upperBit - leadingZeros - MinimumExponent;
        if (power2 <= 0)
        {
            return false;
        }
        // Exactly halfway between two doubles (only possible while 5^q fits 64 bits): round to even.
        if (low <= 1 && q >= -4 && q <= 23 && (mantissa & 3) == 1 && (mantissa << shift) == high)
        {
            mantissa &= ~1UL;
        }
        mantissa += mantissa & 1;
        mantissa >>= 1;
        if (mantissa >= 2UL << MantissaBits)
        {
            mantissa = 1UL << MantissaBits;
            power2++;
        }
        mantissa &= ~(1UL << MantissaBits);
        if (power2 >= InfinitePower)
        {
            return false;
        }
        bits = mantissa | ((ulong)power2 << MantissaBits);
        return true;
    }

    /// <summary>
    /// The fast_float table: for q &lt; 0 a 128-bit reciprocal of 5^-q rounded up (exact to 128 bits for
    /// q &gt;= -27, truncated beyond), for q &gt;= 0 5^q shifted to 128 bits and truncated.
    /// </summary>
    private static ulong[] BuildPowersOfFive()
    {
        var table = new ulong[2 * (LargestPowerOfFive - SmallestPowerOfFive + 1)];
        var two128 = BigInteger.One << 128;
        var two127 = BigInteger.One << 127;
        var mask64 = (BigInteger.One << 64) - 1;
        for (var q = SmallestPowerOfFive; q <= LargestPowerOfFive; q++)
        {
            BigInteger value;
            if (q < 0)
            {
                var power = BigInteger.Pow(5, -q);
                // z: the smallest z with 2^z >= 5^-q.
                var z = (int)(power - 1).GetBitLength();
                var b = q >= -27 ? z + 127 : 2 * z + 128;
                value = (BigInteger.One << b) / power + 1;
                while (value >= two128)
                {
                    value >>= 1;
                }
            }
            else
            {
                value = BigInteger.Pow(5, q);
                while (value < two127)
                {
                    value <<= 1;
                }
                while (value >= two128)
                {
                    value >>= 1;
                }
            }
            var index = 2 * (q - SmallestPowerOfFive);
            table[index] = (ulong)(value >> 64);
            table[index + 1] = (ulong)(value & mask64);
        }
        return table;
    }
}
