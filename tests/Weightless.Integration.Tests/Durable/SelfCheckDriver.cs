using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Azure;
using Azure.Data.Tables;

namespace Weightless.Integration.Tests.Durable;

/// <summary>Drives the durable self-check over HTTP and reads the rows its steps leave, as an operator would.</summary>
internal static class SelfCheckDriver
{
    public const string Route = "/api/v1/sweeps/diagnostics/durable";

    public static async Task<string> StartAsync(HttpClient client, int steps, int delaySeconds)
    {
        using var response = await client.PostAsJsonAsync(Route, new { steps, delaySeconds });
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"POST {Route}: {(int)response.StatusCode} {body}");
        using var json = JsonDocument.Parse(body);
        var instanceId = json.RootElement.GetProperty("instanceId").GetString();
        Assert.False(string.IsNullOrEmpty(instanceId));
        Assert.Equal($"{Route}/{instanceId}", response.Headers.Location?.OriginalString);
        return instanceId!;
    }

    /// <summary>Polls GET until the instance is Completed (fails fast on Failed/Terminated).</summary>
    public static async Task<JsonElement> WaitForCompletionAsync(HttpClient client, string instanceId, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        string last = "";
        while (deadline.Elapsed < timeout)
        {
            try
            {
                using var response = await client.GetAsync($"{Route}/{instanceId}");
                last = $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}";
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
                    var status = json.RootElement.GetProperty("runtimeStatus").GetString();
                    if (status == "Completed")
                    {
                        return json.RootElement.Clone();
                    }
                    Assert.True(status is "Pending" or "Running", $"Self-check {instanceId} ended as {last}");
                }
            }
            catch (HttpRequestException ex)
            {
                // A dev host process that is still starting refuses connections.
                last = ex.Message;
            }
            await Task.Delay(200);
        }
        throw new TimeoutException($"Self-check {instanceId} did not complete within {timeout.TotalSeconds} s; last answer: {last}");
    }

    /// <summary>The self-check rows of one instance, straight from the table (row key → step).</summary>
    public static async Task<IReadOnlyList<int>> ReadStepsAsync(string connectionString, string prefix, string instanceId)
    {
        var table = new TableClient(connectionString, prefix + "durablechecks");
        var steps = new List<int>();
        try
        {
            var filter = TableClient.CreateQueryFilter($"PartitionKey eq {"diagnostics"} and InstanceId eq {instanceId}");
            await foreach (var row in table.QueryAsync<TableEntity>(filter))
            {
                Assert.Equal($"{instanceId}:{row.GetInt32("Step")}", row.RowKey);
                steps.Add(row.GetInt32("Step")!.Value);
            }
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            // The table appears with the first step's row.
        }
        steps.Sort();
        return steps;
    }

    /// <summary>When the row of one step was last written (a step run again after a crash rewrites it).</summary>
    public static async Task<DateTimeOffset?> StepWrittenAtAsync(string connectionString, string prefix, string instanceId, int step)
    {
        var table = new TableClient(connectionString, prefix + "durablechecks");
        var row = await table.GetEntityIfExistsAsync<TableEntity>("diagnostics", $"{instanceId}:{step}");
        return row.HasValue ? row.Value!.GetDateTimeOffset("WrittenAt") : null;
    }

    public static HttpClient WithKey(HttpClient client, string apiKey)
    {
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue(
            "Basic", Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes("api:" + apiKey)));
        return client;
    }
}
