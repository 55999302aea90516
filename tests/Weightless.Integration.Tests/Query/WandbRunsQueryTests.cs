using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Weightless.Core.Query;
using Weightless.Core.Runs;
using Weightless.Core.Storage;
using Weightless.Integration.Tests.Runs;

namespace Weightless.Integration.Tests.Query;

/// <summary>
/// <c>wandb.Api().runs(path, filters, order, per_page)</c> as Python 0.16.6 sends it (the <c>Runs</c>
/// document from the recorded trace), answered from the per-project run index and its change log.
/// </summary>
public sealed class WandbRunsQueryTests(WandbTestHost host) : IClassFixture<WandbTestHost>
{
    /// <summary>Verbatim from python-0.16.6-run-artifact-use-api-sweep.jsonl (wandb/apis/public.py, class Runs).</summary>
    public const string PythonRuns = """
        query Runs($project: String!, $entity: String!, $cursor: String, $perPage: Int = 50, $order: String, $filters: JSONString) {
          project(name: $project, entityName: $entity) {
            runCount(filters: $filters)
            readOnly
            runs(filters: $filters, after: $cursor, first: $perPage, order: $order) {
              edges {
                node {
                  ...RunFragment
                }
                cursor
              }
              pageInfo {
                endCursor
                hasNextPage
              }
            }
          }
        }

        """ + PythonPublicApiFlowTests.RunFragment;

    private sealed record Seeded(string Name, double Lr, string Optimizer, double Loss, string[] Tags, string Group);

    private static readonly string[] Optimizers = ["adam", "sgd", "rmsprop"];

    private async Task<(string User, string Key, List<Seeded> Runs)> SeedAsync(string project, int count)
    {
        var (user, key) = await host.NewUserAsync();
        var runs = new List<Seeded>();
        for (var i = 0; i < count; i++)
        {
            var run = new Seeded($"r{i:D2}", 0.001 * (i + 1), Optimizers[i % 3], Math.Round(1.0 / (i + 1), 6), i % 2 == 0 ? ["even"] : ["odd", "keep"], i < count / 2 ? "g1" : "g2");
            runs.Add(run);
            await host.DataAsync(key, WandbDocuments.UpsertBucket, new
            {
                entity = user,
                project,
                name = run.Name,
                displayName = "trial-" + run.Name,
                groupName = run.Group,
                jobType = "train",
                tags = run.Tags,
                config = JsonSerializer.Serialize(new Dictionary<string, object>
                {
                    ["lr"] = new { desc = (string?)null, value = run.Lr },
                    ["optimizer"] = new { desc = (string?)null, value = run.Optimizer },
                    ["net"] = new { desc = (string?)null, value = new { width = 32 * (i + 1) } },
                }),
                summaryMetrics = JsonSerializer.Serialize(new { loss = run.Loss, acc = 1 - run.Loss }),
            });
        }
        return (user, key, runs);
    }

    /// <summary>Follows pages the way the Python client does: <c>after</c> = the last edge's cursor until hasNextPage is false.</summary>
    private async Task<(List<JsonObject> Nodes, List<int> Counts)> ListAllAsync(string key, string user, string project, string filters, string? order, int perPage)
    {
        var nodes = new List<JsonObject>();
        var counts = new List<int>();
        string? cursor = null;
        for (var pages = 0; pages < 100; pages++)
        {
            var data = await host.DataAsync(key, PythonRuns, new { project, entity = user, order, filters, perPage, cursor });
            var projectNode = data["project"]!;
            counts.Add(projectNode["runCount"]!.GetValue<int>());
            var edges = projectNode["runs"]!["edges"]!.AsArray();
            nodes.AddRange(edges.Select(e => e!["node"]!.AsObject()));
            var pageInfo = projectNode["runs"]!["pageInfo"]!;
            if (!pageInfo["hasNextPage"]!.GetValue<bool>())
            {
                return (nodes, counts);
            }
            cursor = edges[^1]!["cursor"]!.GetValue<string>();
            Assert.Equal(cursor, pageInfo["endCursor"]!.GetValue<string>());
        }
        throw new InvalidOperationException("Paging did not end.");
    }

    private static List<string> Names(IEnumerable<JsonObject> nodes) => nodes.Select(n => n["name"]!.GetValue<string>()).ToList();

    [Fact]
    public async Task Filters_and_orders_of_the_python_client_page_through_exactly_the_matching_runs()
    {
        var (user, key, runs) = await SeedAsync("sweep", 12);

        // wandb.Api().runs(path, filters={...}, order="+summary_metrics.loss", per_page=2)
        var filter = """{"$and": [{"config.lr.value": {"$gt": 0.0035}}, {"config.optimizer.value": {"$in": ["adam", "sgd"]}}]}""";
        var (nodes, counts) = await ListAllAsync(key, user, "sweep", filter, "+summary_metrics.loss", 2);
        var expected = runs.Where(r => r.Lr > 0.0035 && r.Optimizer is "adam" or "sgd").OrderBy(r => r.Loss).Select(r => r.Name).ToList();
        Assert.Equal(expected, Names(nodes));
        Assert.All(counts, c => Assert.Equal(expected.Count, c));

        // The RunFragment fields come from the run itself.
        var first = nodes[0];
        var run = runs.Single(r => r.Name == first["name"]!.GetValue<string>());
        Assert.Equal("trial-" + run.Name, first["displayName"]!.GetValue<string>());
        Assert.Equal(run.Group, first["group"]!.GetValue<string>());
        Assert.Equal(run.Lr, JsonNode.Parse(first["config"]!.GetValue<string>())!["lr"]!["value"]!.GetValue<double>());
        Assert.Equal(run.Loss, JsonNode.Parse(first["summaryMetrics"]!.GetValue<string>())!["loss"]!.GetValue<double>());
        Assert.Equal(run.Tags, first["tags"]!.AsArray().Select(t => t!.GetValue<string>()));
        Assert.Equal(user, first["user"]!["username"]!.GetValue<string>());

        // Descending config order, $or / $regex / tags / nested config / group / $nin, default order.
        var cases = new (string Filter, string? Order, Func<Seeded, bool> Match, Func<IEnumerable<Seeded>, IEnumerable<Seeded>> Sort)[]
        {
            ("{}", "-config.lr.value", _ => true, s => s.OrderByDescending(r => r.Lr)),
            ("""{"$or": [{"tags": {"$in": ["odd"]}}, {"summary_metrics.loss": {"$gte": 0.3}}]}""", "+config.lr.value", r => r.Tags.Contains("odd") || r.Loss >= 0.3, s => s.OrderBy(r => r.Lr)),
            ("""{"displayName": {"$regex": "^trial-r0[0-4]$"}}""", "-summary_metrics.loss", r => string.CompareOrdinal(r.Name, "r05") < 0, s => s.OrderByDescending(r => r.Loss)),
            ("""{"config.net.value.width": {"$lte": 128}, "group": "g1"}""", "+created_at", r => r.Group == "g1" && r.Lr <= 0.0041, s => s),
            ("""{"config.optimizer": {"$nin": ["adam"]}, "jobType": "train", "state": "running"}""", "-created_at", r => r.Optimizer != "adam", s => s.Reverse()),
            ("""{"$nor": [{"tags": "even"}], "summary_metrics.acc": {"$exists": true}}""", null, r => !r.Tags.Contains("even"), s => s.Reverse()),
        };
        foreach (var (caseFilter, order, match, sort) in cases)
        {
            var (listed, caseCounts) = await ListAllAsync(key, user, "sweep", caseFilter, order, 5);
            var want = sort(runs.Where(match)).Select(r => r.Name).ToList();
            Assert.True(want.SequenceEqual(Names(listed)), $"{caseFilter} {order}: want {string.Join(",", want)}, got {string.Join(",", Names(listed))}");
            Assert.All(caseCounts, c => Assert.Equal(want.Count, c));
        }
    }

    [Fact]
    public async Task Bad_filters_and_orders_are_graphql_errors_not_500()
    {
        var (user, key, _) = await SeedAsync("bad", 1);
        foreach (var (filters, order) in new[] { ("{\"config.lr\": {\"$bogus\": 1}}", "-created_at"), ("{not json", "-created_at"), ("{}", "+nonsense_field"), ("{\"$and\": 3}", "-created_at") })
        {
            var (status, body) = await host.GraphQLAsync(key, PythonRuns, new { project = "bad", entity = user, order, filters, perPage = 10, cursor = (string?)null });
            Assert.Equal(200, status);
            Assert.NotNull(body["errors"]);
        }
        var (cursorStatus, cursorBody) = await host.GraphQLAsync(key, PythonRuns, new { project = "bad", entity = user, order = "-created_at", filters = "{}", perPage = 10, cursor = "not-a-cursor" });
        Assert.Equal(200, cursorStatus);
        Assert.NotNull(cursorBody["errors"]);
    }

    [Fact]
    public async Task Paging_while_runs_are_added_returns_every_existing_run_exactly_once()
    {
        var (user, key, runs) = await SeedAsync("grow", 9);
        var seen = new List<string>();
        string? cursor = null;
        var added = 0;
        for (var pages = 0; pages < 50; pages++)
        {
            var data = await host.DataAsync(key, PythonRuns, new { project = "grow", entity = user, order = "+config.lr.value", filters = "{}", perPage = 2, cursor });
            var edges = data["project"]!["runs"]!["edges"]!.AsArray();
            seen.AddRange(edges.Select(e => e!["node"]!["name"]!.GetValue<string>()));
            // Between pages, add runs that sort before and after the cursor.
            await host.DataAsync(key, WandbDocuments.UpsertBucket, new { entity = user, project = "grow", name = $"new{added++}", config = JsonSerializer.Serialize(new { lr = new { value = added % 2 == 0 ? 0.0 : 1.0 } }) });
            if (!data["project"]!["runs"]!["pageInfo"]!["hasNextPage"]!.GetValue<bool>())
            {
                break;
            }
            cursor = edges[^1]!["cursor"]!.GetValue<string>();
        }
        Assert.Equal(seen.Count, seen.Distinct().Count());
        Assert.Subset(seen.ToHashSet(), runs.Select(r => r.Name).ToHashSet());
    }

    /// <summary>
    /// Writers update runs while readers query; every query must see every write that finished before
    /// it started (the change log is read on each query), on this instance and on a second index
    /// instance that shares only storage (another Functions instance).
    /// </summary>
    [Fact]
    public async Task Queries_reflect_every_write_finished_before_they_started_under_concurrent_writers()
    {
        var (user, key, runs) = await SeedAsync("live", 4);
        var ids = new Dictionary<string, string>();
        foreach (var run in runs)
        {
            var found = await host.DataAsync(key, "query R($p: String!, $e: String!, $n: String!) { project(name: $p, entityName: $e) { run(name: $n) { id } } }", new { p = "live", e = user, n = run.Name });
            ids[run.Name] = found["project"]!["run"]!["id"]!.GetValue<string>();
        }
        var index = host.Services.GetRequiredService<RunIndexService>();
        var otherInstance = ActivatorUtilities.CreateInstance<RunIndexService>(host.Services, Options.Create(new RunIndexOptions()));
        var finished = new ConcurrentDictionary<string, int>();
        var failures = new ConcurrentBag<string>();
        using var stop = new CancellationTokenSource();

        async Task WriteAsync(string name)
        {
            for (var version = 1; version <= 12; version++)
            {
                // run.update() in Python: upsertBucket by id with the whole summary.
                await host.DataAsync(key, WandbDocuments.UpsertBucket, new { id = ids[name], summaryMetrics = JsonSerializer.Serialize(new { version }) });
                finished[name] = version;
            }
        }

        async Task ReadAsync(RunIndexService reader)
        {
            while (!stop.IsCancellationRequested)
            {
                var before = new Dictionary<string, int>(finished);
                var versions = await reader.ReadAsync(user, "live", table =>
                {
                    var column = table.Column(RunField.Parse("summary_metrics.version", "sort"));
                    var result = new Dictionary<string, double>();
                    foreach (var position in table.LivePositions())
                    {
                        var value = column?[position] ?? default;
                        result[table.Id(position)] = value.Kind == IndexValueKind.Number ? value.Number : 0;
                    }
                    return result;
                }, CancellationToken.None);
                foreach (var (name, version) in before)
                {
                    if (versions.GetValueOrDefault(name) < version)
                    {
                        failures.Add($"{name}: saw {versions.GetValueOrDefault(name)} after version {version} was written");
                    }
                }
                var (_, body) = await host.GraphQLAsync(key, PythonRuns, new { project = "live", entity = user, filters = JsonSerializer.Serialize(new Dictionary<string, object> { ["summary_metrics.version"] = new Dictionary<string, int> { ["$gte"] = before.Values.DefaultIfEmpty(0).Min() } }), order = "-created_at", perPage = 10, cursor = (string?)null });
                var count = body["data"]?["project"]?["runCount"]?.GetValue<int>();
                if (before.Count == runs.Count && count != runs.Count)
                {
                    failures.Add($"runCount {count} with every run at version >= {before.Values.Min()}");
                }
            }
        }

        var readers = new[] { ReadAsync(index), ReadAsync(otherInstance), ReadAsync(index) };
        await Task.WhenAll(runs.Select(r => WriteAsync(r.Name)));
        stop.Cancel();
        await Task.WhenAll(readers);
        Assert.Empty(failures);

        // No lost updates: the final versions on both instances and after a cold start from the snapshot.
        var cold = ActivatorUtilities.CreateInstance<RunIndexService>(host.Services, Options.Create(new RunIndexOptions()));
        foreach (var reader in new[] { index, otherInstance, cold })
        {
            var count = await reader.ReadAsync(user, "live", table => RunQueryEngine.Match(table, RunFilter.Parse("{\"summary_metrics.version\": 12}"), false).Count, CancellationToken.None);
            Assert.Equal(runs.Count, count);
        }
    }

    [Fact]
    public async Task A_cold_start_loads_the_snapshot_and_applies_only_the_change_log_tail()
    {
        var (user, key, runs) = await SeedAsync("cold", 5);
        var index = host.Services.GetRequiredService<RunIndexService>();
        await index.RebuildAsync(user, "cold", CancellationToken.None);
        // Changes after the snapshot: an edited summary, a deleted run, a new run.
        var listing = await host.DataAsync(key, PythonRuns, new { project = "cold", entity = user, filters = "{}", order = "+created_at", perPage = 50, cursor = (string?)null });
        var edges = listing["project"]!["runs"]!["edges"]!.AsArray();
        await host.DataAsync(key, WandbDocuments.UpsertBucket, new { id = edges[0]!["node"]!["id"]!.GetValue<string>(), summaryMetrics = "{\"loss\": 42}" });
        await host.DataAsync(key, "mutation D($id: ID!) { deleteRun(input: {id: $id}) { clientMutationId } }", new { id = edges[1]!["node"]!["id"]!.GetValue<string>() });
        await host.DataAsync(key, WandbDocuments.UpsertBucket, new { entity = user, project = "cold", name = "late", summaryMetrics = "{\"loss\": 7}" });

        var source = new CountingSource(host.Services.GetRequiredService<IRunIndexSource>());
        // No margin: the seeding writes (just before the snapshot) would otherwise be re-read too.
        var cold = ActivatorUtilities.CreateInstance<RunIndexService>(host.Services, Options.Create(new RunIndexOptions { WatermarkMargin = TimeSpan.Zero }), source);
        var state = await cold.ReadAsync(user, "cold", table => table.LivePositions().Where(p => !table.IsDeleted(p)).ToDictionary(table.Id, p => table.Get(RunField.Parse("summary_metrics.loss", "f"), p).Number), CancellationToken.None);
        Assert.Equal(0, source.FullReads);
        Assert.Equal(42, state[runs[0].Name]);
        Assert.False(state.ContainsKey(runs[1].Name));
        Assert.Equal(7, state["late"]);
        Assert.Equal(runs.Count, state.Count);
        // The runs changed after the snapshot are point-read; so may be runs written within a change-log
        // lease before it (the seeding), whose later commits would not have an entry of their own.
        Assert.Superset(new HashSet<string> { runs[0].Name, runs[1].Name, "late" }, source.PointRead);
        Assert.Subset(runs.Select(r => r.Name).Append("late").ToHashSet(), source.PointRead);
    }

    [Fact]
    public async Task A_cold_start_after_a_save_rereads_only_runs_changed_since_and_lists_like_a_warm_index()
    {
        var (user, key, runs) = await SeedAsync("resaved", 6);
        var index = host.Services.GetRequiredService<RunIndexService>();
        // Two refreshes read the seeding's entries (each run written once, so no lease), then a save.
        await index.ReadAsync(user, "resaved", t => t.LiveCount, CancellationToken.None);
        await index.ReadAsync(user, "resaved", t => t.LiveCount, CancellationToken.None);
        await index.SaveAsync(user, "resaved", CancellationToken.None);

        var source = new CountingSource(host.Services.GetRequiredService<IRunIndexSource>());
        var cold = ActivatorUtilities.CreateInstance<RunIndexService>(host.Services, Options.Create(new RunIndexOptions()), source);
        Assert.Equal(runs.Count, await cold.ReadAsync(user, "resaved", t => t.LiveCount, CancellationToken.None));
        // Every logged change is in the snapshot: nothing is re-read, however recent.
        Assert.Equal(0, source.FullReads);
        Assert.Empty(source.PointRead);

        // A run changed after the save is re-read by the next cold start, and only that run.
        await host.DataAsync(key, WandbDocuments.UpsertBucket, new { entity = user, project = "resaved", name = runs[2].Name, summaryMetrics = "{\"loss\": 5, \"acc\": 0.5}" });
        var again = new CountingSource(host.Services.GetRequiredService<IRunIndexSource>());
        var coldAgain = ActivatorUtilities.CreateInstance<RunIndexService>(host.Services, Options.Create(new RunIndexOptions()), again);
        var principal = new Weightless.Core.Auth.Principal(user, false, Weightless.Core.Auth.AuthMethod.ApiKey);
        var spec = new RunQuerySpec(RunFilter.Parse("{\"config.lr\": {\"$gt\": 0.001}}"), RunQueryEngine.ParseSort(["-summary_metrics.loss"]), 3, null);
        var lazyPage = await ActivatorUtilities.CreateInstance<RunQueryService>(host.Services, coldAgain).ListRunsAsync(principal, user, "resaved", spec, CancellationToken.None);
        Assert.Contains(runs[2].Name, again.PointRead);
        var warmPage = await ActivatorUtilities.CreateInstance<RunQueryService>(host.Services, index).ListRunsAsync(principal, user, "resaved", spec, CancellationToken.None);
        Assert.Equal(runs[2].Name, lazyPage.Runs[0].Id);
        Assert.Equal(JsonSerializer.Serialize(warmPage), JsonSerializer.Serialize(lazyPage));
        // The lazily opened table decodes the rest on demand: a query over every column agrees with the warm one.
        var everything = await coldAgain.ReadAsync(user, "resaved", t => t.LivePositions().Select(p => JsonSerializer.Serialize(t.ToRow(p))).Order().ToList(), CancellationToken.None);
        Assert.Equal(await index.ReadAsync(user, "resaved", t => t.LivePositions().Select(p => JsonSerializer.Serialize(t.ToRow(p))).Order().ToList(), CancellationToken.None), everything);
    }

    [Fact]
    public async Task Commits_within_a_change_log_lease_share_one_entry_and_queries_still_see_each_one()
    {
        var (user, _, runs) = await SeedAsync("lease", 2);
        var storage = host.Services.GetRequiredService<StorageAccount>();
        var runService = host.Services.GetRequiredService<RunService>();
        var index = ActivatorUtilities.CreateInstance<RunIndexService>(host.Services, Options.Create(new RunIndexOptions()));
        var runKey = new RunKey(user, "lease", runs[0].Name);
        var version = RunField.Parse("summary_metrics.version", "filter");
        async Task<int> EntriesAsync() =>
            (await RunChangeLog.ReadSinceAsync(storage, user, "lease", DateTimeOffset.MinValue, CancellationToken.None)).Count(e => e.RunId == runKey.RunId);

        await index.ReadAsync(user, "lease", t => t.LiveCount, CancellationToken.None);
        var before = await EntriesAsync();
        var watch = System.Diagnostics.Stopwatch.StartNew();
        for (var v = 1; v <= 8; v++)
        {
            // What each file_stream post does: a run-row commit with a new summary.
            await runService.UpdateAsync(runKey, (row, _) =>
            {
                row.Summary = JsonSerializer.Serialize(new { version = v });
                return Task.FromResult(true);
            }, CancellationToken.None);
            var seen = await index.ReadAsync(user, "lease", t => t.TryGetPosition(runKey.RunId, out var p) ? t.Get(version, p).Number : -1, CancellationToken.None);
            Assert.Equal(v, seen);
        }
        // One entry per lease at most (the seeding's entry still covers the first commits on an idle machine).
        var written = await EntriesAsync() - before;
        Assert.True(written <= 1 + (int)(watch.Elapsed / RunChangeLog.Lease), $"{written} entries for 8 commits in {watch.Elapsed}");

        // A state change is always logged, and a filter by state sees it at once.
        var beforeState = await EntriesAsync();
        await runService.UpdateAsync(runKey, (row, _) =>
        {
            row.State = RunStates.Finished;
            return Task.FromResult(true);
        }, CancellationToken.None);
        Assert.Equal(beforeState + 1, await EntriesAsync());
        var finished = await index.ReadAsync(user, "lease", t => RunQueryEngine.Match(t, RunFilter.Parse("{\"state\": \"finished\"}"), false).Select(t.Id).ToList(), CancellationToken.None);
        Assert.Equal([runKey.RunId], finished);
    }

    /// <summary>
    /// A full build right after runs were written (a bulk seed): every entry lies within the change-log
    /// margin of the build (a margin of minutes here makes sure), yet a cold start re-reads no run whose
    /// entry names the version the build read; a run written during the build, after the build read it,
    /// is re-read and its finished commit is visible.
    /// </summary>
    [Fact]
    public async Task A_cold_start_after_a_build_skips_entries_of_the_versions_it_read_and_rereads_a_run_written_during_the_build()
    {
        var (user, _, runs) = await SeedAsync("bulk", 5);
        var runService = host.Services.GetRequiredService<RunService>();
        var inner = host.Services.GetRequiredService<IRunIndexSource>();
        var settings = Options.Create(new RunIndexOptions { WatermarkMargin = TimeSpan.FromMinutes(10) });
        // A state change: an entry without a lease, naming only its own commit's version.
        RunRow? written = null;
        var during = new WriteDuringBuildSource(inner, async () => written = await runService.UpdateAsync(new RunKey(user, "bulk", runs[0].Name), (row, _) =>
        {
            row.State = RunStates.Finished;
            row.Summary = "{\"loss\": 99}";
            return Task.FromResult(true);
        }, CancellationToken.None));
        await ActivatorUtilities.CreateInstance<RunIndexService>(host.Services, settings, during).RebuildAsync(user, "bulk", CancellationToken.None);
        Assert.True(during.Wrote);
        // The rule rests on this: the ETag a (transactional) row write returns is the one a later read sees.
        Assert.Equal(written!.ETag, (await runService.FindRunAsync(new RunKey(user, "bulk", runs[0].Name), CancellationToken.None))!.ETag);

        var source = new CountingSource(inner);
        var cold = ActivatorUtilities.CreateInstance<RunIndexService>(host.Services, settings, source);
        var state = await cold.ReadAsync(user, "bulk", t => t.LivePositions().ToDictionary(t.Id, p => (t.Get(RunField.State, p).Text, t.Get(RunField.Parse("summary_metrics.loss", "f"), p).Number)), CancellationToken.None);
        Assert.Equal(("finished", 99.0), state[runs[0].Name]);
        Assert.Equal(runs.Count, state.Count);
        Assert.Equal(0, source.FullReads);
        Assert.Equal([runs[0].Name], source.PointRead);
    }

    /// <summary>
    /// Each save compacts the change log up to the window a cold start of it reads: an instance that sat
    /// idle behind that mark (it has not seen a change the deleted entries named) reopens from the snapshot
    /// and sees the change; a cold start of the snapshot sees it too; and when a compaction passes even
    /// the newest snapshot's window, the index is rebuilt from the runs rather than answer without a change.
    /// </summary>
    [Fact]
    public async Task Compaction_never_loses_a_change_an_idle_or_cold_index_needs()
    {
        var (user, key, runs) = await SeedAsync("compact", 4);
        var storage = host.Services.GetRequiredService<StorageAccount>();
        var inner = host.Services.GetRequiredService<IRunIndexSource>();
        var settings = Options.Create(new RunIndexOptions { ChangeLogRetention = TimeSpan.Zero });
        var loss = RunField.Parse("summary_metrics.loss", "f");
        Task<double> LossAsync(RunIndexService index, string run) =>
            index.ReadAsync(user, "compact", t => t.TryGetPosition(run, out var p) && !t.IsDeleted(p) ? t.Get(loss, p).Number : double.NaN, CancellationToken.None);
        async Task<long> MarkAsync() => (await RunChangeLog.ReadTailAsync(storage, user, "compact", DateTimeOffset.MinValue, DateTimeOffset.MinValue, CancellationToken.None)).CompactedThroughTicks;

        var idleSource = new CountingSource(inner);
        var idle = ActivatorUtilities.CreateInstance<RunIndexService>(host.Services, settings, idleSource);
        // Its build is saved before anything else happens (so the saver below opens and replaces it).
        await idle.SaveAsync(user, "compact", CancellationToken.None);
        Assert.Equal(runs[0].Loss, await LossAsync(idle, runs[0].Name));
        // A change the idle instance has not read; then another instance saves a snapshot holding it.
        await host.DataAsync(key, WandbDocuments.UpsertBucket, new { entity = user, project = "compact", name = runs[0].Name, summaryMetrics = "{\"loss\": 42}" });
        await ActivatorUtilities.CreateInstance<RunIndexService>(host.Services, settings).SaveAsync(user, "compact", CancellationToken.None);
        var mark = await MarkAsync();
        // The mark is where a cold start of that snapshot starts reading: a lease and a margin before its watermark.
        Assert.InRange(new DateTimeOffset(mark, TimeSpan.Zero), DateTimeOffset.UtcNow - TimeSpan.FromMinutes(1), DateTimeOffset.UtcNow - RunChangeLog.Lease);

        var coldSource = new CountingSource(inner);
        Assert.Equal(42, await LossAsync(ActivatorUtilities.CreateInstance<RunIndexService>(host.Services, settings, coldSource), runs[0].Name));
        Assert.Equal(0, coldSource.FullReads);
        // The idle instance's window starts before the mark: it reopens from the snapshot (no full read).
        var fullReadsBefore = idleSource.FullReads;
        Assert.Equal(42, await LossAsync(idle, runs[0].Name));
        Assert.Equal(fullReadsBefore, idleSource.FullReads);

        // A compaction past every entry so far (as saves a lease and more after a later snapshot would do):
        // the log is empty, the mark says so, and a change made now still reaches an index whose window
        // starts before the mark, through a rebuild from the runs when its snapshot is older than the mark.
        await inner.CompactChangesAsync(user, "compact", DateTimeOffset.UtcNow, CancellationToken.None);
        Assert.Empty(await RunChangeLog.ReadSinceAsync(storage, user, "compact", DateTimeOffset.MinValue, CancellationToken.None));
        Assert.True(await MarkAsync() > mark);
        await host.DataAsync(key, WandbDocuments.UpsertBucket, new { entity = user, project = "compact", name = runs[1].Name, summaryMetrics = "{\"loss\": 7}" });
        var both = await idle.ReadAsync(user, "compact", t => (t.Get(loss, t.TryGetPosition(runs[0].Name, out var a) ? a : -1).Number, t.Get(loss, t.TryGetPosition(runs[1].Name, out var b) ? b : -1).Number), CancellationToken.None);
        Assert.Equal((42.0, 7.0), both);
        Assert.Equal(fullReadsBefore + 1, idleSource.FullReads);
        // The mark never moves back.
        await inner.CompactChangesAsync(user, "compact", DateTimeOffset.UtcNow - TimeSpan.FromHours(1), CancellationToken.None);
        Assert.True(await MarkAsync() > mark);
    }

    /// <summary>
    /// A tail read sends the leased entries of the whole window but the unleased ones only from its last
    /// part (an unleased entry before it stands for one commit the reader holds), and the compaction mark last.
    /// </summary>
    [Fact]
    public async Task The_tail_read_sends_leased_entries_of_the_whole_window_and_unleased_ones_of_its_last_part()
    {
        var (user, _, _) = await SeedAsync("tail", 1);
        var storage = host.Services.GetRequiredService<StorageAccount>();
        var table = await storage.TableAsync(RunChangeLog.TableName);
        var partition = RunService.PartitionOf(user, "tail");
        var now = DateTimeOffset.UtcNow;
        var entries = new (string Run, TimeSpan Age, double Lease)[] { ("old-leased", TimeSpan.FromSeconds(12), 15), ("old-once", TimeSpan.FromSeconds(12), 0), ("new-once", TimeSpan.FromSeconds(1), 0), ("new-leased", TimeSpan.FromSeconds(1), 15) };
        foreach (var (run, age, lease) in entries)
        {
            await table.UpsertAsync(new RunChangeRow { PartitionKey = partition, RowKey = TableKeys.Compose(RunChangeLog.TimeKey(now - age), run, "t"), RunId = run, LeaseSeconds = lease });
        }
        var tail = await RunChangeLog.ReadTailAsync(storage, user, "tail", now - TimeSpan.FromSeconds(20), now - TimeSpan.FromSeconds(5), CancellationToken.None);
        Assert.Equal(["new-leased", "new-once", "old-leased"], tail.Entries.Select(e => e.RunId).Where(id => id.Contains('-')).Order(StringComparer.Ordinal));
        Assert.Equal(0, tail.CompactedThroughTicks);
        var deleted = await RunChangeLog.CompactAsync(storage, user, "tail", now - TimeSpan.FromSeconds(5), 1000, CancellationToken.None);
        Assert.True(deleted >= 2);
        var after = await RunChangeLog.ReadTailAsync(storage, user, "tail", now - TimeSpan.FromSeconds(20), now - TimeSpan.FromSeconds(5), CancellationToken.None);
        Assert.Equal(["new-leased", "new-once"], after.Entries.Select(e => e.RunId).Where(id => id.Contains('-')).Order(StringComparer.Ordinal));
        Assert.Equal((now - TimeSpan.FromSeconds(5)).UtcTicks, after.CompactedThroughTicks);
    }

    /// <summary>Performs one write after the full read has yielded its first run (so the build holds that run's older version).</summary>
    private sealed class WriteDuringBuildSource(IRunIndexSource inner, Func<Task> write) : IRunIndexSource
    {
        public bool Wrote { get; private set; }

        public async IAsyncEnumerable<RunIndexRow> ReadAllAsync(string entity, string project, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
        {
            await foreach (var row in inner.ReadAllAsync(entity, project, cancellationToken).ConfigureAwait(false))
            {
                yield return row;
                if (!Wrote)
                {
                    Wrote = true;
                    await write().ConfigureAwait(false);
                }
            }
        }

        public Task<RunChangeSet> ReadChangesAsync(string entity, string project, DateTimeOffset since, DateTimeOffset unleasedSince, CancellationToken cancellationToken) =>
            inner.ReadChangesAsync(entity, project, since, unleasedSince, cancellationToken);

        public Task<RunIndexDelta> ReadRunsAsync(string entity, string project, IReadOnlyCollection<string> runIds, CancellationToken cancellationToken) =>
            inner.ReadRunsAsync(entity, project, runIds, cancellationToken);

        public Task CompactChangesAsync(string entity, string project, DateTimeOffset before, CancellationToken cancellationToken) =>
            inner.CompactChangesAsync(entity, project, before, cancellationToken);
    }

    private sealed class CountingSource(IRunIndexSource inner) : IRunIndexSource
    {
        public int FullReads { get; private set; }

        public HashSet<string> PointRead { get; } = [];

        public IAsyncEnumerable<RunIndexRow> ReadAllAsync(string entity, string project, CancellationToken cancellationToken)
        {
            FullReads++;
            return inner.ReadAllAsync(entity, project, cancellationToken);
        }

        public Task<RunChangeSet> ReadChangesAsync(string entity, string project, DateTimeOffset since, DateTimeOffset unleasedSince, CancellationToken cancellationToken) =>
            inner.ReadChangesAsync(entity, project, since, unleasedSince, cancellationToken);

        public Task<RunIndexDelta> ReadRunsAsync(string entity, string project, IReadOnlyCollection<string> runIds, CancellationToken cancellationToken)
        {
            PointRead.UnionWith(runIds);
            return inner.ReadRunsAsync(entity, project, runIds, cancellationToken);
        }

        public Task CompactChangesAsync(string entity, string project, DateTimeOffset before, CancellationToken cancellationToken) =>
            inner.CompactChangesAsync(entity, project, before, cancellationToken);
    }

    [Fact]
    public async Task Another_tenants_key_lists_nothing()
    {
        var (user, _, _) = await SeedAsync("private", 2);
        var (_, strangerKey) = await host.NewUserAsync();
        var (status, body) = await host.GraphQLAsync(strangerKey, PythonRuns, new { project = "private", entity = user, filters = "{}", order = "-created_at", perPage = 10, cursor = (string?)null });
        Assert.Equal(200, status);
        Assert.NotNull(body["errors"]);
        Assert.Null(body["data"]?["project"]?["runs"]);
    }
}
