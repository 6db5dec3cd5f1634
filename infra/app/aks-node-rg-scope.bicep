// Steps into a cluster's node resource group, whose name is read from the cluster at deploy
// time and so can only be a module scope one deployment down.

param nodeResourceGroupName string
param principalId string

module access 'aks-node-rg-access.bicep' = {
  name: take('rebooter-vmss-${uniqueString(nodeResourceGroupName, principalId)}', 64)
  scope: resourceGroup(nodeResourceGroupName)
  params: {
    principalId: principalId
  }
}
