// Durable Task Scheduler: the managed Durable Functions backend (default). It keeps every
// orchestration's history and shows it in its dashboard. The app connects with its managed
// identity (DURABLE_TASK_SCHEDULER_CONNECTION_STRING=...;Authentication=ManagedIdentity;ClientID=...).

@minLength(3)
@maxLength(64)
param name string

param location string
param tags object = {}

@allowed([
  'Consumption'
  'Dedicated'
])
param skuName string = 'Consumption'

param taskHubName string

@description('Principal (object) id of the app\'s managed identity.')
param principalId string

@description('Optional person or group who may read the dashboard (empty: nobody).')
param dashboardPrincipalId string = ''

@allowed([
  'User'
  'Group'
  'ServicePrincipal'
])
param dashboardPrincipalType string = 'User'

@minValue(0)
@maxValue(90)
@description('Days the scheduler keeps a finished (completed, terminated, canceled) orchestration before purging it.')
param retentionDays int = 30

@minValue(0)
@maxValue(90)
@description('Days the scheduler keeps a failed orchestration before purging it (longer, to investigate).')
param failedRetentionDays int = 90

var durableTaskDataContributorRoleId = '0ad04412-c4d5-4796-b79c-f76d14c8d402'
var durableTaskDataReaderRoleId = 'd6a5505f-6ebb-45a4-896e-ac8274cfc0ac'

resource scheduler 'Microsoft.DurableTask/schedulers@2025-11-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    // Every caller authenticates with Entra ID and needs a Durable Task role; the allow list
    // must not be empty (an empty list denies everything), and Flex Consumption has no fixed
    // outbound address to list.
    ipAllowlist: [
      '0.0.0.0/0'
    ]
    sku: (skuName == 'Dedicated') ? {
      name: 'Dedicated'
      capacity: 1
    } : {
      name: 'Consumption'
    }
  }
}

resource taskHub 'Microsoft.DurableTask/schedulers/taskHubs@2025-11-01' = {
  parent: scheduler
  name: taskHubName
}

// Autopurge of old instances: without a policy of its own the scheduler purges terminal
// instances after 30 days; a specific policy (orchestrationState) overrides the default one for
// its state. Values 0-90 days; applies to every task hub of the scheduler
// (learn.microsoft.com/azure/durable-task/scheduler/durable-task-scheduler-auto-purge).
resource retention 'Microsoft.DurableTask/schedulers/retentionPolicies@2025-11-01' = {
  parent: scheduler
  name: 'default'
  properties: {
    retentionPolicies: [
      {
        retentionPeriodInDays: retentionDays
      }
      {
        retentionPeriodInDays: failedRetentionDays
        orchestrationState: 'Failed'
      }
    ]
  }
}

// The app schedules, runs and queries orchestrations, activities and entities of its task hub.
resource appDataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(taskHub.id, principalId, durableTaskDataContributorRoleId)
  scope: taskHub
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', durableTaskDataContributorRoleId)
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'AKS rebooter: run orchestrations in its task hub.'
  }
}

// The deploying operator reads run history in the dashboard (read only).
resource dashboardReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(dashboardPrincipalId)) {
  name: guid(taskHub.id, dashboardPrincipalId, durableTaskDataReaderRoleId)
  scope: taskHub
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', durableTaskDataReaderRoleId)
    principalId: dashboardPrincipalId
    principalType: dashboardPrincipalType
    description: 'AKS rebooter: read run history in the Durable Task Scheduler dashboard.'
  }
}

output name string = scheduler.name
output endpoint string = scheduler.properties.endpoint
output taskHubName string = taskHub.name
// Run history of the task hub (sign in as principalId, who has Durable Task Data Reader).
output dashboardUrl string = taskHub.properties.dashboardUrl
