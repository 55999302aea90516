using System.Globalization;
using System.Text;

namespace Weightless.Core.Storage;

/// <summary>
/// Reversible escaping for Table partition and row keys. Azure rejects '/', '\', '#', '?' and
/// control characters in keys; user-chosen names (projects, runs, artifact paths) may contain
/// them. '~' is the escape character, so it is escaped too.
/// </summary>
internal static class TableKeys
{
    /// <summary>Azure's limit on a key, in UTF-16 characters (1 KiB).</summary>
    public const int MaxLength = 1024;

    /// <summary>Separates the tenant from the rest of a composite partition key.</summary>
    public const char Separator = ':';

    public static string Escape(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        StringBuilder? builder = null;
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (NeedsEscape(c))
            {
                builder ??= new StringBuilder(value, 0, i, value.Length + 8);
                builder.Append('~').Append(((int)c).ToString("X4", CultureInfo.InvariantCulture));
            }
            else
            {
                builder?.Append(c);
            }
        }
        var escaped = builder?.ToString() ?? value;
        if (escaped.Length > MaxLength)
        {
            throw new Errors.ValidationFailedException($"The name is too long to store ({value.Length} characters).", "name");
        }
        return escaped;
    }

    public static string Unescape(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var index = value.IndexOf('~', StringComparison.Ordinal);
        if (index < 0)
        {
            return value;
        }
        var builder = new StringBuilder(value.Length);
        builder.Append(value, 0, index);
        for (var i = index; i < value.Length; i++)
        {
            if (value[i] == '~' && i + 4 < value.Length)
            {
                builder.Append((char)int.Parse(value.AsSpan(i + 1, 4), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                i += 4;
            }
            else
            {
                builder.Append(value[i]);
            }
        }
        return builder.ToString();
    }

    /// <summary>A composite key: each part escaped, joined with <see cref="Separator"/>.</summary>
    public static string Compose(params string[] parts) =>
        string.Join(Separator, parts.Select(Escape));

    /// <summary>
    /// The smallest string greater than every key that starts with <paramref name="prefix"/>, for
    /// range scans (<c>RowKey ge prefix and RowKey lt PrefixEnd(prefix)</c>).
    /// </summary>
    public static string PrefixEnd(string prefix) =>
        prefix.Length == 0 ? "\uffff" : prefix[..^1] + (char)(prefix[^1] + 1);

    private static bool NeedsEscape(char c) =>
        c is '/' or '\\' or '#' or '?' or '~' or Separator || char.IsControl(c);
}
