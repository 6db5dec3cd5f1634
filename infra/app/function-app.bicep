// The Function App on a Flex Consumption (FC1) plan: Python 3.11, one user-assigned managed
// identity, deployed from a blob container with that identity, no keys or passwords.
//
// App settings are built from four named objects (tests/infra reads them to compare the names
// the code reads with the names written here):
//   hostSettings            the Functions host: storage and telemetry with the identity
//   durableSettings         the Durable backend chosen by durableBackend: host.json's
//                           storageProvider overridden through AzureFunctionsJobHost__* settings
//                           (task hub name: REBOOTER_TASK_HUB, host.json's %REBOOTER_TASK_HUB%)
//   rebooterDefaults        every REBOOTER_* setting with its default, generated from
//                           rebooter/settings.py (python infra/check.py sync)
//   rebooterFromDeployment  REBOOTER_* settings that role assignments depend on, or that must
//                           hold in Azure; they win over rebooterSettings.

param name string
param planName string
param location string
param tags object = {}

@description('Resource id of the user-assigned managed identity.')
param identityId string

@description('Client id of the user-assigned managed identity.')
param identityClientId string

param storageAccountName string

@description('Primary blob endpoint of the storage account (https://<account>.blob.<suffix>/).')
param storageBlobEndpoint string

param deploymentContainerName string
param applicationInsightsConnectionString string

@allowed([
  'durableTaskScheduler'
  'azureStorage'
])
param durableBackend string

@description('Durable Task Scheduler endpoint (durableTaskScheduler backend).')
param durableTaskSchedulerEndpoint string = ''

param taskHubName string

@description('Subnet delegated to Microsoft.App/environments; empty: no VNet integration.')
param appSubnetId string = ''

param instanceMemoryMB int = 2048

@description('Spread instances over availability zones (regions that offer it for Flex Consumption).')
param zoneRedundant bool = false

param maximumInstanceCount int = 40

@description('AKS cluster resource ids (REBOOTER_CLUSTERS).')
param clusterIds array

param schedule string
param kubeAuth string
param rebootMethod string

@description('REBOOTER_* overrides (names to string values).')
param rebooterSettings object = {}

var useDurableTaskScheduler = (durableBackend == 'durableTaskScheduler')

var hostSettings = {
  // Identity-based host storage: no connection string, no key.
  AzureWebJobsStorage__accountName: storageAccountName
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  // Telemetry sent with the identity (the component has local authentication disabled).
  APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsightsConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
  // DefaultAzureCredential in the app (ARM, AKS tokens) picks the user-assigned identity.
  AZURE_CLIENT_ID: identityClientId
}

// The Durable storage provider is chosen here, not by editing host.json: an app setting
// AzureFunctionsJobHost__a__b overrides host.json's a.b ("Override host.json values",
// learn.microsoft.com/azure/azure-functions/functions-host-json#override-hostjson-values), so the
// one host.json of the repository deploys with either backend.
var durableSettings = useDurableTaskScheduler ? {
  AzureFunctionsJobHost__extensions__durableTask__storageProvider__type: 'azureManaged'
  AzureFunctionsJobHost__extensions__durableTask__storageProvider__connectionStringName: 'DURABLE_TASK_SCHEDULER_CONNECTION_STRING'
  DURABLE_TASK_SCHEDULER_CONNECTION_STRING: 'Endpoint=${durableTaskSchedulerEndpoint};Authentication=ManagedIdentity;ClientID=${identityClientId}'
} : {
  // The task hub's queues and tables live in the host storage account, reached with the
  // identity-based AzureWebJobsStorage__* settings. Older extension versions read the connection
  // as connectionStringName, newer ones as connectionName: both name the same connection.
  AzureFunctionsJobHost__extensions__durableTask__storageProvider__type: 'AzureStorage'
  AzureFunctionsJobHost__extensions__durableTask__storageProvider__connectionName: 'AzureWebJobsStorage'
  AzureFunctionsJobHost__extensions__durableTask__storageProvider__connectionStringName: 'AzureWebJobsStorage'
}

var rebooterDefaults = loadJsonContent('rebooter-settings.json')

var rebooterFromDeployment = {
  REBOOTER_CLUSTERS: join(clusterIds, ',')
  REBOOTER_SCHEDULE: schedule
  REBOOTER_KUBE_AUTH: kubeAuth
  REBOOTER_REBOOT_METHOD: rebootMethod
  // host.json's hubName (%REBOOTER_TASK_HUB%): the task hub the scheduler resource defines.
  REBOOTER_TASK_HUB: taskHubName
  // The cloud's own Resource Manager endpoint (sovereign clouds included).
  REBOOTER_ARM_ENDPOINT: environment().resourceManager
  // The sandbox credential and CA bundle are for local runs only.
  REBOOTER_CREDENTIAL: 'default'
  REBOOTER_ARM_CA_BUNDLE: ''
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  // checkov:skip=CKV_AZURE_225: zoneRedundant is a parameter (off by default) because Flex Consumption offers availability zones only in some regions; a reboot run that loses its instance resumes from the Durable backend.
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
    zoneRedundant: zoneRedundant
  }
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  // checkov:skip=CKV_AZURE_17: Client certificates would stop the HTTP starter's callers and the azd/OneDeploy publishing endpoint; callers authenticate at the function level, and nothing else is exposed.
  // checkov:skip=CKV_AZURE_222: Public network access stays on so operators can call the HTTP starter (function-level authorization) and azd/OneDeploy can publish; outbound traffic to private clusters goes through VNet integration.
  // checkov:skip=CKV_AZURE_212: Flex Consumption allocates instances on demand (scale to zero); failover capacity comes from the platform, and availability zones from the plan's zoneRedundant parameter.
  // checkov:skip=CKV_AZURE_213: Flex Consumption does not support the App Service health check feature; the platform replaces unhealthy instances and the app's failures show in Application Insights.
  name: name
  location: location
  tags: union(tags, {
    'azd-service-name': 'api'
  })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientCertEnabled: false
    virtualNetworkSubnetId: empty(appSubnetId) ? null : appSubnetId
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storageBlobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
      }
      runtime: {
        name: 'python'
        version: '3.11'
      }
    }
  }
}

resource appSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  // Checkov reads every Microsoft.Web/sites/config resource as the site's web configuration;
  // this one holds only app settings, so these web-configuration checks do not apply to it:
  // checkov:skip=CKV_AZURE_13: App Service Authentication needs an Entra ID app registration, which Bicep cannot create; the HTTP starter uses function-level authorization, and docs/deploy.md shows how to add Easy Auth in front of it.
  // checkov:skip=CKV_AZURE_222: Public network access is a property of the site (skipped there, with its reason), not of its app settings.
  // checkov:skip=CKV_AZURE_63: Flex Consumption has no App Service HTTP logs; the Functions host sends requests and traces to Application Insights.
  // checkov:skip=CKV_AZURE_65: Flex Consumption has no App Service detailed error pages; failures are logged to Application Insights.
  // checkov:skip=CKV_AZURE_66: Flex Consumption has no App Service failed request tracing; failed invocations are logged to Application Insights.
  // checkov:skip=CKV_AZURE_80: .NET Framework version check; the app runs Python 3.11.
  // checkov:skip=CKV_AZURE_88: Flex Consumption uses no Azure Files content share; the package is deployed from a blob container with the managed identity.
  parent: functionApp
  name: 'appsettings'
  properties: union(rebooterDefaults, rebooterSettings, rebooterFromDeployment, durableSettings, hostSettings)
}

// No publishing user names or passwords: deployments authenticate with Entra ID.
resource ftpPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'scm'
  properties: {
    allow: false
  }
}

output name string = functionApp.name
output id string = functionApp.id
output defaultHostName string = functionApp.properties.defaultHostName
