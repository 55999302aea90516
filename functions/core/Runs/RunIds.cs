using System.Text;
using Weightless.Core.Errors;

namespace Weightless.Core.Runs;

/// <summary>
/// The opaque ids the W&amp;B clients see: standard base64 of <c>Type:v1:…</c> strings, as W&amp;B
/// itself does, so clients that base64-decode ids (artifacts) keep working. A run id decodes back
/// to its key, which is how <c>upsertBucket(input: {id})</c> finds the run.
/// </summary>
internal static class RunIds
{
    private const string RunPrefix = "Run:v1:";

    public static string Run(RunKey key) => Encode($"{RunPrefix}{key.RunId}:{key.Project}:{key.Entity}");

    public static string Project(string entity, string project) => Encode($"Project:v1:{project}:{entity}");

    public static string Entity(string entity) => Encode($"Entity:{entity}");

    public static string User(string user) => Encode($"User:{user}");

    public static string File(RunKey key, string name) => Encode($"File:{Run(key)}:{name}");

    /// <summary>
    /// The run a storage id names. Entity and project names cannot contain ':', so they are the
    /// last two segments; whatever precedes them is the run id.
    /// </summary>
    public static RunKey ParseRun(string id, string field = "id")
    {
        string text;
        try
        {
            text = Encoding.UTF8.GetString(Convert.FromBase64String(id));
        }
        catch (FormatException)
        {
            throw new ValidationFailedException("The run id is not a valid run id.", field);
        }
        if (!text.StartsWith(RunPrefix, StringComparison.Ordinal))
        {
            throw new ValidationFailedException("The run id is not a valid run id.", field);
        }
        var rest = text[RunPrefix.Length..];
        var entitySeparator = rest.LastIndexOf(':');
        var projectSeparator = entitySeparator > 0 ? rest.LastIndexOf(':', entitySeparator - 1) : -1;
        if (projectSeparator <= 0 || entitySeparator == rest.Length - 1 || projectSeparator + 1 == entitySeparator)
        {
            throw new ValidationFailedException("The run id is not a valid run id.", field);
        }
        return new RunKey(rest[(entitySeparator + 1)..], rest[(projectSeparator + 1)..entitySeparator], rest[..projectSeparator]);
    }

    private static string Encode(string value) => Convert.ToBase64String(Encoding.UTF8.GetBytes(value));
}
