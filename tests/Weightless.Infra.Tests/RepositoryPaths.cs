namespace Weightless.Infra.Tests;

/// <summary>Locates the repository (the folder holding Serverless.sln) and the Bicep sources under infra/.</summary>
internal static class RepositoryPaths
{
    private static readonly Lazy<string> Root = new(FindRoot);

    public static string RepositoryRoot => Root.Value;

    public static string InfraDirectory => Path.Combine(RepositoryRoot, "infra");

    /// <summary>Files under infra/ with the given extension, as forward-slash paths relative to infra/, sorted.</summary>
    public static IReadOnlyList<string> InfraFiles(string extension) =>
        Directory.EnumerateFiles(InfraDirectory, "*" + extension, SearchOption.AllDirectories)
            .Where(f => string.Equals(Path.GetExtension(f), extension, StringComparison.Ordinal))
            .Select(f => Path.GetRelativePath(InfraDirectory, f).Replace(Path.DirectorySeparatorChar, '/'))
            .Order(StringComparer.Ordinal)
            .ToList();

    private static string FindRoot()
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Serverless.sln")))
                {
                    return dir.FullName;
                }
            }
        }
        throw new InvalidOperationException($"Serverless.sln not found above {AppContext.BaseDirectory}.");
    }
}
