using System.Globalization;
using System.Text;

namespace Weightless.Core.History;

/// <summary>
/// Reads one JSON text as the W&amp;B clients write it: standard JSON plus the bare tokens
/// <c>NaN</c>, <c>Infinity</c> and <c>-Infinity</c> outside strings (Python's json and Go's
/// simplejsonext both emit them; System.Text.Json rejects them). Values become plain CLR objects:
/// <c>null</c>, <see cref="bool"/>, <see cref="long"/> (integral literals that fit), <see cref="double"/>,
/// <see cref="string"/>, <see cref="JsonLineObject"/> (ordered; a repeated key keeps the last value)
/// and <see cref="List{T}"/> of values.
/// </summary>
internal static class TolerantJson
{
    /// <summary>Parses <paramref name="text"/>; <c>false</c> when it is not a single JSON value.</summary>
    public static bool TryParse(string text, out object? value)
    {
        var reader = new Reader(text);
        try
        {
            reader.SkipWhitespace();
            value = reader.ReadValue(0);
            reader.SkipWhitespace();
            return reader.AtEnd;
        }
        catch (FormatException)
        {
            value = null;
            return false;
        }
    }

    private static readonly char[] KeyStops = ['"', '\\'];

    private const int MaxCapacityHint = 1024;

    [ThreadStatic]
    private static int t_lastTopLevelCount;

    /// <summary>The previous top-level object's keys by position: the next line most likely repeats them.</summary>
    [ThreadStatic]
    private static string[]? t_lastTopLevelKeys;

    private const int PredictedKeys = 64;

    private static class KeyCache
    {
        public const int MaxKeyLength = 128;
        private const int MaxEntries = 4096;

        [ThreadStatic]
        private static HashSet<string>? t_keys;

        public static string Intern(ReadOnlySpan<char> key)
        {
            var keys = t_keys ??= new HashSet<string>(StringComparer.Ordinal);
            var lookup = keys.GetAlternateLookup<ReadOnlySpan<char>>();
            if (lookup.TryGetValue(key, out var known))
            {
                return known;
            }
            var created = key.ToString();
            if (keys.Count >= MaxEntries)
            {
                // A run with unbounded key names (ids in keys) must not grow this without limit.
                keys.Clear();
            }
            keys.Add(created);
            return created;
        }
    }

    private ref struct Reader(string text)
    {
        private const int MaxDepth = 256;
        private readonly string _text = text;
        private int _position;

        public readonly bool AtEnd => _position >= _text.Length;

        public void SkipWhitespace()
        {
            while (_position < _text.Length && _text[_position] is ' ' or '\t' or '\r' or '\n')
            {
                _position++;
            }
        }

        public object? ReadValue(int depth)
        {
            if (depth > MaxDepth || AtEnd)
            {
                throw new FormatException();
            }
            var c = _text[_position];
            switch (c)
            {
                case '{':
                    return ReadObject(depth);
                case '[':
                    return ReadArray(depth);
                case '"':
                    return ReadString();
                case 't':
                    Expect("true");
                    return true;
                case 'f':
                    Expect("false");
                    return false;
                case 'n':
                    Expect("null");
                    return null;
                case 'N':
                    Expect("NaN");
                    return double.NaN;
                case 'I':
                    Expect("Infinity");
                    return double.PositiveInfinity;
                case '-' when _position + 1 < _text.Length && _text[_position + 1] == 'I':
                    _position++;
                    Expect("Infinity");
                    return double.NegativeInfinity;
                default:
                    if (c == '-' || char.IsAsciiDigit(c))
                    {
                        return ReadNumber();
                    }
                    throw new FormatException();
            }
        }

        private JsonLineObject ReadObject(int depth)
        {
            _position++;
            // A run's lines have the same keys line after line: sizing each top-level object like the
            // previous one saves the map's regrowth (three rehashes for a dozen keys).
            var result = depth == 0 ? new JsonLineObject(t_lastTopLevelCount) : new JsonLineObject();
            var predicted = depth == 0 ? t_lastTopLevelKeys ??= new string[PredictedKeys] : null;
            var keyPosition = 0;
            SkipWhitespace();
            if (!AtEnd && _text[_position] == '}')
            {
                _position++;
                return result;
            }
            while (true)
            {
                SkipWhitespace();
                if (AtEnd || _text[_position] != '"')
                {
                    throw new FormatException();
                }
                var key = ReadKey(predicted, keyPosition++);
                SkipWhitespace();
                if (AtEnd || _text[_position] != ':')
                {
                    throw new FormatException();
                }
                _position++;
                SkipWhitespace();
                result[key] = ReadValue(depth + 1);
                SkipWhitespace();
                if (AtEnd)
                {
                    throw new FormatException();
                }
                var c = _text[_position++];
                if (c == '}')
                {
                    if (depth == 0)
                    {
                        t_lastTopLevelCount = Math.Min(result.Count, MaxCapacityHint);
                    }
                    return result;
                }
                if (c != ',')
                {
                    throw new FormatException();
                }
            }
        }

        private List<object?> ReadArray(int depth)
        {
            _position++;
            var result = new List<object?>();
            SkipWhitespace();
            if (!AtEnd && _text[_position] == ']')
            {
                _position++;
                return result;
            }
            while (true)
            {
                SkipWhitespace();
                result.Add(ReadValue(depth + 1));
                SkipWhitespace();
                if (AtEnd)
                {
                    throw new FormatException();
                }
                var c = _text[_position++];
                if (c == ']')
                {
                    return result;
                }
                if (c != ',')
                {
                    throw new FormatException();
                }
            }
        }

        /// <summary>
        /// An object key. History rows repeat the same dozen keys on every line, so short escape-free
        /// keys come from a per-thread cache instead of a new string each time.
        /// </summary>
        private string ReadKey(string[]? predicted, int position)
        {
            var start = _position + 1;
            var end = _text.IndexOfAny(KeyStops, start);
            if (end < 0 || _text[end] != '"' || end - start > KeyCache.MaxKeyLength)
            {
                return ReadString();
            }
            _position = end + 1;
            var span = _text.AsSpan(start, end - start);
            if (predicted is null || position >= predicted.Length)
            {
                return KeyCache.Intern(span);
            }
            // Same key as the previous line at this position: a compare instead of a hash lookup.
            if (predicted[position] is { } previous && span.SequenceEqual(previous))
            {
                return previous;
            }
            return predicted[position] = KeyCache.Intern(span);
        }

        private string ReadString()
        {
            _position++;
            var start = _position;
            // Fast path: no escapes.
            while (_position < _text.Length)
            {
                var c = _text[_position];
                if (c == '"')
                {
                    var plain = _text.Substring(start, _position - start);
                    _position++;
                    return plain;
                }
                if (c == '\\')
                {
                    break;
                }
                _position++;
            }
            var builder = new StringBuilder(_text, start, _position - start, _position - start + 16);
            while (_position < _text.Length)
            {
                var c = _text[_position++];
                if (c == '"')
                {
                    return builder.ToString();
                }
                if (c != '\\')
                {
                    builder.Append(c);
                    continue;
                }
                if (AtEnd)
                {
                    throw new FormatException();
                }
                var escape = _text[_position++];
                switch (escape)
                {
                    case '"': builder.Append('"'); break;
                    case '\\': builder.Append('\\'); break;
                    case '/': builder.Append('/'); break;
                    case 'b': builder.Append('\b'); break;
                    case 'f': builder.Append('\f'); break;
                    case 'n': builder.Append('\n'); break;
                    case 'r': builder.Append('\r'); break;
                    case 't': builder.Append('\t'); break;
                    case 'u':
                        if (_position + 4 > _text.Length || !int.TryParse(_text.AsSpan(_position, 4), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var code))
                        {
                            throw new FormatException();
                        }
                        builder.Append((char)code);
                        _position += 4;
                        break;
                    default:
                        throw new FormatException();
                }
            }
            throw new FormatException();
        }

        private object ReadNumber()
        {
            var start = _position;
            var integral = true;
            if (_text[_position] == '-')
            {
                _position++;
            }
            while (_position < _text.Length)
            {
                var c = _text[_position];
                if (char.IsAsciiDigit(c))
                {
                    _position++;
                }
                else if (c is '.' or 'e' or 'E' or '+' or '-')
                {
                    integral = false;
                    _position++;
                }
                else
                {
                    break;
                }
            }
            var span = _text.AsSpan(start, _position - start);
            if (JsonNumber.TryParse(span, out var small, out var fast, out var isInteger))
            {
                // Boxed apart: a conditional expression would widen the long to double.
                if (isInteger)
                {
                    return small;
                }
                return fast;
            }
            if (integral && long.TryParse(span, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var whole))
            {
                return whole;
            }
            if (double.TryParse(span, NumberStyles.Float, CultureInfo.InvariantCulture, out var real))
            {
                return real;
            }
            throw new FormatException();
        }

        private void Expect(string token)
        {
            if (string.CompareOrdinal(_text, _position, token, 0, token.Length) != 0)
            {
                throw new FormatException();
            }
            _position += token.Length;
        }
    }
}

/// <summary>A JSON object as read by <see cref="TolerantJson"/>: keys in the order written.</summary>
internal sealed class JsonLineObject : OrderedDictionary<string, object?>
{
    public JsonLineObject()
        : base(StringComparer.Ordinal)
    {
    }

    public JsonLineObject(int capacity)
        : base(capacity, StringComparer.Ordinal)
    {
    }

    /// <summary>The media/table type of an object such as <c>{"_type": "image-file", "path": ...}</c>, or null.</summary>
    public string? MediaType => TryGetValue("_type", out var type) ? type as string : null;
}
