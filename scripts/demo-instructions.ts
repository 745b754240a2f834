/**
 * The text `npm run demo` prints once everything runs: where each part listens and requests to try.
 * Apart from demo.ts so that the suggested commands are tested (they must work as printed).
 */

/** Where the demo's parts listen, and what they hold. */
export interface DemoEndpoints {
  synapseUrl: string;
  serverName: string;
  synapseLog: string;
  gatewayUrl: string;
  apiUrl: string;
  apiToken: string;
  configPath: string;
  policyPath: string;
  roomId: string;
}

/**
 * The instructions. Requests with a body send `Content-Type: application/json`: the gateway
 * refuses form-encoded bodies (415), and `curl -d` alone sends `application/x-www-form-urlencoded`.
 */
export function demoInstructions(d: DemoEndpoints): string {
  const json = `-H 'Content-Type: application/json'`;
  return `
Corporal demo is running.
  Synapse (direct):   ${d.synapseUrl}   (server name ${d.serverName}, log ${d.synapseLog})
  Corporal gateway:   ${d.gatewayUrl}   (point a Matrix client here; health: ${d.gatewayUrl}/_matrix/client/corporal)
  Corporal HTTP API:  ${d.apiUrl}   (Authorization: Bearer ${d.apiToken})
  Configuration:      ${d.configPath}
  Policy (watched):   ${d.policyPath}   — edit it and Corporal applies the change
  Managed room:       ${d.roomId}
  Managed users:      @alice:${d.serverName} / alice-password (plain), @bob:${d.serverName} / bob-password (sha256)

Try:
  curl -s ${json} ${d.gatewayUrl}/_matrix/client/v3/login -d '{"type":"m.login.password","identifier":{"type":"m.id.user","user":"alice"},"password":"alice-password"}'
  curl -s -H 'Authorization: Bearer ${d.apiToken}' ${d.apiUrl}/_matrix/corporal/status
  curl -s -H 'Authorization: Bearer ${d.apiToken}' ${d.apiUrl}/_matrix/corporal/plan
  (leaving the managed room as alice through the gateway is refused: POST /_matrix/client/v3/rooms/<room>/leave)
Press Ctrl-C to stop.
`;
}
