using Azure;
using Azure.Data.Tables;
using Weightless.Core.Errors;
using Weightless.Core.Storage;
using Weightless.Tests.Infrastructure;

namespace Weightless.Integration.Tests.Storage;

/// <summary>The storage choke point (tables and blobs) against Azurite, including the limits Azurite does not enforce itself.</summary>
public sealed class StorageChokePointTests
{
    private readonly StorageAccount _account = TestStorage.NewAccount();

    private static TableTransactionAction Upsert(string partition, string row, string payload = "x") =>
        new(TableTransactionActionType.UpsertReplace, new TableEntity(partition, row) { ["Payload"] = payload });

    [Fact]
    public async Task A_batch_of_more_than_100_entities_is_chunked_and_fully_stored()
    {
        var table = await _account.TableAsync("batches");
        var actions = Enumerable.Range(0, 250).Select(i => Upsert("tenant:p", $"r{i:D4}")).ToList();
        await table.SubmitBatchAsync(actions);

        var stored = await table.QueryPartitionAsync<TableEntity>("tenant:p").ToListAsync();
        Assert.Equal(250, stored.Count);
        Assert.Equal(3, _account.Metrics.Snapshot()["table.batch.ok"]);
    }

    [Fact]
    public async Task A_batch_over_4_MiB_is_split_by_size()
    {
        var table = await _account.TableAsync("bigbatches");
        var payload = new string('a', 30_000); // ~60 KB per entity on the wire: 4 MiB holds well under 100
        var actions = Enumerable.Range(0, 100).Select(i => Upsert("tenant:big", $"r{i:D3}", payload)).ToList();
        await table.SubmitBatchAsync(actions);

        Assert.Equal(100, (await table.QueryPartitionAsync<TableEntity>("tenant:big").ToListAsync()).Count);
        Assert.True(_account.Metrics.Snapshot()["table.batch.ok"] >= 2);
    }

    [Fact]
    public async Task A_batch_spanning_partitions_is_refused_before_anything_is_written()
    {
        var table = await _account.TableAsync("mixed");
        var actions = new List<TableTransactionAction> { Upsert("tenant-a", "1"), Upsert("tenant-b", "1") };
        await Assert.ThrowsAsync<InvalidOperationException>(() => table.SubmitBatchAsync(actions));
        Assert.Empty(await table.QueryAsync<TableEntity>(null).ToListAsync());
    }

    [Fact]
    public async Task Mixed_partitions_can_be_submitted_one_partition_at_a_time()
    {
        var table = await _account.TableAsync("bypartition");
        var actions = Enumerable.Range(0, 330).Select(i => Upsert($"tenant-{i % 3}", $"r{i:D4}")).ToList();
        await table.SubmitByPartitionAsync(actions);
        for (var p = 0; p < 3; p++)
        {
            Assert.Equal(110, (await table.QueryPartitionAsync<TableEntity>($"tenant-{p}").ToListAsync()).Count);
        }
    }

    [Fact]
    public async Task A_stale_etag_is_a_conflict_and_the_newer_write_survives()
    {
        var table = await _account.TableAsync("etags");
        var etag = await table.AddAsync(new TableEntity("tenant", "summary") { ["Value"] = 1 });
        var newer = await table.UpdateAsync(new TableEntity("tenant", "summary") { ["Value"] = 2 }, etag);

        await Assert.ThrowsAsync<ConflictException>(() => table.UpdateAsync(new TableEntity("tenant", "summary") { ["Value"] = 3 }, etag));
        await Assert.ThrowsAsync<ConflictException>(() => table.AddAsync(new TableEntity("tenant", "summary")));

        var stored = await table.GetAsync<TableEntity>("tenant", "summary");
        Assert.Equal(2, stored!.GetInt32("Value"));
        Assert.Equal(newer, stored.ETag);
        Assert.Null(await table.GetAsync<TableEntity>("tenant", "missing"));
    }

    [Fact]
    public async Task Entities_over_azure_limits_are_refused_although_azurite_would_accept_them()
    {
        var table = await _account.TableAsync("limits");
        var tooLongString = new TableEntity("tenant", "s") { ["Text"] = new string('x', TableStore.MaxStringChars + 1) };
        var tooBigBinary = new TableEntity("tenant", "b") { ["Data"] = new byte[TableStore.MaxBinaryBytes + 1] };
        var tooBigEntity = new TableEntity("tenant", "e");
        for (var i = 0; i < 17; i++)
        {
            tooBigEntity[$"Data{i}"] = new byte[TableStore.MaxBinaryBytes];
        }
        Assert.Equal("Text", (await Assert.ThrowsAsync<TooLargeException>(() => table.UpsertAsync(tooLongString))).Field);
        Assert.Equal("Data", (await Assert.ThrowsAsync<TooLargeException>(() => table.UpsertAsync(tooBigBinary))).Field);
        await Assert.ThrowsAsync<TooLargeException>(() => table.UpsertAsync(tooBigEntity));
        Assert.Empty(await table.QueryAsync<TableEntity>(null).ToListAsync());
    }

    [Fact]
    public async Task Escaped_keys_with_forbidden_characters_round_trip()
    {
        var table = await _account.TableAsync("keys");
        const string awkward = "runs/with#odd?chars\\and~tilde:colon\u0001";
        var row = TableKeys.Escape(awkward);
        await table.UpsertAsync(new TableEntity(TableKeys.Compose("tenant", awkward), row));
        var stored = await table.GetAsync<TableEntity>(TableKeys.Compose("tenant", awkward), row);
        Assert.NotNull(stored);
        Assert.Equal(awkward, TableKeys.Unescape(stored!.RowKey));
    }

    [Fact]
    public async Task Prefix_keeps_two_accounts_apart()
    {
        var other = TestStorage.NewAccount();
        var mine = await _account.TableAsync("shared");
        var theirs = await other.TableAsync("shared");
        await mine.UpsertAsync(new TableEntity("tenant", "only-mine"));
        Assert.NotEqual(mine.Name, theirs.Name);
        Assert.Null(await theirs.GetAsync<TableEntity>("tenant", "only-mine"));
    }

    [Fact]
    public async Task Blob_sas_url_lets_its_holder_upload_and_read_one_blob()
    {
        var container = await _account.ContainerAsync("files");
        var write = await container.GetSasUriAsync("tenant/run/a.txt", Azure.Storage.Sas.BlobSasPermissions.Create | Azure.Storage.Sas.BlobSasPermissions.Write, TimeSpan.FromMinutes(5));
        using var http = new HttpClient();
        using var put = new HttpRequestMessage(HttpMethod.Put, write) { Content = new StringContent("hello") };
        put.Headers.Add("x-ms-blob-type", "BlockBlob");
        Assert.True((await http.SendAsync(put)).IsSuccessStatusCode);

        var read = await container.GetSasUriAsync("tenant/run/a.txt", Azure.Storage.Sas.BlobSasPermissions.Read, TimeSpan.FromMinutes(5));
        Assert.Equal("hello", await http.GetStringAsync(read));
        var other = new UriBuilder(read) { Path = read.AbsolutePath.Replace("a.txt", "b.txt", StringComparison.Ordinal) }.Uri;
        Assert.False((await http.GetAsync(other)).IsSuccessStatusCode);
    }

    [Fact]
    public async Task A_ranged_read_returns_exactly_the_range_or_what_the_blob_holds_of_it()
    {
        var container = await _account.ContainerAsync("ranges");
        var content = Enumerable.Range(0, 3 * 1024 * 1024 + 17).Select(i => (byte)(i * 31 % 251)).ToArray();
        var etag = await container.UploadAsync("blob", BinaryData.FromBytes(content));

        var middle = (await container.DownloadRangeAsync("blob", 1_000_003, 2 * 1024 * 1024, etag))!.Value;
        Assert.Equal(content.AsSpan(1_000_003, 2 * 1024 * 1024).ToArray(), middle.Content.ToArray());
        Assert.Equal(etag, middle.ETag);

        // A range running past the end holds the blob's last bytes only (a cold open asks for 1 MiB of a smaller snapshot).
        var tail = (await container.DownloadRangeAsync("blob", content.Length - 100, 1 << 20))!.Value;
        Assert.Equal(content.AsSpan(content.Length - 100).ToArray(), tail.Content.ToArray());

        Assert.Null(await container.DownloadRangeAsync("missing", 0, 10));
        Assert.Equal(1, _account.Metrics.Snapshot()["blob.download_range.404"]);
    }

    [Fact]
    public async Task A_ranged_read_of_a_replaced_blob_is_a_conflict()
    {
        var container = await _account.ContainerAsync("replaced");
        var first = await container.UploadAsync("blob", BinaryData.FromBytes(new byte[4096]));
        await container.UploadAsync("blob", BinaryData.FromBytes(new byte[8192]));
        await Assert.ThrowsAsync<ConflictException>(() => container.DownloadRangeAsync("blob", 0, 1024, first));
    }
}
