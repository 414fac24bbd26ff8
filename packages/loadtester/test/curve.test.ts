// Coordinator ↔ agents over CURVE (issue 10): an agent with no keys, with a wrong coordinator key, or with a
// valid but unlisted key is refused at the handshake, counted in the coordinator's `stats.refused` and
// reported (`coordinator:error` with a DD_ERR_HANDSHAKE); it gets no job, while the listed agent runs one.
import { generateKeyPair, HandshakeError } from '@dripdrop/zmq'
import { describe, expect, it, onTestFinished } from 'vitest'
import { Agent, type AgentOptions, Coordinator } from '../src/index.js'
import { startTarget } from './target.js'

function agent(options: AgentOptions): Agent {
  const a = new Agent(options)
  onTestFinished(() => {
    a.destroy()
  })
  return a
}

async function until(fn: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 10_000
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

describe('load-tester agents over CURVE', () => {
  it('refuses and counts a NULL agent, a wrong coordinator key and an unlisted key; the listed agent runs the job', async () => {
    const target = await startTarget()
    const keys = generateKeyPair()
    const member = generateKeyPair()
    const outsider = generateKeyPair()
    const c = new Coordinator({ curve: { ...keys, allow: [member.publicKey] } })
    onTestFinished(() => {
      c.destroy()
    })
    const refused: HandshakeError[] = []
    c.events.on('coordinator:error', ({ error }) => {
      if (error instanceof HandshakeError) refused.push(error)
    })
    await c.start()
    const connect = c.endpoint

    // One at a time, each destroyed once refused, so each count is its own.
    let counted = 0
    const intruder = async (options: Omit<AgentOptions, 'connect'>, what: string) => {
      const a = agent({ connect, ...options })
      await a.start()
      await until(() => c.stats.refused > counted, what)
      a.destroy()
      counted = c.stats.refused
      return a
    }
    const plain = await intruder({}, 'the NULL agent refused')
    const wrong = await intruder(
      { curve: { ...member, serverKey: outsider.publicKey } },
      'the wrong-coordinator-key agent refused',
    )
    // The agent side counts its failed handshakes too: it never trusted that coordinator.
    expect(wrong.stats.refused).toBeGreaterThan(0)
    const unlisted = await intruder(
      { curve: { ...outsider, serverKey: keys.publicKey } },
      'the unlisted agent refused',
    )
    expect(refused.some((e) => e.reason === 'auth' && e.clientKey === outsider.publicKey)).toBe(true)
    expect(refused.every((e) => e.code === 'DD_ERR_HANDSHAKE')).toBe(true)

    const right = agent({ connect, curve: { ...member, serverKey: keys.publicKey } })
    await right.start()
    const result = await c.run({
      scenario: { kind: 'requests', requests: [{ url: `${target.url}/` }] },
      rate: 40,
      durationMs: 500,
    })
    expect(result.agents.map((x) => x.agentId)).toEqual([right.agentId])
    expect(target.count()).toBe(20)
    for (const a of [plain, wrong, unlisted]) {
      expect(a.stats.jobs).toBe(0)
      expect(a.welcomed).toBe(false)
    }
    expect(c.stats.refused).toBeGreaterThanOrEqual(3)
  })
})
