import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Node } from '@dripdrop/core'
import { generateKeyPair, zmqTransport } from '@dripdrop/zmq'
import { describe, expect, it, onTestFinished } from 'vitest'
import {
  Agent,
  type AgentOptions,
  Coordinator,
  type CoordinatorOptions,
  createHistogram,
  emptyCounters,
  emptyInterval,
  encodeHistogram,
  type JobScenario,
  PERCENTILES,
  seededRandom,
  split,
  startLocalAgents,
} from '../src/index.js'
import { startTarget } from './target.js'

function coordinator(options: CoordinatorOptions = {}): Coordinator {
  const c = new Coordinator(options)
  onTestFinished(() => {
    c.destroy()
  })
  return c
}

function agent(options: AgentOptions): Agent {
  const a = new Agent(options)
  onTestFinished(() => {
    a.destroy()
  })
  return a
}

const scenario = (url: string): JobScenario => ({ kind: 'requests', requests: [{ url }] })

describe('distributed runs', () => {
  it('splits a total into parts that differ by at most one and add up', () => {
    expect(split(10, 3)).toEqual([4, 3, 3])
    expect(split(2, 4)).toEqual([1, 1, 0, 0])
  })

  it('merges agents exactly: the merged percentiles are those of one histogram of every sample', async () => {
    const c = coordinator()
    await c.start()
    // Two foreign agents written from docs/protocol.md §12: a raw dealer each, known samples per second.
    const random = seededRandom(7)
    const all = createHistogram()
    const fakes = [0, 1].map((i) => {
      const node = new Node({ name: `fake-${i}`, transports: [zmqTransport()] })
      onTestFinished(() => {
        node.destroy()
      })
      const route = node.route('loadtest', { type: 'dealer', connect: c.endpoint })
      route.on('job.start', async ({ body }) => {
        const { jobId } = body as { jobId: string }
        for (let index = 0; index < 3; index++) {
          const h = createHistogram()
          const counters = emptyCounters()
          for (let k = 0; k < 500; k++) {
            // A heavy tail so the high percentiles differ between agents and seconds.
            const v = Math.floor(100 + (random() < 0.05 ? random() * 5_000_000 : random() * 20_000 * (i + 1)))
            h.recordValue(v)
            all.recordValue(v)
          }
          counters.sent = counters.responses = 500
          counters.statuses['200'] = 500
          const delta = {
            ...emptyInterval(index, Date.now(), 1000),
            counters,
            latency: encodeHistogram(h),
            service: encodeHistogram(h),
          }
          await route.send('job.interval', { agentId: `fake-${i}`, jobId, cpu: 0.1, delta })
        }
        await route.send('job.end', { agentId: `fake-${i}`, jobId, abandoned: 0 })
      })
      return { node, route, i }
    })
    for (const f of fakes) {
      await f.node.start()
      await f.route.send('agent.hello', {
        agentId: `fake-${f.i}`,
        version: 1,
        nonce: `n${f.i}`,
        auth: '',
        hostname: 'test',
        pid: 0,
        kind: 'process',
      })
    }
    const result = await c.run({ scenario: scenario('http://127.0.0.1:1/'), rate: 10, minAgents: 2 })
    expect(result.totals.latency.totalCount).toBe(3000)
    for (const p of [...PERCENTILES, 12.5, 99.999])
      expect(result.totals.latency.getValueAtPercentile(p)).toBe(all.getValueAtPercentile(p))
    expect(result.series.map((s) => s.responses)).toEqual([1000, 1000, 1000])
    expect(result.agents.map((a) => a.responses)).toEqual([1500, 1500])
  })

  it('local agent threads share the rate, start together, and every response is counted once', async () => {
    const target = await startTarget()
    const c = coordinator()
    await c.start()
    const local = await startLocalAgents({ connect: c.endpoint, count: 2 })
    onTestFinished(() => local.close())
    const starts: number[] = []
    c.events.on('coordinator:run:start', ({ startAt }) => starts.push(startAt))
    const result = await c.run({
      scenario: scenario(`${target.url}/`),
      rate: 200,
      durationMs: 1500,
      minAgents: 2,
    })
    expect(result.agents).toHaveLength(2)
    expect(result.agents.map((a) => a.kind)).toEqual(['thread', 'thread'])
    for (const a of result.agents) {
      expect(a.rate).toBe(100)
      expect(a.responses).toBeGreaterThan(0)
      expect(a.lost).toBe(false)
      // 100 req/s keeps a thread's event loop mostly idle: not flagged.
      expect(a.overloaded).toBe(false)
    }
    // The target saw exactly what the merged totals say: nothing lost, nothing counted twice.
    expect(result.totals.counters.responses).toBe(target.count())
    expect(result.totals.counters.responses).toBe(300)
    expect(result.totals.latency.totalCount).toBe(300)
    expect(starts).toHaveLength(1)
    expect(result.startMs).toBe(starts[0])
  })

  it("an agent SIGKILLed mid-run is reported lost with its share, the run still ends (onAgentLost: 'report')", async () => {
    const target = await startTarget()
    const c = coordinator({ heartbeatTimeoutMs: 1000 })
    await c.start()
    const child = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { Agent } from ${JSON.stringify(new URL('../dist/index.js', import.meta.url).href)}
         const a = new Agent({ connect: ${JSON.stringify(c.endpoint)}, agentId: 'doomed', statusIntervalMs: 200 })
         await a.start()`,
      ],
      { stdio: 'inherit' },
    )
    onTestFinished(() => {
      child.kill('SIGKILL')
    })
    const survivor = agent({ connect: c.endpoint, agentId: 'survivor', statusIntervalMs: 200 })
    await survivor.start()
    const lost: string[] = []
    c.events.on('coordinator:agent:lost', (a) => lost.push(a.agentId))
    c.events.on('coordinator:progress', ({ point }) => {
      if (point.index === 0) child.kill('SIGKILL')
    })
    const result = await c.run({
      scenario: scenario(`${target.url}/`),
      rate: 100,
      durationMs: 3000,
      minAgents: 2,
      onAgentLost: 'report',
    })
    expect(lost).toEqual(['doomed'])
    const doomed = result.agents.find((a) => a.agentId === 'doomed')
    const kept = result.agents.find((a) => a.agentId === 'survivor')
    expect(doomed).toMatchObject({ lost: true, rate: 50 })
    expect(doomed?.lostAtMs).toBeGreaterThan(result.startMs)
    expect(kept).toMatchObject({ lost: false, responses: 150 })
    expect(result.lostRate).toBe(50)
    expect(c.agents.find((a) => a.agentId === 'doomed')?.status).toBe('lost')
  })

  it('flags an agent whose CPU is above cpuLimit', async () => {
    const target = await startTarget()
    const c = coordinator({ cpuLimit: 0.000001 })
    await c.start()
    const a = agent({ connect: c.endpoint, statusIntervalMs: 100 })
    await a.start()
    const flagged: string[] = []
    c.events.on('coordinator:agent:overloaded', (info) => flagged.push(info.agentId))
    const result = await c.run({ scenario: scenario(`${target.url}/`), rate: 50, durationMs: 1000 })
    expect(flagged).toEqual([a.agentId])
    expect(result.agents[0]?.overloaded).toBe(true)
    expect(result.agents[0]?.maxCpu).toBeGreaterThan(0)
  })

  it('flags an agent really above 90% CPU with the default cpuLimit (a scenario module that keeps its loop busy)', async () => {
    const target = await startTarget()
    const dir = mkdtempSync(join(tmpdir(), 'dd-load-cpu-'))
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }))
    const file = join(dir, 'burn.mjs')
    // Imported by the agent's thread: 95 ms of busy work every 100 ms beside the engine, so the loop is busy
    // well over 90% of the time yet still turns (its reports get out).
    writeFileSync(
      file,
      "setInterval(() => { const end = performance.now() + 95; while (performance.now() < end); }, 100).unref()\nexport default () => ({ path: '/' })\n",
    )
    const c = coordinator()
    await c.start()
    const local = await startLocalAgents({ connect: c.endpoint, count: 1 })
    onTestFinished(() => local.close())
    const flagged: string[] = []
    c.events.on('coordinator:agent:overloaded', (a) => flagged.push(a.agentId))
    const result = await c.run({
      scenario: { kind: 'module', module: file, target: target.url },
      rate: 100,
      durationMs: 1500,
    })
    expect(flagged).toEqual(local.agentIds)
    expect(result.agents[0]).toMatchObject({ agentId: local.agentIds[0], overloaded: true })
    expect(result.agents[0]?.maxCpu).toBeGreaterThan(0.9)
  })

  it('an agent without the token is refused and runs nothing', async () => {
    const target = await startTarget()
    const c = coordinator({ token: 'sesame' })
    await c.start()
    const wrong = agent({ connect: c.endpoint, token: 'guess' })
    const errors: string[] = []
    wrong.events.on('agent:error', ({ error }) => errors.push((error as { code?: string }).code ?? ''))
    await wrong.start()
    const right = agent({ connect: c.endpoint, token: 'sesame' })
    await right.start()
    const result = await c.run({ scenario: scenario(`${target.url}/`), rate: 40, durationMs: 500 })
    expect(result.agents.map((x) => x.agentId)).toEqual([right.agentId])
    expect(c.stats.refused).toBe(1)
    expect(errors).toContain('DD_ERR_AGENT_AUTH')
    expect(wrong.stats.jobs).toBe(0)
    expect(target.count()).toBe(20)
  })

  it('an agent refuses jobs from a coordinator that cannot prove the token', async () => {
    const target = await startTarget()
    const c = coordinator() // no token: its proofs are empty
    await c.start()
    const a = agent({ connect: c.endpoint, token: 'sesame' })
    const errors: string[] = []
    a.events.on('agent:error', ({ error }) => errors.push((error as { code?: string }).code ?? ''))
    await a.start()
    const result = await c.run({ scenario: scenario(`${target.url}/`), rate: 40, durationMs: 500 })
    expect(result.agents[0]?.error).toMatch(/refused/)
    expect(a.stats.jobs).toBe(0)
    expect(a.stats.refused).toBeGreaterThan(0)
    expect(errors).toContain('DD_ERR_AGENT_AUTH')
    expect(target.count()).toBe(0)
  })

  it('counts a malformed message as invalid and serves on', async () => {
    const c = coordinator()
    await c.start()
    const node = new Node({ name: 'bad', transports: [zmqTransport()] })
    onTestFinished(() => {
      node.destroy()
    })
    const route = node.route('loadtest', { type: 'dealer', connect: c.endpoint })
    await node.start()
    const errors: string[] = []
    const seen = new Promise<void>((resolve) =>
      c.events.on('coordinator:error', ({ error }) => {
        errors.push((error as { code?: string }).code ?? '')
        if (errors.length === 2) resolve()
      }),
    )
    await route.send('job.interval', { agentId: 'x', jobId: 'y', cpu: 'hot' })
    await route.send('agent.status', { agentId: 'nobody', cpu: 0, jobId: '' })
    await seen
    expect(errors).toEqual(['DD_ERR_AGENT_PROTOCOL', 'DD_ERR_AGENT_PROTOCOL'])
    expect(c.stats.invalid).toBe(2)
    const a = agent({ connect: c.endpoint })
    await a.start()
    await c.waitForAgents(1)
  })

  it('over CURVE: an unlisted agent gets no job, an agent runs nothing for a coordinator without the key it trusts', async () => {
    const target = await startTarget()
    const keys = generateKeyPair()
    const member = generateKeyPair()
    const outsider = generateKeyPair()
    const c = coordinator({ curve: { ...keys, allow: [member.publicKey] } })
    const refused: string[] = []
    c.events.on('coordinator:error', ({ error }) => refused.push((error as { code?: string }).code ?? ''))
    await c.start()
    const unlisted = agent({ connect: c.endpoint, curve: { ...outsider, serverKey: keys.publicKey } })
    await unlisted.start()
    const right = agent({ connect: c.endpoint, curve: { ...member, serverKey: keys.publicKey } })
    await right.start()
    const result = await c.run({ scenario: scenario(`${target.url}/`), rate: 40, durationMs: 500 })
    expect(result.agents.map((x) => x.agentId)).toEqual([right.agentId])
    expect(unlisted.stats.jobs).toBe(0)
    expect(target.count()).toBe(20)
    // A rogue coordinator (another key pair, no allow-list) that the member agent reaches: the agent trusts
    // only `keys.publicKey`, so the handshake fails and the rogue never sees an agent; its run times out.
    const rogue = coordinator({ curve: generateKeyPair() })
    await rogue.start()
    const fooled = agent({ connect: rogue.endpoint, curve: { ...member, serverKey: keys.publicKey } })
    await fooled.start()
    await expect(
      rogue.run({ scenario: scenario(`${target.url}/`), rate: 40, durationMs: 200, agentsTimeoutMs: 1000 }),
    ).rejects.toBeInstanceOf(Error)
    expect(fooled.stats.jobs).toBe(0)
    expect(target.count()).toBe(20)
  })

  it('validates curve options with the option path (the secret key is never printed)', () => {
    const pair = generateKeyPair()
    expect(() => new Coordinator({ curve: { ...pair, secretKey: 'short' } as never })).toThrow(
      /options\.curve\.secretKey must be a CURVE key in Z85 text \(40 characters\), got a string of 5 characters/,
    )
    expect(() => new Agent({ connect: 'tcp://127.0.0.1:1', curve: pair as never })).toThrow(
      /options\.curve\.serverKey is required/,
    )
  })

  it('refuses an interval outside the run and a histogram that does not decode, counting both', async () => {
    const c = coordinator()
    await c.start()
    const node = new Node({ name: 'liar', transports: [zmqTransport()] })
    onTestFinished(() => {
      node.destroy()
    })
    const route = node.route('loadtest', { type: 'dealer', connect: c.endpoint })
    const invalid: string[] = []
    c.events.on('coordinator:error', ({ error }) => invalid.push(error.message))
    route.on('job.start', async ({ body }) => {
      const { jobId } = body as { jobId: string }
      const delta = (index: number, latency: string) => ({
        ...emptyInterval(index, Date.now(), 1000),
        counters: { ...emptyCounters(), sent: 1, responses: 1 },
        latency,
      })
      await route.send('job.interval', { agentId: 'liar', jobId, cpu: 0, delta: delta(10_000_000, '') })
      await route.send('job.interval', { agentId: 'liar', jobId, cpu: 0, delta: delta(0, '!!not-hdr!!') })
      await route.send('job.end', { agentId: 'liar', jobId, abandoned: 0 })
    })
    await node.start()
    await route.send('agent.hello', {
      agentId: 'liar',
      version: 1,
      nonce: 'n',
      auth: '',
      hostname: 'x',
      pid: 1,
      kind: 'process',
    })
    const result = await c.run({ scenario: scenario('http://127.0.0.1:1/'), rate: 10, durationMs: 1000 })
    expect(invalid).toHaveLength(2)
    expect(invalid[0]).toMatch(/outside/)
    expect(c.stats.invalid).toBe(2)
    // Neither bad delta was added, not even its counters.
    expect(result.totals.counters.responses).toBe(0)
    expect(result.series).toEqual([])
  })
})
