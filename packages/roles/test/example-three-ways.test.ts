// The same example app (examples/control-app's entries) run by changing only the topology / the way it starts:
// `dripdrop start --inproc` (one process) and `dripdrop start` (one process per instance on this host) get the
// same 10 orders and price them the same (the example's topology, on free ports: helpers.exampleTopology) (`orders 10 revenue 522.50` at the aggregator). The third way, 3 hosts
// through examples/roles/topology-3hosts.yaml, is netns-example.test.ts (root only), which sends these same
// orders first and checks the same total.
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { exampleTopology, spawnNode } from './helpers.js'

const ROOT = resolve(import.meta.dirname, '../../..')
const BIN = resolve(import.meta.dirname, '../dist/cli/dripdrop.js')
/** The orders every way gets: qty 1..10, priced 9.5 each → 55 × 9.5 = 522.50. */
const ORDERS = Array.from({ length: 10 }, (_, i) => i + 1)
const PRICED = 'orders 10 revenue 522.50'

async function sendOrders(url: string): Promise<number[]> {
  const statuses: number[] = []
  for (const qty of ORDERS) {
    const res = await fetch(`${url}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ qty }),
      signal: AbortSignal.timeout(5000),
    })
    await res.arrayBuffer()
    statuses.push(res.status)
  }
  return statuses
}

describe('examples/control-app three ways, same orders, same result', () => {
  it('dripdrop start --inproc: one process', async () => {
    const example = await exampleTopology()
    const { child, lines, exit, stderr } = spawnNode(BIN, {
      args: ['start', example.file, '--inproc'],
      cwd: ROOT,
    })
    await lines.until((l) => / start +shop in one process/.test(l), 30_000)
    expect(await sendOrders(example.http)).toEqual(Array(10).fill(200))
    for (let i = 0; i < 100 && !stderr().includes(PRICED); i++) await new Promise((r) => setTimeout(r, 200))
    expect(stderr()).toContain(PRICED)
    child.kill('SIGINT')
    expect(await exit).toEqual({ code: 0, signal: null })
  }, 40_000)

  it('dripdrop start: one process per instance on this host', async () => {
    const example = await exampleTopology()
    const { child, lines, exit } = spawnNode(BIN, {
      args: ['start', example.file, '--log-dir', resolve(ROOT, '.dripdrop/three-ways-logs')],
      cwd: ROOT,
    })
    const up = new Set<string>()
    await lines.until((l) => {
      const m = /^(worker-\d|gateway-1|aggregator-1) +\| \{/.exec(l)
      if (m) up.add(m[1])
      return up.size === 4
    }, 30_000)
    expect(await sendOrders(example.http)).toEqual(Array(10).fill(200))
    await lines.until((l) => l.endsWith(`| ${PRICED}`), 20_000)
    child.kill('SIGINT')
    expect(await exit).toEqual({ code: 0, signal: null })
  }, 40_000)
})
