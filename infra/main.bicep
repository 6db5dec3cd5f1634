// AKS reboot orchestrator: one Flex Consumption Function App with one user-assigned managed
// identity, no keys or passwords anywhere. `azd up` deploys this file (subscription scope: it
// creates the resource group, and reaches target clusters that live in other resource groups
// or subscriptions). docs/deploy.md explains every parameter and role.
targetScope = 'subscription'

// ----------------------------------------------------------------------------------------------
// azd environment
// ----------------------------------------------------------------------------------------------

@minLength(1)
@maxLength(64)
@description('Name of the azd environment; part of every resource name and the azd-env-name tag.')
param environmentName string

@minLength(1)
@description('Region of every resource. It must offer Flex Consumption and, for the default backend, the Durable Task Scheduler.')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Object id of the person or group deploying (azd fills AZURE_PRINCIPAL_ID). It gets read access to the Durable Task Scheduler dashboard. Empty: no access is granted.')
param principalId string = ''

@allowed([
  'User'
  'Group'
  'ServicePrincipal'
])
@description('Kind of principalId.')
param principalType string = 'User'

@description('Resource group to create; empty: rg-<environmentName>.')
param resourceGroupName string = ''

// ----------------------------------------------------------------------------------------------
// What the app patches (the REBOOTER_* settings that also decide role assignments)
// ----------------------------------------------------------------------------------------------

@description('AKS clusters to patch: full resource IDs separated by commas or spaces (REBOOTER_CLUSTERS). Each cluster, in any resource group or subscription, gets the custom role the app needs.')
param targetClusters string = ''

@allowed([
  'auto'
  'entra'
  'admin'
])
@description('REBOOTER_KUBE_AUTH. entra: Entra ID token (listClusterUserCredential); admin: local admin kubeconfig (listClusterAdminCredential); auto: entra when the cluster has an aadProfile, else admin.')
param kubeAuth string = 'auto'

@allowed([
  'clusterRoleBinding'
  'azureRbacClusterAdmin'
])
@description('How the identity gets Kubernetes permissions on Entra ID clusters. clusterRoleBinding (recommended): apply infra/kubernetes/rebooter-rbac.yaml; azureRbacClusterAdmin: assign the built-in Azure Kubernetes Service RBAC Cluster Admin role (clusters with Azure RBAC for Kubernetes authorization).')
param kubernetesAuthorization string = 'clusterRoleBinding'

@allowed([
  'pod'
  'vmss'
])
@description('REBOOTER_REBOOT_METHOD. vmss also grants Virtual Machine Contributor on each cluster\'s node resource group.')
param rebootMethod string = 'pod'

@description('REBOOTER_SCHEDULE: 6-field NCRONTAB of the timer trigger.')
param schedule string = '0 0 * * * *'

@description('Resource id of the Azure Monitor workspace (Microsoft.Monitor/accounts) whose managed Prometheus the app queries with REBOOTER_PROMETHEUS_AUTH=entra. Set: the identity gets Monitoring Data Reader on it. Empty: no assignment.')
param prometheusWorkspaceId string = ''

@description('Any other REBOOTER_* app setting, values as strings, for example {"REBOOTER_SOAK_SECONDS": "600"}. Unset ones keep the defaults of rebooter/settings.py (infra/app/rebooter-settings.json).')
param rebooterSettings object = {}

// ----------------------------------------------------------------------------------------------
// Durable Functions backend
// ----------------------------------------------------------------------------------------------

@allowed([
  'durableTaskScheduler'
  'azureStorage'
])
@description('durableTaskScheduler (default): managed backend with a run-history dashboard; host.json needs storageProvider.type azureManaged. azureStorage: queues and tables in the app\'s storage account; deploy with infra/host.azure-storage.json as host.json.')
param durableBackend string = 'durableTaskScheduler'

@allowed([
  'Consumption'
  'Dedicated'
])
@description('Durable Task Scheduler SKU.')
param durableTaskSchedulerSku string = 'Consumption'

@minValue(0)
@maxValue(90)
@description('Durable Task Scheduler: days a finished patch cycle\'s history is kept before the scheduler purges it.')
param historyRetentionDays int = 30

@minValue(0)
@maxValue(90)
@description('Durable Task Scheduler: days a failed orchestration\'s history is kept before it is purged.')
param failedHistoryRetentionDays int = 90

@minLength(3)
@maxLength(45)
@description('Task hub name (REBOOTER_TASK_HUB, host.json\'s hubName %REBOOTER_TASK_HUB%). Letters and digits only, starting with a letter (the Azure Storage backend\'s rule).')
param taskHubName string = 'rebooter'

// ----------------------------------------------------------------------------------------------
// Network (private clusters)
// ----------------------------------------------------------------------------------------------

@description('Integrate the app with a new virtual network (needed to reach a private cluster\'s API server after peering) and make the storage account private.')
param vnetEnabled bool = false

@description('Address space of the virtual network (vnetEnabled). It must not overlap the networks it is peered with.')
param vnetAddressPrefix string = '10.60.0.0/16'

@description('Subnet for the app\'s outbound traffic, delegated to Microsoft.App/environments (vnetEnabled).')
param appSubnetPrefix string = '10.60.0.0/24'

@description('Subnet for the storage private endpoints (vnetEnabled).')
param privateEndpointSubnetPrefix string = '10.60.1.0/24'

@description('Send the app\'s outbound traffic through a NAT gateway with one static public IP (needs vnetEnabled). For clusters whose API server accepts only authorized IP ranges: add the output AZURE_OUTBOUND_IP to them.')
param natGatewayEnabled bool = false

// ----------------------------------------------------------------------------------------------
// Sizing
// ----------------------------------------------------------------------------------------------

@allowed([
  512
  2048
  4096
])
@description('Memory of each Flex Consumption instance.')
param instanceMemoryMB int = 2048

@minValue(40)
@maxValue(1000)
@description('Most instances the app scales out to.')
param maximumInstanceCount int = 40

@description('Spread the app\'s instances over availability zones (only in regions where Flex Consumption offers them).')
param zoneRedundant bool = false

@minValue(30)
@maxValue(730)
@description('Days the Log Analytics workspace keeps logs.')
param logRetentionInDays int = 30

@description('Alert when a node has reported a pending reboot on every probe for longer than pendingRebootAlertHours (off by default).')
param pendingRebootAlertEnabled bool = false

@minValue(1)
@maxValue(36)
@description('Hours a node may stay pending a reboot before the alert fires.')
param pendingRebootAlertHours int = 24

@description('Action group resource ID for the pending-reboot alert; empty: the alert shows in the portal only.')
param pendingRebootAlertActionGroupId string = ''

// ----------------------------------------------------------------------------------------------
// Names
// ----------------------------------------------------------------------------------------------

var abbrs = loadJsonContent('abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
  application: 'aks-rebooter'
}
var useDurableTaskScheduler = (durableBackend == 'durableTaskScheduler')
var functionAppName = '${abbrs.webSitesFunctions}rebooter-${resourceToken}'
var deploymentContainerName = 'app-package'
// Storage services the app uses: blob for the host and the package; queues and tables for the
// Azure Storage Durable backend.
var storageServices = useDurableTaskScheduler ? [
  'blob'
] : [
  'blob'
  'queue'
  'table'
]

// Cluster resource IDs: /subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.ContainerService/managedClusters/<name>
var clusterIds = filter(split(replace(replace(replace(targetClusters, '\n', ','), '\t', ','), ' ', ','), ','), id => !empty(id))

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: !empty(resourceGroupName) ? resourceGroupName : '${abbrs.resourcesResourceGroups}${environmentName}'
  location: location
  tags: tags
}

module identity 'core/identity.bicep' = {
  name: 'rebooter-identity'
  scope: rg
  params: {
    name: '${abbrs.managedIdentityUserAssignedIdentities}rebooter-${resourceToken}'
    location: location
    tags: tags
  }
}

// A static outbound address for API servers with authorized IP ranges (Flex Consumption's own
// outbound addresses change).
module natGateway 'core/nat-gateway.bicep' = if (vnetEnabled && natGatewayEnabled) {
  name: 'rebooter-nat-gateway'
  scope: rg
  params: {
    name: '${abbrs.networkNatGateways}rebooter-${resourceToken}'
    publicIpName: '${abbrs.networkPublicIPAddresses}rebooter-nat-${resourceToken}'
    location: location
    tags: tags
  }
}

module network 'core/network.bicep' = if (vnetEnabled) {
  name: 'rebooter-network'
  scope: rg
  params: {
    name: '${abbrs.networkVirtualNetworks}rebooter-${resourceToken}'
    nsgName: '${abbrs.networkNetworkSecurityGroups}rebooter-${resourceToken}'
    location: location
    tags: tags
    addressPrefix: vnetAddressPrefix
    appSubnetPrefix: appSubnetPrefix
    privateEndpointSubnetPrefix: privateEndpointSubnetPrefix
    storageServices: storageServices
    natGatewayId: (vnetEnabled && natGatewayEnabled) ? natGateway.outputs.id : ''
  }
}

module storage 'core/storage.bicep' = {
  name: 'rebooter-storage'
  scope: rg
  params: {
    name: '${abbrs.storageStorageAccounts}${resourceToken}'
    location: location
    tags: tags
    deploymentContainerName: deploymentContainerName
    principalId: identity.outputs.principalId
    durableBackend: durableBackend
    privateNetwork: vnetEnabled
  }
}

module storagePrivateEndpoints 'core/storage-private-endpoints.bicep' = if (vnetEnabled) {
  name: 'rebooter-storage-private-endpoints'
  scope: rg
  params: {
    storageAccountName: storage.outputs.name
    location: location
    tags: tags
    subnetId: vnetEnabled ? network.outputs.privateEndpointSubnetId : ''
    services: storageServices
    privateDnsZoneIds: vnetEnabled ? network.outputs.privateDnsZoneIds : {}
    namePrefix: '${abbrs.networkPrivateEndpoints}rebooter-${resourceToken}'
  }
}

module monitoring 'core/monitoring.bicep' = {
  name: 'rebooter-monitoring'
  scope: rg
  params: {
    logAnalyticsName: '${abbrs.operationalInsightsWorkspaces}rebooter-${resourceToken}'
    applicationInsightsName: '${abbrs.insightsComponents}rebooter-${resourceToken}'
    location: location
    tags: tags
    retentionInDays: logRetentionInDays
    principalId: identity.outputs.principalId
  }
}

// The workbook (run history, pending reboots, lock) and the pending-reboot alert rule.
module monitoringViews 'app/monitoring-views.bicep' = {
  name: 'rebooter-monitoring-views'
  scope: rg
  params: {
    location: location
    tags: tags
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    pendingRebootAlertEnabled: pendingRebootAlertEnabled
    pendingRebootAlertHours: pendingRebootAlertHours
    actionGroupId: pendingRebootAlertActionGroupId
  }
}

module durableTaskScheduler 'core/durable-task-scheduler.bicep' = if (useDurableTaskScheduler) {
  name: 'rebooter-durable-task-scheduler'
  scope: rg
  params: {
    name: '${abbrs.durableTaskSchedulers}rebooter-${resourceToken}'
    location: location
    tags: tags
    skuName: durableTaskSchedulerSku
    taskHubName: taskHubName
    principalId: identity.outputs.principalId
    dashboardPrincipalId: principalId
    dashboardPrincipalType: principalType
    retentionDays: historyRetentionDays
    failedRetentionDays: failedHistoryRetentionDays
  }
}

module functionApp 'app/function-app.bicep' = {
  name: 'rebooter-function-app'
  scope: rg
  // With vnetEnabled the account is private: the app starts once it can reach it.
  dependsOn: [
    storagePrivateEndpoints
  ]
  params: {
    name: functionAppName
    planName: '${abbrs.webServerFarms}rebooter-${resourceToken}'
    location: location
    tags: tags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    storageBlobEndpoint: storage.outputs.blobEndpoint
    deploymentContainerName: deploymentContainerName
    applicationInsightsConnectionString: monitoring.outputs.applicationInsightsConnectionString
    durableBackend: durableBackend
    durableTaskSchedulerEndpoint: useDurableTaskScheduler ? durableTaskScheduler.outputs.endpoint : ''
    taskHubName: taskHubName
    appSubnetId: vnetEnabled ? network.outputs.appSubnetId : ''
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    zoneRedundant: zoneRedundant
    clusterIds: clusterIds
    schedule: schedule
    kubeAuth: kubeAuth
    rebootMethod: rebootMethod
    rebooterSettings: rebooterSettings
  }
}

// One deployment per target cluster, in the cluster's own subscription and resource group.
module clusterAccess 'app/aks-cluster-access.bicep' = [for (clusterId, i) in clusterIds: {
  name: take('rebooter-aks-${i}-${uniqueString(clusterId, resourceToken)}', 64)
  scope: resourceGroup(split(clusterId, '/')[2], split(clusterId, '/')[4])
  params: {
    clusterName: split(clusterId, '/')[8]
    principalId: identity.outputs.principalId
    kubeAuth: kubeAuth
    kubernetesAuthorization: kubernetesAuthorization
    rebootMethod: rebootMethod
  }
}]

// REBOOTER_PROMETHEUS_AUTH=entra: Monitoring Data Reader on the Azure Monitor workspace, in its own
// subscription and resource group.
module prometheusAccess 'app/prometheus-access.bicep' = if (!empty(prometheusWorkspaceId)) {
  name: take('rebooter-prometheus-${uniqueString(prometheusWorkspaceId, resourceToken)}', 64)
  // The scope stays a valid expression when the id is empty (the module is then skipped).
  scope: resourceGroup(empty(prometheusWorkspaceId) ? subscription().subscriptionId : split(prometheusWorkspaceId, '/')[2], empty(prometheusWorkspaceId) ? rg.name : split(prometheusWorkspaceId, '/')[4])
  params: {
    workspaceName: last(split(prometheusWorkspaceId, '/'))
    principalId: identity.outputs.principalId
  }
}

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output SERVICE_API_NAME string = functionApp.outputs.name
output AZURE_FUNCTION_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output AZURE_FUNCTION_IDENTITY_PRINCIPAL_ID string = identity.outputs.principalId
output AZURE_DURABLE_BACKEND string = durableBackend
output AZURE_DURABLE_TASK_SCHEDULER_NAME string = useDurableTaskScheduler ? durableTaskScheduler.outputs.name : ''
output AZURE_DURABLE_TASK_SCHEDULER_ENDPOINT string = useDurableTaskScheduler ? durableTaskScheduler.outputs.endpoint : ''
output AZURE_DURABLE_TASK_SCHEDULER_DASHBOARD_URL string = useDurableTaskScheduler ? durableTaskScheduler.outputs.dashboardUrl : ''
output AZURE_TASK_HUB_NAME string = taskHubName
output AZURE_APPLICATION_INSIGHTS_NAME string = monitoring.outputs.applicationInsightsName
output AZURE_TARGET_CLUSTER_COUNT int = length(clusterIds)
// The app's one outbound address (natGatewayEnabled): add it to each cluster's API server authorized IP ranges.
output AZURE_OUTBOUND_IP string = (vnetEnabled && natGatewayEnabled) ? natGateway.outputs.ipAddress : ''
output AZURE_WORKBOOK_URL string = monitoringViews.outputs.workbookPortalUrl
