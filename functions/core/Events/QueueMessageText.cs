using System.Text;

namespace Weightless.Core.Events;

/// <summary>
/// How a queue message's text relates to its bytes, for the queues Event Grid delivers to.
/// </summary>
/// <remarks>
/// Event Grid writes each event to a storage-queue destination <b>base64-encoded</b>: reported and
/// confirmed in MicrosoftDocs/azure-docs#102923 ("messages pushed by EventGrid are base64
/// encoded", closed as a doc fix), which superseded the older quickstart note (azure-docs#69702,
/// 2021) that Event Grid wrote plain text. Base64 is also the Functions queue trigger's default
/// <c>extensions.queues.messageEncoding</c> (QueueTriggerAttribute docs: "By default messages
/// received from the queue are expected to be Base64-encoded"), so every app's host.json says
/// <c>"messageEncoding": "base64"</c>, the dev host's topic endpoint writes base64, and its queue
/// poller decodes base64 — the same bytes reach a function in Azure and locally. The storage SDK
/// client itself is configured with <c>QueueMessageEncoding.None</c> so that this class is the one
/// place the encoding is applied.
/// </remarks>
internal static class QueueMessageText
{
    /// <summary>The value of <c>extensions.queues.messageEncoding</c> that matches <see cref="Encode(string)"/>.</summary>
    public const string HostJsonEncoding = "base64";

    public static string Encode(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));

    public static string Encode(ReadOnlySpan<byte> bytes) => Convert.ToBase64String(bytes);

    /// <summary>The message's bytes; <see cref="FormatException"/> when the text is not base64 (a poison message).</summary>
    public static byte[] Decode(string messageText)
    {
        ArgumentNullException.ThrowIfNull(messageText);
        try
        {
            return Convert.FromBase64String(messageText);
        }
        catch (FormatException ex)
        {
            throw new FormatException("The queue message is not base64-encoded, so it was not written by Event Grid or a Functions queue output binding.", ex);
        }
    }
}
