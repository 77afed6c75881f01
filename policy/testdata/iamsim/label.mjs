// Reads credkit policy cases (one JSON object per line, the format of
// `credkit policy eval --batch`) on stdin and writes one line per case:
// {"id": ..., "decision": "Allowed|ImplicitlyDenied|ExplicitlyDenied"},
// or {"id": ..., "error": ...} when the simulator refuses the input.
// With IAMSIM_DEBUG=1 each answer also carries the simulator's analysis.
//
// With the argument "bench N" it instead reads one case, evaluates it N
// times and prints {"ns_per_op": ...}.
import { createInterface } from 'node:readline'
import { runSimulation } from '@cloud-copilot/iam-simulate'

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
  if (c.permissionsBoundary) sim.permissionBoundaryPolicies = [{ name: 'boundary', policy: c.permissionsBoundary }]
  if (c.sessionPolicy) sim.sessionPolicy = c.sessionPolicy
  return sim
}

async function answer(line, debug) {
  let c
  try {
    c = JSON.parse(line)
  } catch (e) {
    return { id: null, error: 'not JSON: ' + e.message }
  }
  try {
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

async function bench(n) {
  const rl = createInterface({ input: process.stdin, crlfDelay: Infinity })
  for await (const line of rl) {
    if (!line.trim()) continue
    const sim = simulation(JSON.parse(line))
    const first = await runSimulation(sim, {})
    if (first.resultType === 'error') throw new Error(JSON.stringify(first.errors))
    for (let i = 0; i < Math.min(n, 200); i++) await runSimulation(sim, {}) // warm up
    const start = process.hrtime.bigint()
    for (let i = 0; i < n; i++) await runSimulation(sim, {})
    const ns = Number(process.hrtime.bigint() - start) / n
    process.stdout.write(JSON.stringify({ decision: first.overallResult, ns_per_op: ns }) + '\n')
    return
  }
}

if (process.argv[2] === 'bench') {
  await bench(Number(process.argv[3] || 1000))
} else {
  const debug = process.env.IAMSIM_DEBUG === '1'
  const rl = createInterface({ input: process.stdin, crlfDelay: Infinity })
  for await (const line of rl) {
    if (!line.trim()) continue
    process.stdout.write(JSON.stringify(await answer(line, debug)) + '\n')
  }
}
