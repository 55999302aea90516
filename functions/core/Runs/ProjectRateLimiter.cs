using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Weightless.Core.Errors;

namespace Weightless.Core.Runs;

/// <summary>Bound from the <c>RateLimits</c> section (seed §1.8: W&amp;B allows 500 file_stream posts per project per second).</summary>
internal sealed class RateLimitOptions
{
    public const string Section = "RateLimits";

    /// <summary>Off by default so local runs and tests are never throttled; deployments turn it on.</summary>
    public bool Enabled { get; set; }

    public double FileStreamPerProjectPerSecond { get; set; } = 500;

    /// <summary>New runs (<c>upsertBucket</c> inserts) per project per second.</summary>
    public double RunCreationsPerProjectPerSecond { get; set; } = 50;
}

internal enum RateLimitedOperation
{
    FileStream,
    RunCreation,
}

/// <summary>One admission decision, written to the answer as the IETF <c>RateLimit-*</c> headers.</summary>
internal readonly record struct RateLimitDecision(bool Allowed, int Limit, int Remaining, int ResetSeconds, int RetryAfterSeconds)
{
    public void WriteTo(IHeaderDictionary headers)
    {
        headers["RateLimit-Limit"] = Limit.ToString(CultureInfo.InvariantCulture);
        headers["RateLimit-Remaining"] = Remaining.ToString(CultureInfo.InvariantCulture);
        headers["RateLimit-Reset"] = ResetSeconds.ToString(CultureInfo.InvariantCulture);
    }
}

/// <summary>
/// A token bucket per (operation, entity, project): it holds up to one second's worth of requests
/// and refills continuously. The buckets live in this process, so with N Function instances a
/// project may reach N times the configured rate in total — each instance enforces its own share.
/// That bounds the load one project puts on an instance without a storage round trip per post.
/// </summary>
internal sealed class ProjectRateLimiter(IOptions<RateLimitOptions> options, TimeProvider clock)
{
    private const int MaxBuckets = 10_000;
    private static readonly TimeSpan IdleAfter = TimeSpan.FromMinutes(1);
    private readonly ConcurrentDictionary<(RateLimitedOperation, string, string), Bucket> _buckets = new();

    public bool Enabled => options.Value.Enabled;

    /// <summary>
    /// Takes one token for the project, writes the headers to <paramref name="headers"/> (when given)
    /// and throws <see cref="RateLimitedException"/> (429 with Retry-After) when none is left.
    /// Does nothing when rate limiting is off.
    /// </summary>
    public RateLimitDecision? Require(RateLimitedOperation operation, string entity, string project, IHeaderDictionary? headers)
    {
        if (!options.Value.Enabled)
        {
            return null;
        }
        var rate = operation switch
        {
            RateLimitedOperation.FileStream => options.Value.FileStreamPerProjectPerSecond,
            _ => options.Value.RunCreationsPerProjectPerSecond,
        };
        if (rate <= 0)
        {
            return null;
        }
        var now = clock.GetTimestamp();
        if (_buckets.Count > MaxBuckets)
        {
            Evict(now);
        }
        var bucket = _buckets.GetOrAdd((operation, entity, project), _ => new Bucket(Math.Max(1, rate), now));
        var decision = bucket.Take(rate, now, clock);
        if (headers is not null)
        {
            decision.WriteTo(headers);
        }
        if (!decision.Allowed)
        {
            var what = operation == RateLimitedOperation.FileStream ? "file_stream posts" : "new runs";
            throw new RateLimitedException(
                $"Project {entity}/{project} is over its limit of {decision.Limit} {what} per second; retry after {decision.RetryAfterSeconds} s.",
                decision.RetryAfterSeconds);
        }
        return decision;
    }

    private void Evict(long now)
    {
        foreach (var (key, bucket) in _buckets)
        {
            if (bucket.IdleSince(now, clock) > IdleAfter)
            {
                _buckets.TryRemove(key, out _);
            }
        }
    }

    private sealed class Bucket(double capacity, long createdAt)
    {
        private readonly Lock _lock = new();
        private double _tokens = capacity;
        private long _updatedAt = createdAt;

        public TimeSpan IdleSince(long now, TimeProvider clock)
        {
            lock (_lock)
            {
                return clock.GetElapsedTime(_updatedAt, now);
            }
        }

        public RateLimitDecision Take(double rate, long now, TimeProvider clock)
        {
            lock (_lock)
            {
                var capacity = Math.Max(1, rate);
                _tokens = Math.Min(capacity, _tokens + (clock.GetElapsedTime(_updatedAt, now).TotalSeconds * rate));
                _updatedAt = now;
                var allowed = _tokens >= 1;
                if (allowed)
                {
                    _tokens -= 1;
                }
                var limit = (int)Math.Ceiling(capacity);
                var reset = (int)Math.Ceiling((capacity - _tokens) / rate);
                var retryAfter = allowed ? 0 : Math.Max(1, (int)Math.Ceiling((1 - _tokens) / rate));
                return new RateLimitDecision(allowed, limit, (int)Math.Floor(_tokens), reset, retryAfter);
            }
        }
    }
}
