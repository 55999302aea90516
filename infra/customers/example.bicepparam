// Example customer stamp. Copy to customers/<customer>.bicepparam and fill in the Entra ID values
// of the customer's API app registration.
using '../main.bicep'

param customerName = 'example'

param location = 'westeurope'

param entraTenantId = '00000000-0000-0000-0000-000000000000'

param entraClientId = '11111111-1111-1111-1111-111111111111'

param entraAudience = 'api://11111111-1111-1111-1111-111111111111'

param tags = {
  environment: 'production'
  owner: 'platform@example.com'
}
