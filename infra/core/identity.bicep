// The one identity of the app: host storage, telemetry, the Durable backend, deployment
// package download and every call to ARM and to the clusters use it. User-assigned so its
// role assignments survive a redeploy or replacement of the Function App.

@description('Name of the user-assigned managed identity.')
param name string

param location string
param tags object = {}

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

output id string = identity.id
output name string = identity.name
output clientId string = identity.properties.clientId
output principalId string = identity.properties.principalId
