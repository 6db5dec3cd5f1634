// What the app may do on one target cluster, deployed in the cluster's resource group
// (main.bicep runs it once per cluster, in the cluster's own subscription).
//
// Azure side: a custom role with exactly the actions the app uses, assigned on the cluster:
//   managedClusters/read, agentPools/read        describe the cluster and its node pools
//   maintenanceConfigurations/read               the planned maintenance window (REBOOTER_WINDOW_SOURCE=aks)
//   runCommand/action, commandResults/read       probe each pool for /var/run/reboot-required
//   listClusterUserCredential/action             kubeconfig of an Entra ID cluster, or
//   listClusterAdminCredential/action            admin kubeconfig of a local-account cluster
// Kubernetes side (Entra ID clusters): either the ClusterRole in
// infra/kubernetes/rebooter-rbac.yaml bound to the identity (recommended, applied once per
// cluster), or the built-in Azure Kubernetes Service RBAC Cluster Admin role (clusters with
// Azure RBAC for Kubernetes authorization). Local-account clusters use the admin kubeconfig.
// With REBOOTER_REBOOT_METHOD=vmss: Virtual Machine Contributor on the node resource group.

param clusterName string

@description('Principal (object) id of the app\'s managed identity.')
param principalId string

@allowed([
  'auto'
  'entra'
  'admin'
])
param kubeAuth string

@allowed([
  'clusterRoleBinding'
  'azureRbacClusterAdmin'
])
param kubernetesAuthorization string

@allowed([
  'pod'
  'vmss'
])
param rebootMethod string

var aksRbacClusterAdminRoleId = 'b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b'

resource cluster 'Microsoft.ContainerService/managedClusters@2024-09-01' existing = {
  name: clusterName
}

// entra: always; admin: never; auto: when the cluster is Entra ID integrated (has an aadProfile).
var useEntraCredential = (kubeAuth == 'entra') || ((kubeAuth == 'auto') && !empty(cluster.properties.?aadProfile ?? {}))
var credentialAction = useEntraCredential ? 'Microsoft.ContainerService/managedClusters/listClusterUserCredential/action' : 'Microsoft.ContainerService/managedClusters/listClusterAdminCredential/action'

var roleDefinitionName = guid(cluster.id, principalId, 'aks-rebooter')

resource rebooterRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: roleDefinitionName
  properties: {
    // Role names are unique per tenant: one role per cluster and identity.
    roleName: 'AKS Rebooter ${clusterName} ${take(uniqueString(cluster.id, principalId), 8)}'
    description: 'AKS rebooter on cluster ${clusterName}: read the cluster, its pools and maintenance window, probe nodes with run-command, get a kubeconfig.'
    type: 'customRole'
    assignableScopes: [
      resourceGroup().id
    ]
    permissions: [
      {
        actions: [
          'Microsoft.ContainerService/managedClusters/read'
          'Microsoft.ContainerService/managedClusters/agentPools/read'
          'Microsoft.ContainerService/managedClusters/maintenanceConfigurations/read'
          'Microsoft.ContainerService/managedClusters/runCommand/action'
          'Microsoft.ContainerService/managedClusters/commandResults/read'
          credentialAction
        ]
        notActions: []
        dataActions: []
        notDataActions: []
      }
    ]
  }
}

resource rebooterRoleAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(cluster.id, principalId, roleDefinitionName)
  scope: cluster
  dependsOn: [
    rebooterRole
  ]
  properties: {
    // The subscription-level id: a role definition is a subscription (tenant) resource even when
    // declared in a resource group deployment.
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleDefinitionName)
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'AKS rebooter: cluster read, run-command probe, kubeconfig.'
  }
}

// Only on request, and only meaningful on clusters with Azure RBAC for Kubernetes authorization.
resource aksRbacClusterAdmin 'Microsoft.Authorization/roleAssignments@2022-04-01' = if ((kubeAuth != 'admin') && (kubernetesAuthorization == 'azureRbacClusterAdmin')) {
  name: guid(cluster.id, principalId, aksRbacClusterAdminRoleId)
  scope: cluster
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', aksRbacClusterAdminRoleId)
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'AKS rebooter: cordon, drain and reboot nodes through the Kubernetes API (Azure RBAC clusters).'
  }
}

// The node resource group is only known once the cluster is read, so its role assignment is
// made one deployment further down (a scope must be known when a deployment starts).
module nodeResourceGroup 'aks-node-rg-scope.bicep' = if (rebootMethod == 'vmss') {
  name: take('rebooter-noderg-${uniqueString(cluster.id, principalId)}', 64)
  params: {
    nodeResourceGroupName: cluster.properties.nodeResourceGroup
    principalId: principalId
  }
}

output clusterId string = cluster.id
output roleDefinitionId string = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleDefinitionName)
output credentialAction string = credentialAction
