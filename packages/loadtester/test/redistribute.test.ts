// An agent lost mid-run: its share moves onto the survivors on the common clock (or is only reported), with
// real agent processes, one of them SIGKILLed. Assertions are on counts from the result, never on speed.
import { type ChildProcess, spawn } from 'node:child_process'
import { describe, expect, it, onTestFinished } from 'vitest'
import { Coordinator, type DistributedResult, type JobScenario } from '../src/index.js'
import { arrivalsBetween, planFrom, rateAt, ratePlan, scalePlan } from '../src/distributed/share-plan.js'
import { startTarget } from './target.js'

const DIST = new URL('../dist/index.js', import.meta.url).href

/** An agent in its own Node process (the built package), killed when the test ends. */
function agentProcess(endpoint: string, agentId: string): ChildProcess {
  const child = spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `import { Agent } from ${JSON.stringify(DIST)}
       const a = new Agent({ connect: ${JSON.stringify(endpoint)}, agentId: ${JSON.stringify(agentId)}, statusIntervalMs: 200 })
       await a.start()
       process.on('SIGTERM', () => a.close().then(() => process.exit(0)))`,
    ],
    { stdio: 'inherit' },
  )
  const timer = setTimeout(() => child.kill('SIGKILL'), 35_000)
  child.once('exit', () => clearTimeout(timer))
  onTestFinished(() => {
    child.kill('SIGKILL')
  })
  return child
}

function coordinator(heartbeatTimeoutMs: number): Coordinator {
  const c = new Coordinator({ heartbeatTimeoutMs })
  onTestFinished(() => {
    c.destroy()
  })
  return c
}

const RATE = 300
const DURATION = 10_000
const scenario = (url: string): JobScenario => ({ kind: 'requests', requests: [{ url }] })
/** Requests the schedule called for in a point: sent, or due and never sent. */
const scheduled = (r: DistributedResult, index: number): number =>
  (r.series[index]?.sent ?? 0) + (r.series[index]?.notSent ?? 0)

describe('an agent lost mid-run', () => {
  it('SIGKILL one agent of 3: the survivors take its share from the next second and the rate is back', async () => {
    const target = await startTarget()
    const c = coordinator(1000)
    await c.start()
    const doomed = agentProcess(c.endpoint, 'doomed')
    agentProcess(c.endpoint, 'keep-1')
    agentProcess(c.endpoint, 'keep-2')
    const lost: string[] = []
    const shares: string[] = []
    c.events.on('coordinator:agent:lost', (a) => lost.push(a.agentId))
    c.events.on('coordinator:agent:share', (l) => shares.push(`${l.agentId}:${l.redistributed}`))
    c.events.on('coordinator:progress', ({ point }) => {
      if (point.index === 0) doomed.kill('SIGKILL')
    })
    const result = await c.run({
      scenario: scenario(`${target.url}/`),
      rate: RATE,
      durationMs: DURATION,
      minAgents: 3,
      agentsTimeoutMs: 20_000,
    })
    expect(lost).toEqual(['doomed'])
    expect(shares).toEqual(['doomed:true'])
    // The report names the lost agent, when, and where its share went.
    expect(result.losses).toHaveLength(1)
    const loss = result.losses[0]!
    expect(loss).toMatchObject({ agentId: 'doomed', redistributed: true, rate: 100 })
    expect([...loss.to].sort()).toEqual(['keep-1', 'keep-2'])
    expect(loss.detectedMs).toBeGreaterThanOrEqual(loss.lastSeenMs + 1000)
    const at = (loss.redistributedAtMs as number) - result.startMs
    expect(at % 1000).toBe(0)
    expect(at).toBeGreaterThanOrEqual(1000)
    expect(at).toBeLessThan(DURATION)
    // The gap: from the end of its last reported second to the redistribution, 100 req/s unaccounted for.
    expect(loss.gapEndMs).toBe(loss.redistributedAtMs)
    expect(loss.gapScheduled).toBe(Math.round((100 * (loss.gapEndMs - loss.gapStartMs)) / 1000))
    expect(loss.gapScheduled).toBeGreaterThan(0)
    expect(result.lostRate).toBe(0)
    const doomedShare = result.agents.find((a) => a.agentId === 'doomed')
    expect(doomedShare).toMatchObject({ lost: true, rate: 100 })
    for (const id of ['keep-1', 'keep-2']) {
      const a = result.agents.find((x) => x.agentId === id)
      expect(a?.lost).toBe(false)
      expect(a?.added).toEqual([{ fromAgentId: 'doomed', startMs: loss.redistributedAtMs, rate: 50 }])
    }
    // One point per second of the run, none skipped, indexed on the common clock.
    expect(result.series.map((p) => p.index)).toEqual(result.series.map((_p, i) => i))
    // After the redistribution the requests scheduled per second are back to the requested rate: counts from
    // the report. A second's edges move with timer jitter on a busy shared machine (a late flush shifts requests
    // into the next second), so the seconds from the redistribution to the end are summed (only the first
    // edge can shift, by at most the jitter), and the median second is checked.
    const first = at / 1000
    const seconds = result.series.filter((p) => p.index >= first).map((p) => p.index)
    const whole = DURATION / 1000 - first
    expect(whole).toBeGreaterThanOrEqual(2)
    const sum = seconds.reduce((s, i) => s + scheduled(result, i), 0)
    expect(sum / whole).toBeGreaterThanOrEqual(RATE * 0.9)
    expect(sum / whole).toBeLessThanOrEqual(RATE * 1.1)
    const perSecond = seconds
      .filter((i) => i < DURATION / 1000)
      .map((i) => scheduled(result, i))
      .sort((a, b) => a - b)
    const median = perSecond[Math.floor(perSecond.length / 2)] as number
    expect(median).toBeGreaterThanOrEqual(RATE * 0.85)
    expect(median).toBeLessThanOrEqual(RATE * 1.15)
    // Before the loss the 3 agents had scheduled about the same (the first seconds, before any kill).
    expect(scheduled(result, 0)).toBeGreaterThan(0)
    // Over the whole run: everything scheduled minus the gap (and the lost agent's unreported last second).
    const total = result.totals.counters.sent + result.totals.counters.notSent
    expect(total).toBeLessThanOrEqual((RATE * DURATION) / 1000)
    expect(total).toBeGreaterThanOrEqual((RATE * DURATION) / 1000 - (loss.gapScheduled as number) - 100)
    // The target saw at least every response counted (the lost agent's unreported ones too).
    expect(target.count()).toBeGreaterThanOrEqual(result.totals.counters.responses)
  }, 40_000)

  it("onAgentLost: 'report' leaves the share missing and says how much", async () => {
    const target = await startTarget()
    const c = coordinator(1000)
    await c.start()
    const doomed = agentProcess(c.endpoint, 'doomed')
    agentProcess(c.endpoint, 'keep')
    c.events.on('coordinator:progress', ({ point }) => {
      if (point.index === 0) doomed.kill('SIGKILL')
    })
    const result = await c.run({
      scenario: scenario(`${target.url}/`),
      rate: 100,
      durationMs: 3000,
      minAgents: 2,
      agentsTimeoutMs: 20_000,
      onAgentLost: 'report',
    })
    expect(result.losses).toHaveLength(1)
    const loss = result.losses[0]!
    expect(loss).toMatchObject({ agentId: 'doomed', redistributed: false, to: [], rate: 50 })
    expect(loss.gapEndMs).toBe(result.startMs + 3000)
    expect(loss.gapScheduled).toBe(Math.round((50 * (loss.gapEndMs - loss.gapStartMs)) / 1000))
    expect(result.lostRate).toBe(50)
    expect(result.agents.find((a) => a.agentId === 'keep')).toMatchObject({ lost: false, responses: 150 })
    expect(result.agents.find((a) => a.agentId === 'keep')?.added).toBeUndefined()
  }, 40_000)

  it('refuses an unknown onAgentLost', async () => {
    const c = coordinator(1000)
    await expect(
      c.run({ scenario: scenario('http://127.0.0.1:1/'), rate: 1, onAgentLost: 'ignore' as never }),
    ).rejects.toThrow(/options\.onAgentLost must be 'redistribute' or 'report', got ignore/)
  })
})

describe('share plans', () => {
  it('cuts, scales and integrates a ramp exactly', () => {
    const p = ratePlan({
      stages: [
        { rate: 100, durationMs: 1000 },
        { rate: 100, durationMs: 2000 },
      ],
      durationMs: 0,
    })
    expect(rateAt(p, 500)).toBe(50)
    expect(arrivalsBetween(p, 0, 3000)).toBe(250)
    const rest = planFrom(p, 500)
    expect(rest).toEqual({
      startRate: 50,
      stages: [
        { rate: 100, durationMs: 500 },
        { rate: 100, durationMs: 2000 },
      ],
    })
    expect(arrivalsBetween(rest, 0, 2500)).toBe(arrivalsBetween(p, 500, 3000))
    expect(scalePlan(rest, 0.5).stages[1]).toEqual({ rate: 50, durationMs: 2000 })
    const constant = ratePlan({ rate: 300, durationMs: 7000 })
    expect(arrivalsBetween(planFrom(constant, 3000), 0, 4000)).toBe(1200)
  })
})
