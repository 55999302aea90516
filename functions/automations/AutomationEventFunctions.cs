using System.Globalization;
using System.Text.Json;
using Azure.Messaging;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Weightless.Core.Auth;
using Weightless.Core.Automations;
using Weightless.Core.Errors;

namespace Weightless.Automations;

/// <summary>The automation event log: what Event Grid delivered to the automations queue.</summary>
internal sealed class AutomationEventFunctions
{
    private readonly Authenticator _auth;
    private readonly EventLog _log;

    public AutomationEventFunctions(Authenticator auth, EventLog log)
    {
        _auth = auth;
        _log = log;
    }

    /// <summary>
    /// Records each CloudEvent from the automation-events queue. A message that is not a CloudEvent
    /// throws, so the host retries it and, after maxDequeueCount (5) attempts, moves it to the
    /// poison queue where it can be inspected.
    /// </summary>
    [Function("RecordAutomationEvent")]
    public async Task RecordAutomationEvent([QueueTrigger("%AutomationEventsQueue%")] string message, CancellationToken cancellationToken)
    {
        await _log.RecordAsync(ParseCloudEvent(message), cancellationToken);
    }

    [Function("ListAutomationEvents")]
    public async Task<IResult> ListAutomationEvents([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/automations/events")] HttpRequest req, CancellationToken cancellationToken)
    {
        var principal = await _auth.AuthenticateAsync(req.HttpContext, cancellationToken);
        int? limit = null;
        if (req.Query.TryGetValue("limit", out var limitText))
        {
            limit = int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed)
                ? parsed
                : throw new ValidationFailedException("limit must be a whole number.", "limit");
        }
        return TypedResults.Ok(await _log.ListAsync(principal, req.Query["entity"], limit, cancellationToken));
    }

    internal static CloudEvent ParseCloudEvent(string message)
    {
        try
        {
            return CloudEvent.Parse(BinaryData.FromString(message))
                ?? throw new InvalidOperationException("The automation-events message is empty; expected one CloudEvent.");
        }
        catch (Exception ex) when (ex is JsonException or ArgumentException or FormatException)
        {
            throw new InvalidOperationException($"The automation-events message is not a CloudEvent: {ex.Message}", ex);
        }
    }
}
