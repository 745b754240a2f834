/**
 * Gateway thread entry point and composition root: builds this thread's uWS app, request pipeline,
 * policy holder, upstream pools, identity cache, offload pool and hook engine from `workerData`,
 * listens, and follows the supervisor's messages. It owns the pools, the cache and the hook
 * engine and closes them when the thread stops.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createLogger, logLevelOf } from '../common/logger.js';
import { BatchedLineWriter } from '../common/batched-line-writer.js';
import { allMessageTypes, ipcMessage, isIpcMessage, type Unversioned, type GatewayToSupervisor, type GatewayWorkerData, type SupervisorToGateway } from '../common/ipc.js';
import { parseListenAddress } from '../common/listen-address.js';
import { describeError } from '../common/errors.js';
import { settleWithin } from '../common/deadline.js';
import { loadUws } from './uws.js';
import { GatewayServer } from './server.js';
import { createDrainRefusal } from './drain-refusal.js';
import { PolicyHolder } from './policy-holder.js';
import { createPipeline } from './pipeline.js';
import { UpstreamPools } from './upstream/pools.js';
import { IdentityCache } from './identity/identity-cache.js';
import { createWhoamiLookup } from './identity/whoami.js';
import { AccessLog } from './access-log.js';
import { bothListeners, RequestMetrics } from './metrics/request-metrics.js';
import { countTokenResolution, hookCountersFor, threadRegion } from './metrics/request-metrics-layout.js';
import { BufferBudget } from '../common/buffer-budget.js';
import { createOffloadPool } from '../offload/pool.js';
import { createRestAuthCache } from '../offload/rest-auth-cache.js';
import { createGatewayAuthPhases } from './login/gateway-auth.js';
import { createThreadHooks } from './hooks/thread-hooks.js';
import { decodeSnapshot } from '../policy/transport.js';
import { HalfCreatedRoomGuard, createAliasResolver, createDirectoryLookup, createEncryptionReader, createPowerLevelsReader } from './checks/index.js';
import { CheckReadLimit, MAX_CHECK_READS_IN_FLIGHT, MAX_CHECK_READS_PER_REQUESTER } from './checks/upstream-json.js';
import { TrustedProxies } from './upstream/forwarded-for.js';
import { CLIENT_TRIGGERED_LOG_INTERVAL_MS, LogThrottle, warnThrottled } from '../common/log-throttle.js';

const port = parentPort;
if (!port) throw new Error('gateway/thread.js must run as a worker thread');
const data = workerData as GatewayWorkerData & { faultInjection?: boolean };
const { config } = data;
const component = `gateway-${data.threadIndex}`;
/** The thread's log output: batched, asynchronous writes to stdout, shared by its logger and access log. */
const logOutput = new BatchedLineWriter(1, {
  droppedLine: (count) => `{"level":40,"time":"${new Date().toISOString()}","component":"${component}","dropped":${count},"msg":"log lines dropped: stdout too slow"}\n`,
});
const logger = createLogger({ level: logLevelOf(config.Misc), component, destination: logOutput });

function post(message: Unversioned<GatewayToSupervisor>): void {
  port!.postMessage(ipcMessage<GatewayToSupervisor>(message));
}

const { uws, native } = loadUws(config.HttpGateway.AllowUwsFallback);
if (!native) logger.warn('uWebSockets.js native module unavailable: running on the slow fallback (HttpGateway.AllowUwsFallback)');

const policy = new PolicyHolder(data.snapshot ? decodeSnapshot(data.snapshot.bytes) : null);
const pools = new UpstreamPools(config);
/** Every call the gateway makes on its own behalf: the internal pool, `Matrix.TimeoutMilliseconds`. */
const lookups = { dispatcher: pools.internal, basePath: pools.target.basePath, host: pools.target.host, timeoutMs: config.Matrix.TimeoutMilliseconds };
const lookupRefusedLog = new LogThrottle(CLIENT_TRIGGERED_LOG_INTERVAL_MS);
const clientLookupRefusedLog = new LogThrottle(CLIENT_TRIGGERED_LOG_INTERVAL_MS);
// This thread's region of the request counters, shared with the supervisor (gateway/metrics/).
const metricsRegion = threadRegion(data.requestMetrics, data.threadIndex);
const identities = new IdentityCache({
  maxEntries: config.HttpGateway.UserMappingResolver.CacheSize,
  ttlMs: config.HttpGateway.UserMappingResolver.ExpirationTimeMilliseconds,
  lookup: createWhoamiLookup({ ...lookups, socketPath: config.Matrix.HomeserverApiSocketPath }),
  // A flood of new tokens (or a whoami that hangs) makes this fire per request: one line per 10 s.
  onLookupRefused: (limit, client) => (client === null
    ? warnThrottled(lookupRefusedLog, logger, { limit },
      'token look-ups at their limit: requests with new tokens are left unresolved (503 where Corporal acts on the user) until some finish')
    : warnThrottled(clientLookupRefusedLog, logger, { limit, clientAddress: client },
      'token look-ups of one client address at their limit: its requests with new tokens are left unresolved (503 where Corporal acts on the user) until some finish')),
  onResolution: (resolution) => countTokenResolution(metricsRegion, resolution),
});
const checkReadsLog = new LogThrottle(CLIENT_TRIGGERED_LOG_INTERVAL_MS);
const requesterReadsLog = new LogThrottle(CLIENT_TRIGGERED_LOG_INTERVAL_MS);
/**
 * The policy checks' reads: the same pool, at most MAX_CHECK_READS_IN_FLIGHT at once (the look-ups
 * above keep the rest), MAX_CHECK_READS_PER_REQUESTER of them for one user.
 */
const checkReads = {
  ...lookups,
  limit: new CheckReadLimit(MAX_CHECK_READS_IN_FLIGHT, (requester) => {
    if (requester === null) {
      warnThrottled(checkReadsLog, logger, { limit: MAX_CHECK_READS_IN_FLIGHT },
        'policy-check reads at their limit: checks decide as when Synapse cannot be read (a join by alias is refused) until some finish');
    } else {
      warnThrottled(requesterReadsLog, logger, { limit: MAX_CHECK_READS_PER_REQUESTER, userId: requester },
        'policy-check reads of one user at their limit: that user\'s checks decide as when Synapse cannot be read until some finish');
    }
  }),
};
const offload = createOffloadPool(config.Offload, { logger });
const hooks = createThreadHooks(config.Offload, logger, config.HttpGateway.MaxInspectedBodyBytes, hookCountersFor(metricsRegion));
const trustedProxies = new TrustedProxies(config.HttpGateway.TrustedProxies);
// This thread's `rest` fallback cache; a refusal heard here evicts the combination in every thread.
const restCache = createRestAuthCache(config.UserAuth, undefined, (key) => post({ type: 'rest-auth.forget', key }));
const halfCreatedRooms = new HalfCreatedRoomGuard({
  lookup: checkReads,
  corporalUserId: config.Corporal.UserID,
  logger,
  handOff: ({ userId, roomsBefore, startedAt, passDelaysMs }) =>
    post({ type: 'rooms.repair', userId, roomsBefore: [...roomsBefore], startedAt, passDelaysMs: [...passDelaysMs] }),
});
// The request metrics, then the access log: told of every request, those refused while draining too.
const finished = bothListeners(
  new RequestMetrics(metricsRegion),
  config.HttpGateway.AccessLog && logger.isLevelEnabled('info') ? new AccessLog(logOutput, component) : null,
);
const pipeline = createPipeline({
  policy,
  identities,
  pools,
  timeouts: { upstreamMs: config.Matrix.TimeoutMilliseconds, exchangeMs: config.HttpGateway.TimeoutMilliseconds },
  trustedProxies,
  mainPoolConnections: config.HttpGateway.UpstreamConnections,
  logger,
  finished,
  publishEviction: ({ tokens, userId }) => post({ type: 'identity.evict', tokens, userId }),
  checks: {
    corporalUserId: config.Corporal.UserID,
    serverName: config.Matrix.HomeserverDomainName,
    maxBodyBytes: config.HttpGateway.MaxInspectedBodyBytes,
    resolveAlias: createAliasResolver(createDirectoryLookup(checkReads)),
    readPowerLevels: createPowerLevelsReader(checkReads),
    readEncryption: createEncryptionReader(checkReads),
  },
  halfCreatedRooms,
  auth: createGatewayAuthPhases(config, offload, pools, trustedProxies, logger, data.failedAttempts, restCache, ({ accessToken, userId, deviceId, expiresInMs }) =>
    identities.seed(accessToken, { kind: 'user', userId, deviceId, isGuest: false }, expiresInMs)),
  hooks: { engine: hooks.engine, maxBodyBytes: config.HttpGateway.MaxInspectedBodyBytes, trustedProxies },
  bufferBudget: new BufferBudget(config.HttpGateway.MaxBufferedBytesPerThread, (inUseBytes, limitBytes) =>
    logger.warn({ inUseBytes, limitBytes }, 'buffer budget spent: requests that need a body buffered are refused (503) until it frees up (HttpGateway.MaxBufferedBytesPerThread)')),
});
const server = new GatewayServer({ uws, handle: pipeline, refuse: createDrainRefusal(finished) });
const address = parseListenAddress(config.HttpGateway.ListenAddress);
if (!address) throw new Error(`invalid HttpGateway.ListenAddress ${config.HttpGateway.ListenAddress}`);

let draining = false;
/** The deadline of the running drain (epoch ms). */
let drainDeadline = Infinity;
/** Ends the running drain's waits at once (see {@link drain}); a no-op until a drain starts. */
let cutDrain: () => void = () => undefined;

/**
 * A worker thread that ends with uWS sockets open aborts the whole process (a native assertion in
 * Node's worker teardown), so an uncaught error must not simply end the thread: close every
 * socket first, then exit with a failure code for the supervisor to restart this thread.
 */
function crash(err: unknown): void {
  logger.fatal({ err: describeError(err) }, 'gateway thread crashed; closing its sockets');
  try {
    server.close();
    pools.destroy().catch(() => {});
    offload.close().catch(() => {});
    hooks.close().catch(() => {});
  } finally {
    logOutput.end();
    process.exitCode = 1;
    port!.close();
    setTimeout(() => process.exit(1), 2000).unref();
  }
}
process.on('uncaughtException', crash);
process.on('unhandledRejection', crash);

/**
 * Stops accepting, waits for in-flight requests until `deadline`, then closes every socket and
 * lets the thread end. A drain already running is cut short when asked again with an earlier
 * deadline (the supervisor's second signal): its waits end at once, and the thread still closes
 * its sockets before it ends (see {@link crash} for why it must).
 */
async function drain(deadline: number): Promise<void> {
  if (draining) {
    if (deadline < drainDeadline) cutDrain();
    return;
  }
  draining = true;
  drainDeadline = deadline;
  const cut = new Promise<false>((resolve) => { cutDrain = () => resolve(false); });
  server.startDrain();
  logger.info({ inFlight: server.inFlight }, 'draining');
  await Promise.race([server.whenIdle(deadline), cut]);
  if (server.inFlight > 0) logger.warn({ inFlight: server.inFlight }, 'drain deadline passed; closing remaining connections');
  server.close();
  // The supervisor stops the control process only after every thread has drained (supervisor.ts).
  halfCreatedRooms.handOffPending();
  identities.clear();
  await offload.close();
  await hooks.close();
  // Upstream requests of the exchanges just closed are being aborted; should any still hang at
  // the deadline, cut them: a drain never outlives its deadline.
  const closed = await settleWithin(Promise.race([pools.close().then(() => true), cut]), Math.max(0, deadline - Date.now()), () => false, { unref: true });
  if (!closed) {
    logger.warn('upstream connections still busy at the drain deadline; destroying them');
    await pools.destroy();
  }
  logger.info('gateway thread stopped');
  logOutput.end();
  port!.close();
}

const SUPERVISOR_MESSAGE_TYPES = allMessageTypes<SupervisorToGateway['type']>({
  'policy.snapshot': true, 'identity.evict': true, 'rest-auth.forget': true, 'gateway.drain': true,
});

port.on('message', (message: unknown) => {
  if (data.faultInjection && isIpcMessage(message, ['gateway.inject-fault'])) {
    setImmediate(() => {
      throw new Error('injected fault (test)');
    });
    return;
  }
  if (!isIpcMessage(message, SUPERVISOR_MESSAGE_TYPES)) {
    logger.warn('ignoring unknown message from supervisor');
    return;
  }
  const typed = message as SupervisorToGateway;
  switch (typed.type) {
    case 'policy.snapshot':
      if (typed.snapshot.generation > (policy.current?.generation ?? 0) && policy.offer(decodeSnapshot(typed.snapshot.bytes))) {
        post({ type: 'gateway.policy-applied', generation: typed.snapshot.generation });
      }
      break;
    case 'identity.evict':
      identities.evict(typed.tokens, typed.userId);
      break;
    case 'rest-auth.forget':
      restCache.forgetKey(typed.key);
      break;
    case 'gateway.drain':
      drain(typed.deadline).catch((err) => logger.error({ err: describeError(err) }, 'drain failed'));
      break;
  }
});

server.listen(address.host, address.port).then(
  (boundPort) => {
    logger.info({ host: address.host ?? '*', port: boundPort, native }, 'gateway thread listening');
    post({ type: 'gateway.listening', port: boundPort });
    // Confirms the snapshot this thread was started with, so status reports what it really enforces.
    if (policy.current) post({ type: 'gateway.policy-applied', generation: policy.current.generation });
  },
  () => {
    logger.error({ address: config.HttpGateway.ListenAddress }, 'gateway thread cannot listen');
    post({ type: 'gateway.listen-failed', address: config.HttpGateway.ListenAddress });
    server.close();
    pools.destroy().catch(() => {});
    offload.close().catch(() => {});
    hooks.close().catch(() => {});
    logOutput.end();
    port.close();
  },
);
