// One Weightless function app on its own Flex Consumption plan (Flex Consumption allows one app
// per plan), with a system-assigned identity, identity-based connections only (no storage keys or
// connection-string secrets), and the data-plane roles it needs. Inbound traffic is accepted only
// from this stamp's Front Door profile.

@description('Azure region for the resources.')
param location string

@description('Function app name (globally unique: <name>.azurewebsites.net).')
@minLength(2)
@maxLength(60)
param appName string

@description('Flex Consumption plan name.')
param planName string

@description('Storage account used by the app (AzureWebJobsStorage, data, deployment package).')
param storageAccountName string

@description('Blob container holding this app\'s deployment package.')
param deploymentContainerName string

@description('Application Insights component the app reports to.')
param appInsightsName string

@description('Key Vault the app reads secrets from.')
param keyVaultName string

@description('Event Grid topic the app publishes CloudEvents to.')
param eventGridTopicName string

@description('Durable Functions task hub name; unique per app because the apps share one storage account.')
@minLength(3)
@maxLength(45)
param durableTaskHub string

@description('Queue carrying automation events from Event Grid.')
param automationEventsQueueName string

@description('Front Door ID (X-Azure-FDID) allowed to call the app.')
param frontDoorId string

@description('Entra ID tenant that issues bearer tokens for the public API.')
param entraTenantId string

@description('Entra ID application (client) ID of the Weightless API.')
param entraClientId string

@description('Accepted token audience.')
param entraAudience string

@description('.NET isolated worker runtime version.')
param dotnetVersion string = '10.0'

@description('Upper bound on Flex Consumption instances.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 100

@description('Memory per instance (MB).')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Tags applied to every resource.')
param tags object = {}

// Built-in role definition IDs.
var storageBlobDataOwnerRoleId = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
var storageQueueDataContributorRoleId = '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
var storageTableDataContributorRoleId = '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
var keyVaultSecretsUserRoleId = '4633458b-17de-408a-b874-0445c86b69e6'
var eventGridDataSenderRoleId = 'd5a91429-5739-47e2-a06b-3470a27159e7'

var storageRoleIds = [
  storageBlobDataOwnerRoleId
  storageQueueDataContributorRoleId
  storageTableDataContributorRoleId
]

resource storage 'Microsoft.Storage/storageAccounts@2025-06-01' existing = {
  name: storageAccountName
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

resource vault 'Microsoft.KeyVault/vaults@2025-05-01' existing = {
  name: keyVaultName
}

resource topic 'Microsoft.EventGrid/topics@2025-02-15' existing = {
  name: eventGridTopicName
}

resource plan 'Microsoft.Web/serverfarms@2025-03-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource site 'Microsoft.Web/sites@2025-03-01' = {
  name: appName
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    publicNetworkAccess: 'Enabled'
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'SystemAssignedIdentity'
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'dotnet-isolated'
        version: dotnetVersion
      }
    }
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      http20Enabled: true
      // Only this stamp's Front Door may call the app; the SCM (deployment) site is not restricted here.
      ipSecurityRestrictionsDefaultAction: 'Deny'
      ipSecurityRestrictions: [
        {
          name: 'AllowFrontDoor'
          action: 'Allow'
          priority: 100
          tag: 'ServiceTag'
          ipAddress: 'AzureFrontDoor.Backend'
          headers: {
            'x-azure-fdid': [
              frontDoorId
            ]
          }
        }
      ]
      scmIpSecurityRestrictionsUseMain: false
      // Flex Consumption sets the worker runtime and extension version from functionAppConfig;
      // FUNCTIONS_WORKER_RUNTIME / FUNCTIONS_EXTENSION_VERSION must not be app settings.
      appSettings: [
        // Functions host storage (triggers, Durable Functions, leases): managed identity.
        {
          name: 'AzureWebJobsStorage__accountName'
          value: storage.name
        }
        {
          name: 'AzureWebJobsStorage__credential'
          value: 'managedidentity'
        }
        {
          name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
          value: appInsights.properties.ConnectionString
        }
        // Weightless storage wrapper: AccountName selects DefaultAzureCredential (managed identity).
        {
          name: 'Storage__AccountName'
          value: storage.name
        }
        {
          name: 'Storage__TablePrefix'
          value: ''
        }
        {
          name: 'EventGrid__TopicEndpoint'
          value: topic.properties.endpoint
        }
        {
          name: 'AzureAd__Instance'
          value: environment().authentication.loginEndpoint
        }
        {
          name: 'AzureAd__TenantId'
          value: entraTenantId
        }
        {
          name: 'AzureAd__ClientId'
          value: entraClientId
        }
        {
          name: 'AzureAd__Audience'
          value: entraAudience
        }
        {
          name: 'Auth__Mode'
          value: 'Entra'
        }
        {
          name: 'DurableTaskHub'
          value: durableTaskHub
        }
        {
          name: 'AutomationEventsQueue'
          value: automationEventsQueueName
        }
        {
          name: 'KeyVault__Uri'
          value: vault.properties.vaultUri
        }
      ]
    }
  }
}

// Deployment goes through Entra ID (az functionapp deploy / OneDeploy), never basic-auth publishing credentials.
resource scmBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2025-03-01' = {
  parent: site
  name: 'scm'
  properties: {
    allow: false
  }
}

resource ftpBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2025-03-01' = {
  parent: site
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource storageRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for roleId in storageRoleIds: {
    name: guid(storage.id, site.id, roleId)
    scope: storage
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleId)
      principalId: site.identity.principalId
      principalType: 'ServicePrincipal'
    }
  }
]

resource keyVaultSecretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, site.id, keyVaultSecretsUserRoleId)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsUserRoleId)
    principalId: site.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

resource eventGridDataSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(topic.id, site.id, eventGridDataSenderRoleId)
  scope: topic
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', eventGridDataSenderRoleId)
    principalId: site.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

output appName string = site.name
output defaultHostName string = site.properties.defaultHostName
output principalId string = site.identity.principalId
