using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace Weightless.EndToEnd.Tests.Traces;

/// <summary>
/// Parses JSON that may be cut off (the traces keep the first 4,000 characters of a response and
/// append <c>...&lt;truncated&gt;</c>): everything complete before the cut is returned, the value
/// the cut falls into is dropped. Enough to learn the shape a client was given.
/// </summary>
internal sealed class PartialJson
{
    public const string TruncationMarker = "...<truncated>";

    private readonly string _text;
    private int _at;

    private PartialJson(string text) => _text = text;

    /// <summary>True when the recorded text was cut.</summary>
    public static bool IsTruncated(string text) => text.EndsWith(TruncationMarker, StringComparison.Ordinal);

    public static JsonNode? Parse(string text)
    {
        var body = IsTruncated(text) ? text[..^TruncationMarker.Length] : text;
        var parser = new PartialJson(body);
        parser.Value(out var value);
        return value;
    }

    /// <summary>Reads one value; false when the text ended inside it.</summary>
    private bool Value(out JsonNode? value)
    {
        value = null;
        SkipWhitespace();
        if (_at >= _text.Length)
        {
            return false;
        }
        switch (_text[_at])
        {
            case '{':
                return Object(out value);
            case '[':
                return Array(out value);
            case '"':
                if (!String(out var text))
                {
                    return false;
                }
                value = JsonValue.Create(text);
                return true;
            default:
                return Literal(out value);
        }
    }

    private bool Object(out JsonNode? value)
    {
        var obj = new JsonObject();
        value = obj;
        _at++;
        while (true)
        {
            SkipWhitespace();
            if (_at >= _text.Length)
            {
                return false;
            }
            if (_text[_at] == '}')
            {
                _at++;
                return true;
            }
            if (_text[_at] == ',')
            {
                _at++;
                continue;
            }
            if (!String(out var key))
            {
                return false;
            }
            SkipWhitespace();
            if (_at >= _text.Length || _text[_at] != ':')
            {
                return false;
            }
            _at++;
            var complete = Value(out var member);
            if (!complete)
            {
                // Keep a cut container (its complete parts still show structure), drop a cut scalar.
                if (member is JsonObject or JsonArray)
                {
                    obj[key] = member;
                }
                return false;
            }
            obj[key] = member;
        }
    }

    private bool Array(out JsonNode? value)
    {
        var array = new JsonArray();
        value = array;
        _at++;
        while (true)
        {
            SkipWhitespace();
            if (_at >= _text.Length)
            {
                return false;
            }
            if (_text[_at] == ']')
            {
                _at++;
                return true;
            }
            if (_text[_at] == ',')
            {
                _at++;
                continue;
            }
            var complete = Value(out var item);
            if (!complete)
            {
                if (item is JsonObject or JsonArray)
                {
                    array.Add(item);
                }
                return false;
            }
            array.Add(item);
        }
    }

    private bool String(out string text)
    {
        var builder = new StringBuilder();
        text = "";
        _at++;
        while (_at < _text.Length)
        {
            var c = _text[_at++];
            if (c == '"')
            {
                text = builder.ToString();
                return true;
            }
            if (c != '\\')
            {
                builder.Append(c);
                continue;
            }
            if (_at >= _text.Length)
            {
                return false;
            }
            var escaped = _text[_at++];
            switch (escaped)
            {
                case 'n': builder.Append('\n'); break;
                case 't': builder.Append('\t'); break;
                case 'r': builder.Append('\r'); break;
                case 'b': builder.Append('\b'); break;
                case 'f': builder.Append('\f'); break;
                case 'u':
                    if (_at + 4 > _text.Length)
                    {
                        return false;
                    }
                    builder.Append((char)int.Parse(_text.AsSpan(_at, 4), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                    _at += 4;
                    break;
                default: builder.Append(escaped); break;
            }
        }
        return false;
    }

    private bool Literal(out JsonNode? value)
    {
        value = null;
        var start = _at;
        while (_at < _text.Length && !IsDelimiter(_text[_at]))
        {
            _at++;
        }
        if (_at >= _text.Length)
        {
            return false;
        }
        var token = _text[start.._at];
        switch (token)
        {
            case "null":
                return true;
            case "true":
                value = JsonValue.Create(true);
                return true;
            case "false":
                value = JsonValue.Create(false);
                return true;
            default:
                if (double.TryParse(token, NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
                {
                    value = JsonValue.Create(number);
                    return true;
                }
                throw new FormatException($"Unexpected token '{token}' at {start}.");
        }
    }

    private static bool IsDelimiter(char c) => c is ',' or '}' or ']' || char.IsWhiteSpace(c);

    private void SkipWhitespace()
    {
        while (_at < _text.Length && char.IsWhiteSpace(_text[_at]))
        {
            _at++;
        }
    }
}
