// REBOOTER_REBOOT_METHOD=vmss: the app restarts a node's VMSS instance (or VM) through ARM.
// Virtual Machine Contributor on the node resource group (MC_...) only, never on the cluster's
// own resource group.

param principalId string

var virtualMachineContributorRoleId = '9980e02c-c2be-4d73-94e8-173b1dc7cf3c'

resource vmContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(resourceGroup().id, principalId, virtualMachineContributorRoleId)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', virtualMachineContributorRoleId)
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'AKS rebooter: restart node VMSS instances (REBOOTER_REBOOT_METHOD=vmss).'
  }
}
