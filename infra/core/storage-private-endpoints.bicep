// Private endpoints of the app's storage account, one per storage service the app uses, each
// registered in its private DNS zone (created by core/network.bicep and linked to the app's
// virtual network), so the app resolves the account's usual names to private addresses.

param storageAccountName string
param location string
param tags object = {}

@description('Subnet of the private endpoints.')
param subnetId string

@description('Storage services to expose: blob, plus queue and table for the Azure Storage Durable backend.')
param services array

@description('Private DNS zone id per service, e.g. {"blob": "<zone id>"}.')
param privateDnsZoneIds object

param namePrefix string

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource privateEndpoints 'Microsoft.Network/privateEndpoints@2024-05-01' = [for service in services: {
  name: '${namePrefix}-${service}'
  location: location
  tags: tags
  properties: {
    subnet: {
      id: subnetId
    }
    privateLinkServiceConnections: [
      {
        name: '${storageAccountName}-${service}'
        properties: {
          privateLinkServiceId: storage.id
          groupIds: [
            service
          ]
        }
      }
    ]
  }
}]

resource privateDnsZoneGroups 'Microsoft.Network/privateEndpoints/privateDnsZoneGroups@2024-05-01' = [for (service, i) in services: {
  parent: privateEndpoints[i]
  name: 'default'
  properties: {
    privateDnsZoneConfigs: [
      {
        name: service
        properties: {
          privateDnsZoneId: privateDnsZoneIds[service]
        }
      }
    ]
  }
}]
