using System.Text.RegularExpressions;
using Weightless.Core.Errors;

namespace Weightless.Core.Tenancy;

/// <summary>The naming rules W&B applies to entities and projects.</summary>
internal static partial class EntityNames
{
    [GeneratedRegex("^[a-z0-9][a-z0-9_.-]{0,63}$")]
    private static partial Regex EntityPattern();

    [GeneratedRegex("^[^/\\\\#?%:\\p{Cc}]{1,128}$")]
    private static partial Regex ProjectPattern();

    /// <summary>Entity (user or team) names: lowercase letters, digits, '-', '_', '.'; at most 64.</summary>
    public static string ValidateEntity(string? name, string field = "name")
    {
        if (string.IsNullOrWhiteSpace(name) || !EntityPattern().IsMatch(name))
        {
            throw new ValidationFailedException("An entity name is 1–64 lowercase letters, digits, '-', '_' or '.', starting with a letter or digit.", field);
        }
        return name;
    }

    /// <summary>Project names: up to 128 characters without '/', '\', '#', '?', '%', ':' or control characters.</summary>
    public static string ValidateProject(string? name, string field = "project")
    {
        if (string.IsNullOrWhiteSpace(name) || !ProjectPattern().IsMatch(name))
        {
            throw new ValidationFailedException("A project name is 1–128 characters without '/', '\\', '#', '?', '%', ':' or control characters.", field);
        }
        return name;
    }
}
