// REBOOTER_PROMETHEUS_AUTH=entra: the app queries Azure Monitor managed Prometheus with an Entra
// ID token, which needs Monitoring Data Reader on the Azure Monitor workspace
// (learn.microsoft.com/azure/azure-monitor/metrics/prometheus-api-promql). Deployed in the
// workspace's own resource group (any subscription) by main.bicep when prometheusWorkspaceId is set.

@description('Name of the Azure Monitor workspace (Microsoft.Monitor/accounts).')
param workspaceName string

@description('Principal (object) id of the app\'s managed identity.')
param principalId string

var monitoringDataReaderRoleId = 'b0d8363b-8ddd-447d-831f-62ca05bff136'

resource workspace 'Microsoft.Monitor/accounts@2023-04-03' existing = {
  name: workspaceName
}

resource dataReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(workspace.id, principalId, monitoringDataReaderRoleId)
  scope: workspace
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', monitoringDataReaderRoleId)
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'AKS rebooter: query Prometheus alerts before rebooting (REBOOTER_PROMETHEUS_AUTH=entra).'
  }
}

output prometheusQueryEndpoint string = workspace.properties.metrics.prometheusQueryEndpoint
