// Reads credkit policy cases (one JSON object per line, the format of
// `credkit policy eval --batch`) on stdin and writes one line per case:
// {"id": ..., "decision": "Allowed|ImplicitlyDenied|ExplicitlyDenied"},
// or {"id": ..., "error": ...} when the simulator refuses the input.
// With IAMSIM_DEBUG=1 each answer also carries the simulator's analysis.
//
// runSimulation validates every policy, action, resource and context key
// first, which takes milliseconds a case. With IAMSIM_FAST=1 the script
// skips that and calls the simulator's core authorize function as
// runUnsafeSimulation does, but naming every policy and passing the
// session policy (runUnsafeSimulation fails on a resource policy and drops
// session policies in this version). The Go test checks on a sample that
// both ways answer alike.
//
// With the arguments "bench N" it instead reads one case, evaluates it N
// times with runSimulation (validating and loading the policies each
// time, as a caller of the library does) and prints {"ns_per_op": ...,
// "decision": ...}; "bench N core" loads the policies once and times only
// the core evaluation.
import { createInterface } from 'node:readline'
import { isConditionKeyArray, runSimulation, typeForContextKey } from '@cloud-copilot/iam-simulate'

function simulation(c) {
  const principalAccount = (c.principal.split(':')[4]) || ''
  let account = c.resourceAccount || c.resource.split(':')[4] || principalAccount
  const levels = (ls, kind) =>
    (ls || []).map((level, i) => ({
      orgIdentifier: `${kind}-level-${i}`,
      policies: level.map((policy, j) => ({ name: `${kind}[${i}][${j}]`, policy }))
    }))
  const sim = {
    request: {
      principal: c.principal,
      action: c.action,
      resource: { resource: c.resource, accountId: account },
      contextVariables: c.context || {}
    },
    identityPolicies: (c.identityPolicies || []).map((policy, i) => ({ name: `identity[${i}]`, policy })),
    serviceControlPolicies: levels(c.scps, 'scp'),
    resourceControlPolicies: levels(c.rcps, 'rcp')
  }
  if (c.resourcePolicy) sim.resourcePolicy = c.resourcePolicy
  // iam-simulate takes a role's trust policy as the resource policy of an
  // sts: action, and requires it to allow the caller explicitly.
  if (c.trustPolicy) sim.resourcePolicy = c.trustPolicy
  if (c.permissionsBoundary) sim.permissionBoundaryPolicies = [{ name: 'boundary', policy: c.permissionsBoundary }]
  if (c.sessionPolicy) sim.sessionPolicy = c.sessionPolicy
  return sim
}

const fast = process.env.IAMSIM_FAST === '1'
const dist = new URL('./node_modules/@cloud-copilot/iam-simulate/dist/esm/', import.meta.url)
const core = (fast || process.argv[4] === 'core') && {
  ...(await import(new URL('core_engine/CoreSimulatorEngine.js', dist))),
  ...(await import(new URL('request/request.js', dist))),
  ...(await import(new URL('requestContext.js', dist))),
  ...(await import(new URL('context_keys/discoveryContextKeyConstraints.js', dist))),
  ...(await import('@cloud-copilot/iam-policy'))
}

// contextValues gives each key the shape runSimulation gives it: a list
// for a multi-valued key, else a single string.
const keyTypes = new Map()
async function contextValues(ctx) {
  const out = {}
  for (const [k, v] of Object.entries(ctx)) {
    const lower = k.toLowerCase()
    if (!keyTypes.has(lower)) keyTypes.set(lower, await typeForContextKey(lower))
    out[k] = isConditionKeyArray(keyTypes.get(lower)) ? [v].flat() : Array.isArray(v) ? v[0] : v
  }
  return out
}

// RCPFullAWSAccess, attached at every level of an organization that uses
// RCPs (runSimulation adds it itself).
const rcpFullAWSAccess = {
  name: 'RCPFullAWSAccess',
  policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: '*', Resource: '*' }] }
}

function authorizeUnchecked(sim) {
  const load = (p) => core.loadPolicy(p.policy, { name: p.name })
  const levels = (ls, extra) => ls.map((l) => ({ orgIdentifier: l.orgIdentifier, policies: [...l.policies, ...extra].map(load) }))
  const r = sim.request
  const request = new core.AwsRequestImpl(r.principal, r.resource, r.action, new core.RequestContextImpl(r.contextVariables))
  return core.authorize({
    request,
    sessionPolicy: sim.sessionPolicy ? load({ name: 'session', policy: sim.sessionPolicy }) : undefined,
    identityPolicies: sim.identityPolicies.map(load),
    serviceControlPolicies: levels(sim.serviceControlPolicies, []),
    resourceControlPolicies: levels(sim.resourceControlPolicies, [rcpFullAWSAccess]),
    resourcePolicy: sim.resourcePolicy ? load({ name: 'resource', policy: sim.resourcePolicy }) : undefined,
    permissionBoundaries: sim.permissionBoundaryPolicies?.map(load),
    vpcEndpointPolicies: undefined,
    simulationParameters: { simulationMode: 'Strict', discoveryContextKeyConstraints: new core.DiscoveryContextKeyConstraints([]) },
    serviceSettings: { s3: {} }
  }).result
}

async function answer(line, debug) {
  let c
  try {
    c = JSON.parse(line)
  } catch (e) {
    return { id: null, error: 'not JSON: ' + e.message }
  }
  try {
    if (fast && !debug) {
      const sim = simulation(c)
      sim.request.contextVariables = await contextValues(sim.request.contextVariables)
      return { id: c.id, decision: authorizeUnchecked(sim) }
    }
    const r = await runSimulation(simulation(c), {})
    if (r.resultType === 'error') return { id: c.id, error: JSON.stringify(r.errors) }
    const out = { id: c.id, decision: r.overallResult }
    const ignored = r.resultType === 'single' ? r.result.ignoredContextKeys : r.results.flatMap((x) => x.ignoredContextKeys || [])
    if (ignored && ignored.length) out.ignoredContextKeys = ignored
    if (r.resultType === 'wildcard') out.wildcard = true
    if (debug) out.analysis = r.resultType === 'single' ? r.result.analysis : r.results.map((x) => x.analysis)
    return out
  } catch (e) {
    return { id: c.id, error: 'exception: ' + (e && e.stack ? e.stack.split('\n').slice(0, 3).join(' | ') : String(e)) }
  }
}

async function bench(n, coreOnly) {
  const rl = createInterface({ input: process.stdin, crlfDelay: Infinity })
  for await (const line of rl) {
    if (!line.trim()) continue
    const c = JSON.parse(line)
    const sim = simulation(c)
    let once
    if (coreOnly) {
      sim.request.contextVariables = await contextValues(sim.request.contextVariables)
      once = async () => authorizeUnchecked(sim)
    } else {
      once = async () => {
        const r = await runSimulation(sim, {})
        if (r.resultType === 'error') throw new Error(JSON.stringify(r.errors))
        return r.overallResult
      }
    }
    const decision = await once()
    for (let i = 0; i < Math.min(n, 200); i++) await once() // warm up
    const start = process.hrtime.bigint()
    for (let i = 0; i < n; i++) await once()
    const ns = Number(process.hrtime.bigint() - start) / n
    process.stdout.write(JSON.stringify({ decision, ns_per_op: ns }) + '\n')
    return
  }
}

if (process.argv[2] === 'bench') {
  await bench(Number(process.argv[3] || 1000), process.argv[4] === 'core')
} else {
  const debug = process.env.IAMSIM_DEBUG === '1'
  const rl = createInterface({ input: process.stdin, crlfDelay: Infinity })
  for await (const line of rl) {
    if (!line.trim()) continue
    process.stdout.write(JSON.stringify(await answer(line, debug)) + '\n')
  }
}
