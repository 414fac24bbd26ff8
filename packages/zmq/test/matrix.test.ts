// The location-transparency matrix: one app (examples/zmq/app.ts), four deployments, same results. Only the
// address map changes between rows.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type App, type AppResult, loadApp, runCluster, tryRun } from './cluster.js'
import { bindAddress, removeIpcDir } from './helpers.js'

const JOBS = 300
let app: App
let expected: AppResult

beforeAll(async () => {
  app = await loadApp()
  const sum = app.expectedSum(JOBS)
  const audit = { count: JOBS, sum, agrees: true }
  expected = { collector: { count: JOBS, sum }, auditors: [audit, audit] }
})
afterAll(removeIpcDir)

// Network namespaces joined by a veth pair, named after this process so parallel runs do not collide.
const tag = (process.pid % 10000).toString()
const NS = { servers: `dd-a-${tag}`, clients: `dd-b-${tag}` }
const VETH = { servers: `ddva${tag}`, clients: `ddvb${tag}` }
const IP = { servers: '10.213.77.1', clients: '10.213.77.2' }

function setUpNetns(): string | undefined {
  const denied = tryRun('ip', ['netns', 'add', NS.servers])
  if (denied) return `ip netns add is not permitted here: ${denied}`
  const steps: string[][] = [
    ['netns', 'add', NS.clients],
    ['link', 'add', VETH.servers, 'type', 'veth', 'peer', 'name', VETH.clients],
    ['link', 'set', VETH.servers, 'netns', NS.servers],
    ['link', 'set', VETH.clients, 'netns', NS.clients],
  ]
  for (const [side, ns] of Object.entries(NS) as ['servers' | 'clients', string][]) {
    steps.push(
      ['-n', ns, 'addr', 'add', `${IP[side]}/30`, 'dev', VETH[side]],
      ['-n', ns, 'link', 'set', VETH[side], 'up'],
      ['-n', ns, 'link', 'set', 'lo', 'up'],
    )
  }
  for (const step of steps) {
    const failed = tryRun('ip', step)
    if (failed) return `ip ${step.join(' ')} failed: ${failed}`
  }
  const exec = tryRun('ip', ['netns', 'exec', NS.clients, process.execPath, '-e', 'process.exit(0)'])
  if (exec) return `ip netns exec failed: ${exec}`
  return undefined
}

function tearDownNetns(): void {
  // Deleting a namespace deletes the veth end inside it, and with it its peer.
  tryRun('ip', ['netns', 'del', NS.servers])
  tryRun('ip', ['netns', 'del', NS.clients])
}

describe('location transparency: the same app in four deployments', () => {
  it('(a) one process over inproc://', async () => {
    const addr = {
      jobs: 'inproc://jobs',
      results: 'inproc://results',
      math: 'inproc://math',
      events: 'inproc://events',
      control: 'inproc://control',
    }
    expect(await app.runAll(addr, JOBS)).toEqual(expected)
  })

  it('(b) one process over ipc://', async () => {
    const addr = {
      jobs: bindAddress('ipc'),
      results: bindAddress('ipc'),
      math: bindAddress('ipc'),
      events: bindAddress('ipc'),
      control: bindAddress('ipc'),
    }
    expect(await app.runAll(addr, JOBS)).toEqual(expected)
  })

  it('(c) seven OS processes over tcp://127.0.0.1', async () => {
    expect(await runCluster('127.0.0.1', JOBS)).toEqual(expected)
  }, 60_000)

  describe('(d) two network namespaces joined by a veth pair', () => {
    let skipped: string | undefined
    beforeAll(() => {
      skipped = setUpNetns()
      if (skipped) {
        tearDownNetns()
        console.warn(`row (d) skipped: ${skipped}`)
      }
    })
    afterAll(tearDownNetns)

    it('servers in one namespace, workers and auditors in the other', async (ctx) => {
      if (skipped) {
        ctx.skip(`row (d) skipped: ${skipped}`)
        return
      }
      expect(await runCluster(IP.servers, JOBS, NS)).toEqual(expected)
    }, 60_000)
  })
})
