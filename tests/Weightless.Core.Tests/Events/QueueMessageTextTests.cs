using System.Text;
using Weightless.Core.Events;

namespace Weightless.Core.Tests.Events;

public sealed class QueueMessageTextTests
{
    [Theory]
    [InlineData("""{"specversion":"1.0","id":"1"}""")]
    [InlineData("ünïcödé ✓ <xml> & stuff")]
    [InlineData("")]
    public void EncodeThenDecode_GivesTheSameUtf8Bytes(string text)
    {
        var encoded = QueueMessageText.Encode(text);

        Assert.Equal(Encoding.UTF8.GetBytes(text), QueueMessageText.Decode(encoded));
        Assert.Matches("^[A-Za-z0-9+/=]*$", encoded);
    }

    [Fact]
    public void Decode_RejectsTextThatIsNotBase64()
    {
        var error = Assert.Throws<FormatException>(() => QueueMessageText.Decode("""{"not":"base64"}"""));

        Assert.Contains("base64", error.Message, StringComparison.Ordinal);
    }
}
