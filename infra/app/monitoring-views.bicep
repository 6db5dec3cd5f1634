// What operators look at in the portal: a workbook over the app's structured log lines in
// Application Insights, and a log search alert on nodes pending a reboot for too long.
//
// The signal behind both is a log line, not a metric: on every probe the app writes one JSON line
// per node, {"event": "probe", "cluster", "node", "rebootRequired": true|false, ...}
// (rebooter/logs.py, orchestrators/common.py record_probe), kured's kured_reboot_required gauge
// from outside the cluster. It lands in the traces table; the workbook charts it and the alert
// rule below counts it (a log-based metric computed by the query; nothing is written to
// customMetrics).

param location string
param tags object = {}

@description('Name of the app\'s Application Insights component (core/monitoring.bicep).')
param applicationInsightsName string

@description('Display name of the workbook in the portal.')
param workbookDisplayName string = 'AKS rebooter'

@description('Turn on the alert on nodes pending a reboot for longer than pendingRebootAlertHours.')
param pendingRebootAlertEnabled bool = false

@minValue(1)
@maxValue(36)
@description('Hours a node may report a pending reboot (on every probe) before the alert fires. The rule looks back 48 hours.')
param pendingRebootAlertHours int = 24

@description('Action group resource ID the alert notifies; empty: the alert shows in the portal only.')
param actionGroupId string = ''

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

// Workbook document: infra/app/rebooter-workbook.json (Notebook/1.0; tests/infra/test_workbook.py
// and tests/e2e/test_workbook_logs.py check it against the app's real log lines).
resource workbook 'Microsoft.Insights/workbooks@2023-06-01' = {
  name: guid(resourceGroup().id, applicationInsights.id, 'rebooter-workbook')
  location: location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: workbookDisplayName
    category: 'workbook'
    sourceId: applicationInsights.id
    serializedData: loadTextContent('rebooter-workbook.json')
  }
}

// A node whose every probe since it first reported a pending reboot still reports it, for longer
// than pendingRebootAlertHours, and that is still probed (one alert per cluster and node).
var pendingQuery = '''
let pendingFor = ${pendingRebootAlertHours}h;
let probes = traces
    | where message startswith "{"
    | extend d = parse_json(message)
    | where tostring(d.event) == "probe"
    | project timestamp, cluster = tostring(d.cluster), node = tostring(d.node), required = tobool(d.rebootRequired);
let clears = probes | where not(required) | summarize lastClear = max(timestamp) by cluster, node;
probes
| where required
| join kind=leftouter clears on cluster, node
| where isnull(lastClear) or timestamp > lastClear
| summarize pendingSince = min(timestamp), lastProbe = max(timestamp) by cluster, node
| where pendingSince < ago(pendingFor) and lastProbe > ago(pendingFor)
'''

resource pendingRebootAlert 'Microsoft.Insights/scheduledQueryRules@2021-08-01' = {
  name: 'rebooter-pending-reboot-${uniqueString(applicationInsights.id)}'
  location: location
  tags: tags
  properties: {
    displayName: 'AKS rebooter: node pending a reboot for more than ${pendingRebootAlertHours} hours'
    description: 'A node has reported /var/run/reboot-required on every probe for longer than ${pendingRebootAlertHours} hours (the app\'s per-probe log line, kured_reboot_required).'
    enabled: pendingRebootAlertEnabled
    severity: 3
    evaluationFrequency: 'PT1H'
    windowSize: 'P2D'
    scopes: [
      applicationInsights.id
    ]
    criteria: {
      allOf: [
        {
          query: pendingQuery
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          dimensions: [
            {
              name: 'cluster'
              operator: 'Include'
              values: [
                '*'
              ]
            }
            {
              name: 'node'
              operator: 'Include'
              values: [
                '*'
              ]
            }
          ]
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: true
    actions: {
      actionGroups: empty(actionGroupId) ? [] : [
        actionGroupId
      ]
    }
  }
}

output workbookId string = workbook.id
// Opens the workbook in the Azure portal (the workbook resource's own blade).
output workbookPortalUrl string = 'https://portal.azure.com/#@${tenant().tenantId}/resource${workbook.id}/workbook'
output pendingRebootAlertId string = pendingRebootAlert.id
