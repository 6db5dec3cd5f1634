// Virtual network for private clusters. The app's outbound traffic leaves through a subnet
// delegated to Microsoft.App/environments (Flex Consumption VNet integration); peer this
// network with the cluster's and link the cluster's private DNS zone to it (docs/deploy.md) so
// the app reaches a private API server. The storage account's private endpoints live in the
// second subnet, resolved through the private DNS zones created here.

param name string
param nsgName string
param location string
param tags object = {}
param addressPrefix string
param appSubnetPrefix string
param privateEndpointSubnetPrefix string

@description('Storage services that get a private DNS zone: blob, plus queue and table for the Azure Storage Durable backend.')
param storageServices array

@description('NAT gateway the app subnet sends its outbound traffic through (core/nat-gateway.bicep); empty: none.')
param natGatewayId string = ''

// Only the platform's default rules: inbound from the internet is denied, traffic inside the
// virtual network (and peered networks, such as a private cluster's) is allowed.
resource nsg 'Microsoft.Network/networkSecurityGroups@2024-05-01' = {
  name: nsgName
  location: location
  tags: tags
  properties: {
    securityRules: []
  }
}

resource vnet 'Microsoft.Network/virtualNetworks@2024-05-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    addressSpace: {
      addressPrefixes: [
        addressPrefix
      ]
    }
    subnets: [
      {
        name: 'app'
        properties: {
          addressPrefix: appSubnetPrefix
          networkSecurityGroup: {
            id: nsg.id
          }
          natGateway: empty(natGatewayId) ? null : {
            id: natGatewayId
          }
          delegations: [
            {
              name: 'flex-consumption'
              properties: {
                serviceName: 'Microsoft.App/environments'
              }
            }
          ]
        }
      }
      {
        name: 'private-endpoints'
        properties: {
          addressPrefix: privateEndpointSubnetPrefix
          networkSecurityGroup: {
            id: nsg.id
          }
          privateEndpointNetworkPolicies: 'Enabled'
        }
      }
    ]
  }
}

resource privateDnsZones 'Microsoft.Network/privateDnsZones@2020-06-01' = [for service in storageServices: {
  name: 'privatelink.${service}.${environment().suffixes.storage}'
  location: 'global'
  tags: tags
}]

resource privateDnsZoneLinks 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2020-06-01' = [for (service, i) in storageServices: {
  parent: privateDnsZones[i]
  name: '${name}-link'
  location: 'global'
  tags: tags
  properties: {
    registrationEnabled: false
    virtualNetwork: {
      id: vnet.id
    }
  }
}]

output id string = vnet.id
output name string = vnet.name
output appSubnetId string = '${vnet.id}/subnets/app'
output privateEndpointSubnetId string = '${vnet.id}/subnets/private-endpoints'
// Ids of the zones, by service (the zones above exist for the services in storageServices).
output privateDnsZoneIds object = {
  blob: resourceId('Microsoft.Network/privateDnsZones', 'privatelink.blob.${environment().suffixes.storage}')
  queue: resourceId('Microsoft.Network/privateDnsZones', 'privatelink.queue.${environment().suffixes.storage}')
  table: resourceId('Microsoft.Network/privateDnsZones', 'privatelink.table.${environment().suffixes.storage}')
}
