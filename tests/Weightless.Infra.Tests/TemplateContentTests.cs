using System.Text.Json.Nodes;

namespace Weightless.Infra.Tests;

/// <summary>
/// What the stamp deploys. The compiled main ARM template is checked directly for secrets; the
/// per-resource checks read the snapshot of customers/example.bicepparam (as "bicep snapshot"),
/// which expands the compiled template (loops, modules, parameters) into the list of resources a
/// deployment creates.
/// </summary>
[Collection(BicepCollection.Name)]
public sealed class TemplateContentTests(BicepRunFixture bicep)
{
    private static readonly string[] Apps = ["ingest", "query", "sweeps", "automations"];

    /// <summary>Architecture §1, as Front Door patterns. "/x/*" does not match "/x", so bare collection paths are listed too.</summary>
    private static readonly Dictionary<string, string> ExpectedRoutes = new(StringComparer.Ordinal)
    {
        ["/graphql"] = "ingest",
        ["/files/*"] = "ingest",
        ["/api/v1/sweeps"] = "sweeps",
        ["/api/v1/sweeps/*"] = "sweeps",
        ["/api/v1/automations"] = "automations",
        ["/api/v1/automations/*"] = "automations",
        ["/api/v1/webhooks"] = "automations",
        ["/api/v1/webhooks/*"] = "automations",
        ["/api/v1/*"] = "query",
        ["/*"] = "query",
    };

    private static readonly string[] RequiredAppSettings =
    [
        "AzureWebJobsStorage__accountName",
        "AzureWebJobsStorage__credential",
        "APPLICATIONINSIGHTS_CONNECTION_STRING",
        "Storage__AccountName",
        "Storage__TablePrefix",
        "EventGrid__TopicEndpoint",
        "AzureAd__Instance",
        "AzureAd__TenantId",
        "AzureAd__ClientId",
        "AzureAd__Audience",
        "Auth__Mode",
        "DurableTaskHub",
        "AutomationEventsQueue",
    ];

    /// <summary>Settings that are secrets (connection strings) or that Flex Consumption rejects.</summary>
    private static readonly string[] ForbiddenAppSettings =
    [
        "AzureWebJobsStorage",
        "FUNCTIONS_WORKER_RUNTIME",
        "FUNCTIONS_EXTENSION_VERSION",
        "WEBSITE_RUN_FROM_PACKAGE",
        "WEBSITE_CONTENTSHARE",
        "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING",
    ];

    private const string StorageBlobDataOwner = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b";
    private const string StorageQueueDataContributor = "974c5e8b-45b9-4653-ba55-5f855dd0fb88";
    private const string StorageTableDataContributor = "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3";
    private const string StorageQueueDataMessageSender = "c6a89b2d-59bc-44d0-9896-0f6e12d7b80a";
    private const string KeyVaultSecretsUser = "4633458b-17de-408a-b874-0445c86b69e6";
    private const string EventGridDataSender = "d5a91429-5739-47e2-a06b-3470a27159e7";

    [Fact]
    public void CompiledMainTemplateHasNoStorageSecretsAndDeclaresAppsAndRoutes()
    {
        var main = bicep.Templates["main.bicep"];
        var text = main.Output ?? throw new Xunit.Sdk.XunitException(main.ToString());
        var template = JsonNode.Parse(text)!;

        // No key lookups anywhere: every connection is identity-based.
        foreach (var keyFunction in new[] { "listKeys(", "listConnectionStrings(", "listAccountSas(", "listServiceSas(", "AccountKey=" })
        {
            Assert.DoesNotContain(keyFunction, text, StringComparison.OrdinalIgnoreCase);
        }

        var settingNames = AppSettingNames(template).ToList();
        Assert.NotEmpty(settingNames);
        AssertNoConnectionStringSettings(settingNames);
        foreach (var required in RequiredAppSettings)
        {
            Assert.True(settingNames.Contains(required), $"main.json sets no app setting {required}.");
        }

        var types = Descendants(template).OfType<JsonObject>()
            .Select(o => o["type"]).OfType<JsonValue>().Select(v => v.ToString()).ToHashSet(StringComparer.OrdinalIgnoreCase);
        Assert.Contains("Microsoft.Web/sites", types);
        Assert.Contains("Microsoft.Web/serverfarms", types);
        Assert.Contains("Microsoft.Cdn/profiles/afdEndpoints/routes", types);

        var strings = Descendants(template).OfType<JsonValue>().Select(v => v.ToString()).ToHashSet(StringComparer.Ordinal);
        foreach (var expected in Apps.Concat(ExpectedRoutes.Keys))
        {
            Assert.True(strings.Contains(expected), $"main.json never mentions \"{expected}\".");
        }
    }

    [Fact]
    public void FourFunctionAppsRunOnFlexConsumptionWithDotnetIsolated()
    {
        var snapshot = LoadSnapshot();
        var sites = SitesByApp(snapshot);
        Assert.Equal(Apps.Order(), sites.Keys.Order());

        var planIds = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (app, site) in sites)
        {
            Assert.Contains("functionapp", Str(site, "kind"), StringComparison.Ordinal);
            Assert.Contains("SystemAssigned", Str(site, "identity", "type"), StringComparison.Ordinal);
            Assert.True(site["properties"]?["httpsOnly"]?.GetValue<bool>(), $"{app}: httpsOnly");

            var planId = Str(site, "properties", "serverFarmId");
            Assert.True(planIds.Add(planId), $"{app}: Flex Consumption allows one app per plan, but {planId} is shared.");
            var plan = snapshot.Single(r => Str(r, "type") == "Microsoft.Web/serverfarms" && string.Equals(Str(r, "id"), planId, StringComparison.OrdinalIgnoreCase));
            Assert.Equal("FC1", Str(plan, "sku", "name"));
            Assert.Equal("FlexConsumption", Str(plan, "sku", "tier"));

            var config = site["properties"]?["functionAppConfig"] ?? throw new Xunit.Sdk.XunitException($"{app}: no functionAppConfig");
            Assert.Equal("dotnet-isolated", Str(config, "runtime", "name"));
            Assert.Equal("10.0", Str(config, "runtime", "version"));
            Assert.Equal("blobContainer", Str(config, "deployment", "storage", "type"));
            Assert.Contains(Str(config, "deployment", "storage", "authentication", "type"), new[] { "SystemAssignedIdentity", "UserAssignedIdentity" });
            Assert.Contains($"deploy-{app}", Str(config, "deployment", "storage", "value"), StringComparison.Ordinal);
            Assert.NotNull(config["scaleAndConcurrency"]?["maximumInstanceCount"]);
            Assert.NotNull(config["scaleAndConcurrency"]?["instanceMemoryMB"]);
        }
    }

    [Fact]
    public void AppSettingsUseManagedIdentityAndContainNoConnectionStringSecrets()
    {
        var snapshot = LoadSnapshot();
        var hubs = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (app, site) in SitesByApp(snapshot))
        {
            var settings = (site["properties"]?["siteConfig"]?["appSettings"] as JsonArray ?? throw new Xunit.Sdk.XunitException($"{app}: no appSettings"))
                .Select(s => (Name: Str(s, "name"), Value: s?["value"]?.ToString() ?? ""))
                .ToList();
            var byName = settings.ToDictionary(s => s.Name, s => s.Value, StringComparer.Ordinal);

            AssertNoConnectionStringSettings(byName.Keys);
            foreach (var required in RequiredAppSettings)
            {
                Assert.True(byName.ContainsKey(required), $"{app}: app setting {required} is missing.");
            }
            foreach (var (name, value) in settings)
            {
                Assert.DoesNotContain("AccountKey=", value, StringComparison.OrdinalIgnoreCase);
                Assert.DoesNotContain("SharedAccessSignature=", value, StringComparison.OrdinalIgnoreCase);
                Assert.DoesNotContain("listKeys(", value, StringComparison.OrdinalIgnoreCase);
                Assert.False(string.IsNullOrEmpty(value) && name != "Storage__TablePrefix", $"{app}: {name} is empty.");
            }

            Assert.Equal("managedidentity", byName["AzureWebJobsStorage__credential"]);
            Assert.Equal(byName["AzureWebJobsStorage__accountName"], byName["Storage__AccountName"]);
            Assert.Equal("", byName["Storage__TablePrefix"]);
            Assert.Equal("Entra", byName["Auth__Mode"]);
            Assert.Equal("automation-events", byName["AutomationEventsQueue"]);
            Assert.Equal("11111111-1111-1111-1111-111111111111", byName["AzureAd__ClientId"]);
            Assert.Contains("Microsoft.Insights/components/", byName["APPLICATIONINSIGHTS_CONNECTION_STRING"], StringComparison.Ordinal);
            Assert.Contains("Microsoft.EventGrid/topics/", byName["EventGrid__TopicEndpoint"], StringComparison.Ordinal);
            // Apps share one storage account, so each needs its own Durable task hub.
            Assert.True(hubs.Add(byName["DurableTaskHub"]), $"{app}: task hub {byName["DurableTaskHub"]} is used by another app.");
        }
    }

    [Fact]
    public void EachAppHasItsDataPlaneRoles()
    {
        var snapshot = LoadSnapshot();
        var storageId = Str(snapshot.Single(r => Str(r, "type") == "Microsoft.Storage/storageAccounts"), "id");
        var vaultId = Str(snapshot.Single(r => Str(r, "type") == "Microsoft.KeyVault/vaults"), "id");
        var topicId = Str(snapshot.Single(r => Str(r, "type") == "Microsoft.EventGrid/topics"), "id");
        var assignments = snapshot.Where(r => Str(r, "type") == "Microsoft.Authorization/roleAssignments").ToList();

        foreach (var (app, site) in SitesByApp(snapshot))
        {
            var mine = assignments
                .Where(a => Str(a, "properties", "principalId").Contains($"/Microsoft.Web/sites/{Str(site, "name")}'", StringComparison.Ordinal))
                .Select(a => (Role: Str(a, "properties", "roleDefinitionId").Split('/')[^1], Scope: Str(a, "id")))
                .ToList();
            AssertRole(app, mine, StorageBlobDataOwner, storageId);
            AssertRole(app, mine, StorageQueueDataContributor, storageId);
            AssertRole(app, mine, StorageTableDataContributor, storageId);
            AssertRole(app, mine, KeyVaultSecretsUser, vaultId);
            AssertRole(app, mine, EventGridDataSender, topicId);
        }

        static void AssertRole(string app, List<(string Role, string Scope)> assignments, string roleId, string scopeId) =>
            Assert.True(
                assignments.Any(a => a.Role == roleId && a.Scope.StartsWith(scopeId + "/providers/Microsoft.Authorization/roleAssignments/", StringComparison.OrdinalIgnoreCase)),
                $"{app}: missing role {roleId} on {scopeId}.");
    }

    [Fact]
    public void FrontDoorRoutesFollowTheArchitectureTable()
    {
        var snapshot = LoadSnapshot();
        var profile = snapshot.Single(r => Str(r, "type") == "Microsoft.Cdn/profiles");
        Assert.Equal("Standard_AzureFrontDoor", Str(profile, "sku", "name"));
        Assert.Single(snapshot, r => Str(r, "type") == "Microsoft.Cdn/profiles/afdEndpoints");

        var routes = snapshot.Where(r => Str(r, "type") == "Microsoft.Cdn/profiles/afdEndpoints/routes").ToList();
        var patternToApp = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var route in routes)
        {
            var originGroup = Str(route, "properties", "originGroup", "id").Split('/')[^1];
            Assert.Equal("HttpsOnly", Str(route, "properties", "forwardingProtocol"));
            Assert.Equal("Enabled", Str(route, "properties", "linkToDefaultDomain"));
            foreach (var pattern in (route["properties"]?["patternsToMatch"] as JsonArray ?? []).Select(p => p!.GetValue<string>()))
            {
                Assert.True(patternToApp.TryAdd(pattern, originGroup), $"Pattern {pattern} is in two routes; Front Door rejects that.");
            }
        }
        Assert.Equal(ExpectedRoutes.OrderBy(p => p.Key, StringComparer.Ordinal), patternToApp.OrderBy(p => p.Key, StringComparer.Ordinal));

        // Each origin group's single origin is the function app of the same name.
        var sites = SitesByApp(snapshot);
        foreach (var app in Apps)
        {
            var origin = snapshot.Single(r => Str(r, "type") == "Microsoft.Cdn/profiles/originGroups/origins" && Str(r, "name").Split('/')[1] == app);
            var siteReference = $"/Microsoft.Web/sites/{Str(sites[app], "name")}'";
            Assert.Contains(siteReference, Str(origin, "properties", "hostName"), StringComparison.Ordinal);
            Assert.Contains(siteReference, Str(origin, "properties", "originHostHeader"), StringComparison.Ordinal);
        }

        // Front Door: an exact pattern wins, else the longest matching wildcard pattern.
        var requests = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["/graphql"] = "ingest",
            ["/files/acme/mnist/run1/file_stream"] = "ingest",
            ["/api/v1/sweeps"] = "sweeps",
            ["/api/v1/sweeps/abc123/runs"] = "sweeps",
            ["/api/v1/automations"] = "automations",
            ["/api/v1/automations/a1/test"] = "automations",
            ["/api/v1/webhooks/w1"] = "automations",
            ["/api/v1/runs/acme/mnist/run1/history"] = "query",
            ["/api/v1/sweepsx"] = "query",
            ["/"] = "query",
            ["/assets/index.js"] = "query",
        };
        foreach (var (path, app) in requests)
        {
            Assert.True(RouteFor(patternToApp, path) == app, $"{path} should go to {app}, goes to {RouteFor(patternToApp, path)}.");
        }
    }

    [Fact]
    public void EventGridDeliversCloudEventsToTheAutomationQueueWithItsIdentity()
    {
        var snapshot = LoadSnapshot();
        var storageId = Str(snapshot.Single(r => Str(r, "type") == "Microsoft.Storage/storageAccounts"), "id");
        var topic = snapshot.Single(r => Str(r, "type") == "Microsoft.EventGrid/topics");
        Assert.Equal("CloudEventSchemaV1_0", Str(topic, "properties", "inputSchema"));
        Assert.Contains("SystemAssigned", Str(topic, "identity", "type"), StringComparison.Ordinal);

        var subscription = snapshot.Single(r => Str(r, "type") == "Microsoft.EventGrid/topics/eventSubscriptions");
        var delivery = subscription["properties"]?["deliveryWithResourceIdentity"];
        Assert.Equal("SystemAssigned", Str(delivery, "identity", "type"));
        Assert.Equal("StorageQueue", Str(delivery, "destination", "endpointType"));
        Assert.Equal("automation-events", Str(delivery, "destination", "properties", "queueName"));
        Assert.Equal(storageId, Str(delivery, "destination", "properties", "resourceId"), ignoreCase: true);

        Assert.Contains(snapshot, r =>
            Str(r, "type") == "Microsoft.Authorization/roleAssignments"
            && Str(r, "properties", "roleDefinitionId").EndsWith(StorageQueueDataMessageSender, StringComparison.OrdinalIgnoreCase)
            && Str(r, "id").StartsWith(storageId + "/providers/", StringComparison.OrdinalIgnoreCase)
            && Str(r, "properties", "principalId").Contains($"/Microsoft.EventGrid/topics/{Str(topic, "name")}'", StringComparison.Ordinal));
    }

    [Fact]
    public void StorageKeyVaultAndMonitoringAreHardened()
    {
        var snapshot = LoadSnapshot();
        var storage = snapshot.Single(r => Str(r, "type") == "Microsoft.Storage/storageAccounts");
        Assert.False(storage["properties"]?["allowSharedKeyAccess"]?.GetValue<bool>() ?? true, "allowSharedKeyAccess must be false");
        Assert.False(storage["properties"]?["allowBlobPublicAccess"]?.GetValue<bool>() ?? true, "allowBlobPublicAccess must be false");
        Assert.Equal("TLS1_2", Str(storage, "properties", "minimumTlsVersion"));

        var containers = snapshot.Where(r => Str(r, "type") == "Microsoft.Storage/storageAccounts/blobServices/containers")
            .Select(r => Str(r, "name").Split('/')[^1]).ToHashSet(StringComparer.Ordinal);
        foreach (var app in Apps)
        {
            Assert.Contains($"deploy-{app}", containers);
        }
        Assert.Contains(snapshot, r => Str(r, "type") == "Microsoft.Storage/storageAccounts/queueServices/queues" && Str(r, "name").EndsWith("/automation-events", StringComparison.Ordinal));

        var vault = snapshot.Single(r => Str(r, "type") == "Microsoft.KeyVault/vaults");
        Assert.True(vault["properties"]?["enableRbacAuthorization"]?.GetValue<bool>(), "Key Vault: RBAC authorization");
        Assert.True(vault["properties"]?["enableSoftDelete"]?.GetValue<bool>(), "Key Vault: soft delete");
        Assert.True(vault["properties"]?["enablePurgeProtection"]?.GetValue<bool>(), "Key Vault: purge protection");

        var workspace = snapshot.Single(r => Str(r, "type") == "Microsoft.OperationalInsights/workspaces");
        var insights = snapshot.Single(r => Str(r, "type") == "Microsoft.Insights/components");
        Assert.Equal(Str(workspace, "id"), Str(insights, "properties", "WorkspaceResourceId"), ignoreCase: true);
    }

    [Fact]
    public void OutputsNameTheBaseUrlAndTheApps()
    {
        var outputs = LoadSnapshotRoot()["outputs"] ?? throw new Xunit.Sdk.XunitException("snapshot has no outputs");
        Assert.Contains("/afdEndpoints/", Str(outputs, "frontDoorEndpointHostName"), StringComparison.Ordinal);
        Assert.StartsWith("[format('https://{0}'", Str(outputs, "wandbBaseUrl"), StringComparison.Ordinal);
        var sites = SitesByApp(LoadSnapshot());
        foreach (var app in Apps)
        {
            Assert.Equal(Str(sites[app], "name"), Str(outputs, "functionAppNames", app));
        }
    }

    private JsonNode LoadSnapshotRoot()
    {
        var snapshot = bicep.Snapshot;
        var diagnostics = snapshot["diagnostics"] as JsonArray ?? [];
        Assert.True(diagnostics.Count == 0, $"snapshot diagnostics: {diagnostics.ToJsonString()}");
        return snapshot;
    }

    private List<JsonNode> LoadSnapshot() =>
        (LoadSnapshotRoot()["predictedResources"] as JsonArray ?? throw new Xunit.Sdk.XunitException("snapshot has no predictedResources"))
            .Select(r => r!)
            .ToList();

    private static Dictionary<string, JsonNode> SitesByApp(List<JsonNode> snapshot) =>
        snapshot.Where(r => Str(r, "type") == "Microsoft.Web/sites")
            .ToDictionary(r => Str(r, "tags", "weightless-app"), StringComparer.Ordinal);

    private static string? RouteFor(Dictionary<string, string> patternToApp, string path) =>
        patternToApp.TryGetValue(path, out var exact)
            ? exact
            : patternToApp
                .Where(p => p.Key.EndsWith("/*", StringComparison.Ordinal) && path.StartsWith(p.Key[..^1], StringComparison.Ordinal))
                .OrderByDescending(p => p.Key.Length)
                .Select(p => p.Value)
                .FirstOrDefault();

    private static void AssertNoConnectionStringSettings(IEnumerable<string> names)
    {
        foreach (var name in names)
        {
            var normalized = name.Replace("_", "", StringComparison.Ordinal);
            Assert.False(
                normalized.EndsWith("ConnectionString", StringComparison.OrdinalIgnoreCase) && name != "APPLICATIONINSIGHTS_CONNECTION_STRING",
                $"App setting {name} looks like a connection-string secret; use identity-based settings (<name>__accountName, __credential).");
            Assert.DoesNotContain(name, ForbiddenAppSettings);
        }
    }

    /// <summary>Names of all app settings in every appSettings array of a template (nested module templates included).</summary>
    private static IEnumerable<string> AppSettingNames(JsonNode template) =>
        Descendants(template).OfType<JsonObject>()
            .Select(o => o["appSettings"]).OfType<JsonArray>()
            .SelectMany(a => a)
            .Select(s => Str(s, "name"));

    private static IEnumerable<JsonNode> Descendants(JsonNode? node)
    {
        if (node is null)
        {
            yield break;
        }
        yield return node;
        var children = node switch
        {
            JsonObject o => o.Select(p => p.Value),
            JsonArray a => a.AsEnumerable(),
            _ => [],
        };
        foreach (var child in children)
        {
            foreach (var descendant in Descendants(child))
            {
                yield return descendant;
            }
        }
    }

    private static string Str(JsonNode? node, params string[] path)
    {
        var current = node;
        foreach (var key in path)
        {
            current = current?[key];
        }
        return current is JsonValue value ? value.ToString() : throw new Xunit.Sdk.XunitException($"No string at {string.Join('.', path)} in {node?.ToJsonString()[..Math.Min(300, node.ToJsonString().Length)]}");
    }
}
