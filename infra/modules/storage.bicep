// The customer's single storage account: tables (runs, history chunks, ...), blobs (files,
// artifacts, Flex Consumption deployment packages) and queues (automation events, Durable
// Functions control/work-item queues). Shared-key access is disabled: every app reaches it with
// its managed identity, and SAS URLs handed to clients must be user-delegation SAS.

@description('Azure region for the resources.')
param location string

@description('Storage account name (3-24 lowercase letters and digits, globally unique).')
@minLength(3)
@maxLength(24)
param storageAccountName string

@description('One blob container per function app for its Flex Consumption deployment package.')
param deploymentContainerNames string[]

@description('Queue the Event Grid subscription delivers automation events to.')
param automationEventsQueueName string

@description('Blob container that receives Event Grid dead-lettered events.')
param deadLetterContainerName string

@description('Storage redundancy.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
])
param skuName string = 'Standard_LRS'

@description('Tags applied to every resource.')
param tags object = {}

resource storage 'Microsoft.Storage/storageAccounts@2025-06-01' = {
  name: storageAccountName
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: skuName
  }
  properties: {
    accessTier: 'Hot'
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowCrossTenantReplication: false
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
    encryption: {
      keySource: 'Microsoft.Storage'
      services: {
        blob: {
          enabled: true
        }
        file: {
          enabled: true
        }
        table: {
          enabled: true
        }
        queue: {
          enabled: true
        }
      }
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2025-06-01' = {
  parent: storage
  name: 'default'
  properties: {
    deleteRetentionPolicy: {
      enabled: true
      days: 7
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: 7
    }
  }
}

resource deploymentContainers 'Microsoft.Storage/storageAccounts/blobServices/containers@2025-06-01' = [
  for name in deploymentContainerNames: {
    parent: blobService
    name: name
    properties: {
      publicAccess: 'None'
    }
  }
]

resource deadLetterContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2025-06-01' = {
  parent: blobService
  name: deadLetterContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2025-06-01' = {
  parent: storage
  name: 'default'
}

// The "-poison" queue is created by the Functions queue trigger after maxDequeueCount (5) failures.
resource automationEventsQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2025-06-01' = {
  parent: queueService
  name: automationEventsQueueName
}

// Tables are created by the apps on first use (Storage:TablePrefix is empty in production).
resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2025-06-01' = {
  parent: storage
  name: 'default'
}

output storageAccountName string = storage.name
output storageAccountId string = storage.id
output blobEndpoint string = storage.properties.primaryEndpoints.blob
output automationEventsQueueName string = automationEventsQueue.name
output deadLetterContainerName string = deadLetterContainer.name
output deploymentContainerNames string[] = [for (name, i) in deploymentContainerNames: deploymentContainers[i].name]
