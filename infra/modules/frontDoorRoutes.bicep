// One origin group (with one origin) per function app and one route per app on the shared
// endpoint. Front Door picks the most specific matching pattern, so "/api/v1/sweeps/*" wins over
// "/api/v1/*" and every specific path wins over the dashboard catch-all "/*". A pattern may appear
// in only one route of the endpoint.

@description('Existing Front Door profile name.')
param profileName string

@description('Existing Front Door endpoint name.')
param endpointName string

@description('Per app: the route/origin-group name, the origin host name and the path patterns it serves.')
param routes {
  @description('App (and origin group / route) name.')
  name: string
  @description('Default host name of the function app.')
  originHostName: string
  @description('Front Door path patterns routed to the app.')
  patterns: string[]
}[]

resource profile 'Microsoft.Cdn/profiles@2025-06-01' existing = {
  name: profileName
}

resource endpoint 'Microsoft.Cdn/profiles/afdEndpoints@2025-06-01' existing = {
  parent: profile
  name: endpointName
}

resource originGroups 'Microsoft.Cdn/profiles/originGroups@2025-06-01' = [
  for route in routes: {
    parent: profile
    name: route.name
    properties: {
      // A single origin per group: health probes would only add load, so none are configured.
      loadBalancingSettings: {
        sampleSize: 4
        successfulSamplesRequired: 3
        additionalLatencyInMilliseconds: 50
      }
      sessionAffinityState: 'Disabled'
    }
  }
]

resource origins 'Microsoft.Cdn/profiles/originGroups/origins@2025-06-01' = [
  for (route, i) in routes: {
    parent: originGroups[i]
    name: route.name
    properties: {
      hostName: route.originHostName
      originHostHeader: route.originHostName
      httpPort: 80
      httpsPort: 443
      priority: 1
      weight: 1000
      enabledState: 'Enabled'
      enforceCertificateNameCheck: true
    }
  }
]

// Routes on one endpoint are created one at a time: Front Door rejects concurrent route updates.
@batchSize(1)
resource endpointRoutes 'Microsoft.Cdn/profiles/afdEndpoints/routes@2025-06-01' = [
  for (route, i) in routes: {
    parent: endpoint
    name: route.name
    dependsOn: [
      origins
    ]
    properties: {
      originGroup: {
        id: originGroups[i].id
      }
      patternsToMatch: route.patterns
      supportedProtocols: [
        'Http'
        'Https'
      ]
      httpsRedirect: 'Enabled'
      forwardingProtocol: 'HttpsOnly'
      linkToDefaultDomain: 'Enabled'
      enabledState: 'Enabled'
    }
  }
]

output routeNames string[] = [for (route, i) in routes: endpointRoutes[i].name]
