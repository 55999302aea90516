// Event Grid custom topic (CloudEvents 1.0) whose subscription delivers every event to the
// automation-events storage queue, authenticated as the topic's system-assigned identity.
// Publishers (the function apps) authenticate with Entra ID ("EventGrid Data Sender", granted in
// the function app module); local (key) auth is disabled.

@description('Azure region for the resources.')
param location string

@description('Event Grid topic name.')
@minLength(3)
@maxLength(50)
param topicName string

@description('Name of the storage account holding the destination queue.')
param storageAccountName string

@description('Destination queue for automation events.')
param automationEventsQueueName string

@description('Blob container for events that could not be delivered.')
param deadLetterContainerName string

@description('Tags applied to every resource.')
param tags object = {}

// Built-in role definition IDs.
var storageQueueDataMessageSenderRoleId = 'c6a89b2d-59bc-44d0-9896-0f6e12d7b80a'
var storageBlobDataContributorRoleId = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'

resource storage 'Microsoft.Storage/storageAccounts@2025-06-01' existing = {
  name: storageAccountName
}

resource topic 'Microsoft.EventGrid/topics@2025-02-15' = {
  name: topicName
  location: location
  tags: tags
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    inputSchema: 'CloudEventSchemaV1_0'
    publicNetworkAccess: 'Enabled'
    disableLocalAuth: true
    minimumTlsVersionAllowed: '1.2'
    dataResidencyBoundary: 'WithinGeopair'
  }
}

resource topicQueueSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, topic.id, storageQueueDataMessageSenderRoleId)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId(
      'Microsoft.Authorization/roleDefinitions',
      storageQueueDataMessageSenderRoleId
    )
    principalId: topic.identity.principalId
    principalType: 'ServicePrincipal'
    description: 'Event Grid topic delivers automation events to the storage queue.'
  }
}

resource topicDeadLetterWriter 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, topic.id, storageBlobDataContributorRoleId)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId(
      'Microsoft.Authorization/roleDefinitions',
      storageBlobDataContributorRoleId
    )
    principalId: topic.identity.principalId
    principalType: 'ServicePrincipal'
    description: 'Event Grid topic writes undeliverable events to the dead-letter container.'
  }
}

resource automationEventsSubscription 'Microsoft.EventGrid/topics/eventSubscriptions@2025-02-15' = {
  parent: topic
  name: 'automation-events'
  dependsOn: [
    topicQueueSender
    topicDeadLetterWriter
  ]
  properties: {
    eventDeliverySchema: 'CloudEventSchemaV1_0'
    deliveryWithResourceIdentity: {
      identity: {
        type: 'SystemAssigned'
      }
      destination: {
        endpointType: 'StorageQueue'
        properties: {
          resourceId: storage.id
          queueName: automationEventsQueueName
          // Keep messages until the automations app processes them (or poisons them).
          queueMessageTimeToLiveInSeconds: -1
        }
      }
    }
    deadLetterWithResourceIdentity: {
      identity: {
        type: 'SystemAssigned'
      }
      deadLetterDestination: {
        endpointType: 'StorageBlob'
        properties: {
          resourceId: storage.id
          blobContainerName: deadLetterContainerName
        }
      }
    }
    retryPolicy: {
      maxDeliveryAttempts: 30
      eventTimeToLiveInMinutes: 1440
    }
  }
}

output topicName string = topic.name
output topicId string = topic.id
output topicEndpoint string = topic.properties.endpoint
