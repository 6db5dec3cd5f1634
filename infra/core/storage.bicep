// The app's storage account: the Functions host (leases, timer state), the deployment package
// container, and, with the Azure Storage Durable backend, the task hub's queues and tables.
// Shared keys are disabled: everything authenticates with the app's managed identity.

@minLength(3)
@maxLength(24)
param name string

param location string
param tags object = {}

@description('Blob container Flex Consumption deploys the app package from.')
param deploymentContainerName string

@description('Principal (object) id of the app\'s managed identity.')
param principalId string

@allowed([
  'durableTaskScheduler'
  'azureStorage'
])
@description('With azureStorage the identity also needs queue and table data access.')
param durableBackend string

@description('Deny public network access; the account is reached through private endpoints (core/storage-private-endpoints.bicep).')
param privateNetwork bool = false

@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
])
@description('Replication. The account holds only re-creatable data (package, leases, Durable state of the Azure Storage backend).')
param skuName string = 'Standard_LRS'

var useAzureStorageBackend = (durableBackend == 'azureStorage')
var storageBlobDataOwnerRoleId = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
var storageQueueDataContributorRoleId = '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
var storageTableDataContributorRoleId = '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  // checkov:skip=CKV_AZURE_206: LRS by default, ZRS/GRS/GZRS through the skuName parameter: the account holds the deployment package (re-deployable), host leases and, with the Azure Storage backend only, orchestration state; zone-redundant storage is not offered in every region.
  // checkov:skip=CKV_AZURE_35: Without vnetEnabled, Flex Consumption has no fixed outbound address a firewall rule could allow, so the network default stays Allow; every request still needs an Entra ID token (shared keys are disabled). With vnetEnabled the default is Deny and only private endpoints reach the account.
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: skuName
  }
  properties: {
    accessTier: 'Hot'
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    dnsEndpointType: 'Standard'
    publicNetworkAccess: privateNetwork ? 'Disabled' : 'Enabled'
    networkAcls: {
      bypass: 'None'
      // Without a virtual network, Flex Consumption has no fixed outbound address to allow, so
      // the account accepts Entra ID-authenticated requests from any network; with one, only
      // the private endpoints reach it.
      defaultAction: privateNetwork ? 'Deny' : 'Allow'
    }
    encryption: {
      keySource: 'Microsoft.Storage'
      requireInfrastructureEncryption: true
      services: {
        blob: {
          enabled: true
          keyType: 'Account'
        }
        file: {
          enabled: true
          keyType: 'Account'
        }
        queue: {
          enabled: true
          keyType: 'Account'
        }
        table: {
          enabled: true
          keyType: 'Account'
        }
      }
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
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

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

// Host storage (AzureWebJobsStorage__*: leases, timer schedule state, keys) and the deployment
// package; the Azure Storage Durable backend also keeps its leases and large messages in blobs.
resource blobDataOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, principalId, storageBlobDataOwnerRoleId)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataOwnerRoleId)
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'AKS rebooter: Functions host storage and deployment package.'
  }
}

// Azure Storage Durable backend only: control and work-item queues.
resource queueDataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (useAzureStorageBackend) {
  name: guid(storage.id, principalId, storageQueueDataContributorRoleId)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageQueueDataContributorRoleId)
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'AKS rebooter: Durable Functions task hub queues (Azure Storage backend).'
  }
}

// Azure Storage Durable backend only: history and instance tables.
resource tableDataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (useAzureStorageBackend) {
  name: guid(storage.id, principalId, storageTableDataContributorRoleId)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageTableDataContributorRoleId)
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'AKS rebooter: Durable Functions history and instance tables (Azure Storage backend).'
  }
}

output name string = storage.name
output id string = storage.id
output blobEndpoint string = storage.properties.primaryEndpoints.blob
