using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Logging;
using Weightless.Core.Artifacts;

namespace Weightless.Query;

/// <summary>Artifact housekeeping on timers: TTL expiry and events the outbox still holds.</summary>
internal sealed class ArtifactTimerFunctions
{
    private readonly ArtifactService _artifacts;
    private readonly ArtifactOutbox _outbox;
    private readonly ILogger<ArtifactTimerFunctions> _logger;

    public ArtifactTimerFunctions(ArtifactService artifacts, ArtifactOutbox outbox, ILogger<ArtifactTimerFunctions> logger)
    {
        _artifacts = artifacts;
        _outbox = outbox;
        _logger = logger;
    }

    [Function("ExpireArtifactVersions")]
    public async Task ExpireVersions([TimerTrigger("0 */5 * * * *")] TimerInfo timer, CancellationToken cancellationToken)
    {
        var result = await _artifacts.ExpireDueVersionsAsync(cancellationToken);
        if (result.ExpiredVersions > 0 || result.DeletedBlobs > 0)
        {
            _logger.LogInformation("TTL: expired {Versions} artifact versions, deleted {Blobs} blobs, kept {Kept} shared ones", result.ExpiredVersions, result.DeletedBlobs, result.KeptSharedBlobs);
        }
    }

    [Function("RepublishArtifactEvents")]
    public async Task RepublishEvents([TimerTrigger("30 */1 * * * *")] TimerInfo timer, CancellationToken cancellationToken)
    {
        var published = await _outbox.RepublishPendingAsync(cancellationToken);
        if (published > 0)
        {
            _logger.LogInformation("Published {Count} pending artifact event batches from the outbox", published);
        }
    }
}
