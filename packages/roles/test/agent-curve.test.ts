// The agent channel over CURVE: an agent runs assignments only from a control server whose key it trusts, and
// a control server serves only the agents whose keys it lists. Refusals happen at the handshake and are counted.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { generateKeyPair } from '@dripdrop/zmq'
import { afterAll, describe, expect, it, onTestFinished } from 'vitest'
import { Agent, type AgentOptions } from '../src/agent/agent.js'
import { RoleController, type RoleControllerOptions } from '../src/controller/controller.js'
import type { Topology } from '../src/topology/types.js'

const SVC = resolve(import.meta.dirname, 'fixtures/control/svc.ts')
const logDir = mkdtempSync(join(tmpdir(), 'dd-curve-'))
afterAll(() => rmSync(logDir, { recursive: true, force: true }))

const topology: Topology = {
  name: 'sec',
  roles: { svc: { entry: SVC, restart: { stopTimeoutMs: 2000 } } },
  hosts: { a: { address: '127.0.0.1', roles: { svc: 1 } }, b: { address: '127.0.0.1', roles: [] } },
}

async function until(what: string, f: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms
  while (!f()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

function controller(options: Partial<RoleControllerOptions>): RoleController {
  const c = new RoleController({
    topology,
    agents: 'tcp://127.0.0.1:*',
    heartbeatIntervalMs: 200,
    heartbeatTimeoutMs: 1000,
    ...options,
  })
  onTestFinished(() => {
    c.destroy()
  })
  return c
}

function agent(options: AgentOptions): Agent {
  const a = new Agent({ heartbeatIntervalMs: 200, supervisor: { logDir }, ...options })
  onTestFinished(() => {
    a.destroy()
  })
  return a
}

describe('agent channel over CURVE', () => {
  it('no keys, a wrong server key, an unlisted key: refused at the handshake and counted; the listed agent is served', async () => {
    const keys = generateKeyPair()
    const member = generateKeyPair()
    const outsider = generateKeyPair()
    const c = controller({ curve: { ...keys, allow: [member.publicKey] } })
    await c.start()
    const control = c.endpoint
    const rogues = [
      agent({ control, host: 'b' }),
      agent({ control, host: 'b', curve: { ...member, serverKey: generateKeyPair().publicKey } }),
      agent({ control, host: 'b', curve: { ...outsider, serverKey: keys.publicKey } }),
    ]
    for (const r of rogues) await r.start()
    const legit = agent({ control, host: 'a', curve: { ...member, serverKey: keys.publicKey } })
    await legit.start()
    await until('the listed agent runs svc-1', () => legit.instances().some((i) => i.instance === 'svc-1'))
    await until('three handshakes refused', () => (c.stats.refused.DD_ERR_HANDSHAKE ?? 0) >= 3)
    expect(c.status().hosts.find((h) => h.host === 'b')!.state).toBe('waiting')
    for (const r of rogues) {
      expect(r.registered).toBe(false)
      expect(r.generation).toBe(-1)
    }
  })

  it('an agent runs nothing for a control server without the key it trusts', async () => {
    const trusted = generateKeyPair()
    const member = generateKeyPair()
    const rogue = controller({ curve: generateKeyPair() }) // no allow-list: it would serve anyone
    await rogue.start()
    const fooled = agent({
      control: rogue.endpoint,
      host: 'a',
      curve: { ...member, serverKey: trusted.publicKey },
    })
    await fooled.start()
    await until('the rogue refused the handshake', () => (rogue.stats.refused.DD_ERR_HANDSHAKE ?? 0) >= 1)
    expect(fooled.registered).toBe(false)
    expect(fooled.instances()).toEqual([])
    expect(rogue.status().hosts.every((h) => h.state === 'waiting')).toBe(true)
  })
})
