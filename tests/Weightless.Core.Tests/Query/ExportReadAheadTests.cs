using Weightless.Core.Query;

namespace Weightless.Core.Tests.Query;

public class ExportReadAheadTests
{
    private static async IAsyncEnumerable<int> Numbers(int count, int? failAt = null, Action<int>? onRead = null)
    {
        for (var i = 0; i < count; i++)
        {
            await Task.Yield();
            if (i == failAt)
            {
                throw new InvalidOperationException("storage failed at " + i);
            }
            onRead?.Invoke(i);
            yield return i;
        }
    }

    [Fact]
    public async Task Rows_read_ahead_arrive_complete_and_in_order()
    {
        var seen = new List<int>();
        await foreach (var n in ExportService.ReadAheadAsync(Numbers(5000)))
        {
            seen.Add(n);
        }
        Assert.Equal(Enumerable.Range(0, 5000), seen);
    }

    [Fact]
    public async Task A_read_failure_reaches_the_writer_after_the_rows_before_it()
    {
        var seen = new List<int>();
        var error = await Assert.ThrowsAsync<InvalidOperationException>(async () =>
        {
            await foreach (var n in ExportService.ReadAheadAsync(Numbers(5000, failAt: 3000)))
            {
                seen.Add(n);
            }
        });
        Assert.Equal("storage failed at 3000", error.Message);
        // Rows after the last full hand-over before the failure may be dropped; none after it appear.
        Assert.Equal(Enumerable.Range(0, seen.Count), seen);
        Assert.True(seen.Count <= 3000);
    }

    [Fact]
    public async Task A_writer_stopping_early_stops_the_reader()
    {
        var read = 0;
        await foreach (var n in ExportService.ReadAheadAsync(Numbers(1_000_000, onRead: _ => Interlocked.Increment(ref read))))
        {
            if (n == 10)
            {
                break;
            }
        }
        var after = Volatile.Read(ref read);
        await Task.Delay(50);
        // The reader ran at most its bounded distance ahead, and reads nothing more once the writer is gone.
        Assert.True(after < 20_000, $"read {after} rows");
        Assert.Equal(after, Volatile.Read(ref read));
    }
}
