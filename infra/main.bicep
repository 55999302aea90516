// Weightless: one customer stamp (resource-group scope).
//
//   Front Door (Standard) ── one endpoint = WANDB_BASE_URL
//     /graphql, /files/*                          → ingest
//     /api/v1/sweeps/*                            → sweeps
//     /api/v1/automations/*, /api/v1/webhooks/*   → automations
//     /api/v1/*, /* (dashboard)                   → query
//   Four Flex Consumption function apps (.NET isolated), each with a system-assigned identity.
//   One storage account (tables, blobs, queues; no shared keys), Event Grid topic → storage queue,
//   Key Vault (RBAC), Application Insights on a Log Analytics workspace.
//
// Deploy: az deployment group create -g <rg> -p infra/customers/<customer>.bicepparam

targetScope = 'resourceGroup'

@description('Short customer name: lowercase letters and digits, used in every resource name.')
@minLength(2)
@maxLength(10)
param customerName string

@description('Azure region for the regional resources (Front Door is global).')
param location string = resourceGroup().location

@description('Entra ID tenant that issues bearer tokens for the public API.')
param entraTenantId string

@description('Entra ID application (client) ID of the Weightless API registration.')
param entraClientId string

@description('Accepted access-token audience (e.g. api://<client id>).')
param entraAudience string

@description('Tags applied to every resource.')
param tags object = {}

@description('Upper bound on instances per function app.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 100

@description('Memory per function app instance (MB).')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

var suffix = uniqueString(resourceGroup().id, customerName)
var shortSuffix = take(suffix, 6)
var allTags = union(tags, {
  'weightless-customer': customerName
})

var automationEventsQueueName = 'automation-events'
var deadLetterContainerName = 'eventgrid-deadletter'

// The four apps and the Front Door path patterns each one serves (architecture §1). A bare
// collection path ("/api/v1/sweeps") is listed next to its "/*" pattern because "/x/*" does not
// match "/x" itself, which would otherwise fall through to "/api/v1/*" (query).
var apps = [
  {
    name: 'ingest'
    patterns: [
      '/graphql'
      '/files/*'
    ]
  }
  {
    name: 'query'
    patterns: [
      '/api/v1/*'
      '/*'
    ]
  }
  {
    name: 'sweeps'
    patterns: [
      '/api/v1/sweeps'
      '/api/v1/sweeps/*'
    ]
  }
  {
    name: 'automations'
    patterns: [
      '/api/v1/automations'
      '/api/v1/automations/*'
      '/api/v1/webhooks'
      '/api/v1/webhooks/*'
    ]
  }
]

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    location: location
    logAnalyticsName: 'log-${customerName}-${shortSuffix}'
    appInsightsName: 'appi-${customerName}-${shortSuffix}'
    tags: allTags
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: {
    location: location
    storageAccountName: take('st${customerName}${suffix}', 24)
    deploymentContainerNames: [for app in apps: 'deploy-${app.name}']
    automationEventsQueueName: automationEventsQueueName
    deadLetterContainerName: deadLetterContainerName
    tags: allTags
  }
}

module keyVault 'modules/keyVault.bicep' = {
  name: 'keyVault'
  params: {
    location: location
    keyVaultName: take('kv${customerName}${suffix}', 24)
    tags: allTags
  }
}

module eventGrid 'modules/eventGrid.bicep' = {
  name: 'eventGrid'
  params: {
    location: location
    topicName: 'evgt-${customerName}-${shortSuffix}'
    storageAccountName: storage.outputs.storageAccountName
    automationEventsQueueName: storage.outputs.automationEventsQueueName
    deadLetterContainerName: storage.outputs.deadLetterContainerName
    tags: allTags
  }
}

module frontDoorProfile 'modules/frontDoorProfile.bicep' = {
  name: 'frontDoorProfile'
  params: {
    profileName: 'afd-${customerName}-${shortSuffix}'
    endpointName: 'weightless-${customerName}'
    tags: allTags
  }
}

module functionApps 'modules/functionApp.bicep' = [
  for (app, i) in apps: {
    name: 'functionApp-${app.name}'
    params: {
      location: location
      appName: 'func-${customerName}-${app.name}-${shortSuffix}'
      planName: 'plan-${customerName}-${app.name}-${shortSuffix}'
      storageAccountName: storage.outputs.storageAccountName
      deploymentContainerName: storage.outputs.deploymentContainerNames[i]
      appInsightsName: monitoring.outputs.appInsightsName
      keyVaultName: keyVault.outputs.keyVaultName
      eventGridTopicName: eventGrid.outputs.topicName
      // Apps share the storage account, so each gets its own task hub.
      durableTaskHub: '${app.name}hub'
      automationEventsQueueName: storage.outputs.automationEventsQueueName
      frontDoorId: frontDoorProfile.outputs.frontDoorId
      entraTenantId: entraTenantId
      entraClientId: entraClientId
      entraAudience: entraAudience
      maximumInstanceCount: maximumInstanceCount
      instanceMemoryMB: instanceMemoryMB
      tags: union(allTags, {
        'weightless-app': app.name
      })
    }
  }
]

module frontDoorRoutes 'modules/frontDoorRoutes.bicep' = {
  name: 'frontDoorRoutes'
  params: {
    profileName: frontDoorProfile.outputs.profileName
    endpointName: frontDoorProfile.outputs.endpointName
    routes: [
      for (app, i) in apps: {
        name: app.name
        originHostName: functionApps[i].outputs.defaultHostName
        patterns: app.patterns
      }
    ]
  }
}

@description('Front Door endpoint host name; https://<this> is the customer\'s WANDB_BASE_URL.')
output frontDoorEndpointHostName string = frontDoorProfile.outputs.endpointHostName

@description('The WANDB_BASE_URL clients use.')
output wandbBaseUrl string = 'https://${frontDoorProfile.outputs.endpointHostName}'

@description('Function app names by role.')
output functionAppNames object = {
  // Indexes follow the order of `apps` above.
  ingest: functionApps[0].outputs.appName
  query: functionApps[1].outputs.appName
  sweeps: functionApps[2].outputs.appName
  automations: functionApps[3].outputs.appName
}

@description('Storage account name.')
output storageAccountName string = storage.outputs.storageAccountName

@description('Key Vault name.')
output keyVaultName string = keyVault.outputs.keyVaultName

@description('Event Grid topic endpoint (EventGrid__TopicEndpoint).')
output eventGridTopicEndpoint string = eventGrid.outputs.topicEndpoint
