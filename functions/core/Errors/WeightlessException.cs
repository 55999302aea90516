namespace Weightless.Core.Errors;

/// <summary>
/// A failure a user can act on. Every subclass maps to one HTTP status and one problem type, so
/// functions never decide status codes themselves: the error middleware (Functions) and the
/// endpoint filter (dev host) both map through <see cref="ProblemMapper"/>.
/// </summary>
internal abstract class WeightlessException(string message, string? field = null, Exception? inner = null)
    : Exception(message, inner)
{
    /// <summary>The request field at fault (JSON path or parameter name), when one is.</summary>
    public string? Field { get; } = field;

    public abstract int StatusCode { get; }

    public abstract string Title { get; }
}

/// <summary>Input that cannot be accepted as sent (400).</summary>
internal sealed class ValidationFailedException(string message, string? field = null)
    : WeightlessException(message, field)
{
    public override int StatusCode => 400;
    public override string Title => "Invalid request";
}

/// <summary>No credentials, or credentials we do not accept (401).</summary>
internal sealed class UnauthenticatedException(string message)
    : WeightlessException(message)
{
    public override int StatusCode => 401;
    public override string Title => "Unauthorized";
}

/// <summary>The caller is known and may see the resource, but not do this to it (403).</summary>
internal sealed class ForbiddenException(string message)
    : WeightlessException(message)
{
    public override int StatusCode => 403;
    public override string Title => "Forbidden";
}

/// <summary>
/// Missing — or belonging to a tenant the caller cannot see. Both answer 404 so that existence never leaks.
/// </summary>
internal sealed class NotFoundException(string message)
    : WeightlessException(message)
{
    public override int StatusCode => 404;
    public override string Title => "Not found";
}

/// <summary>The resource changed or exists already (409); the caller may re-read and retry.</summary>
internal sealed class ConflictException(string message, Exception? inner = null)
    : WeightlessException(message, null, inner)
{
    public override int StatusCode => 409;
    public override string Title => "Conflict";
}

/// <summary>The request is well formed but over a documented size limit (413).</summary>
internal sealed class TooLargeException(string message, string? field = null)
    : WeightlessException(message, field)
{
    public override int StatusCode => 413;
    public override string Title => "Payload too large";
}

/// <summary>Rate limit exceeded (429); <see cref="RetryAfterSeconds"/> says when to come back.</summary>
internal sealed class RateLimitedException(string message, int retryAfterSeconds)
    : WeightlessException(message)
{
    public int RetryAfterSeconds { get; } = retryAfterSeconds;
    public override int StatusCode => 429;
    public override string Title => "Too many requests";
}
