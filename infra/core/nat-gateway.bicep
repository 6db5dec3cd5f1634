// One static outbound address for the app (natGatewayEnabled). Flex Consumption's outbound
// addresses change, so an AKS API server restricted to authorized IP ranges
// (apiServerAccessProfile.authorizedIPRanges) refuses the app unless its traffic leaves through
// a NAT gateway on its integration subnet: the gateway's Standard static public IP is the only
// source address, and is the address to add to each cluster's authorized ranges
// (learn.microsoft.com/azure/azure-functions/functions-how-to-use-nat-gateway;
// learn.microsoft.com/azure/aks/api-server-authorized-ip-ranges).

param name string
param publicIpName string
param location string
param tags object = {}

@minValue(4)
@maxValue(120)
@description('Minutes an idle outbound connection is kept.')
param idleTimeoutInMinutes int = 4

resource publicIp 'Microsoft.Network/publicIPAddresses@2024-05-01' = {
  name: publicIpName
  location: location
  tags: tags
  sku: {
    name: 'Standard'
    tier: 'Regional'
  }
  properties: {
    publicIPAddressVersion: 'IPv4'
    publicIPAllocationMethod: 'Static'
    idleTimeoutInMinutes: idleTimeoutInMinutes
  }
}

resource natGateway 'Microsoft.Network/natGateways@2024-05-01' = {
  name: name
  location: location
  tags: tags
  sku: {
    name: 'Standard'
  }
  properties: {
    idleTimeoutInMinutes: idleTimeoutInMinutes
    publicIpAddresses: [
      {
        id: publicIp.id
      }
    ]
  }
}

output id string = natGateway.id
output ipAddress string = publicIp.properties.ipAddress
