// Killing a worker process mid-stream and starting another: the stream resumes, nothing else restarts.
import { describe, expect, it } from 'vitest'
import { RoleProcess } from './cluster.js'
import { until, zmqNode } from './helpers.js'

describe('a worker killed mid-stream', () => {
  it('SIGKILL a pull worker, start a new one: the producer never gets stuck, every job sent after the restart arrives', async () => {
    // Producer, collector and the math service stay in this process for the whole test.
    const node = zmqNode('stay')
    const jobs = node.route('jobs', { type: 'push', bind: 'tcp://127.0.0.1:*', highWaterMark: 100 })
    const results = node.route('results', { type: 'pull', bind: 'tcp://127.0.0.1:*' })
    const math = node.route('math', { type: 'rep', bind: 'tcp://127.0.0.1:*' })
    math.on('square', ({ body }) => body * body)
    const got = new Set<number>()
    results.on('result', ({ body }) => {
      expect(body.sq).toBe(body.n * body.n)
      got.add(body.n)
    })
    const disconnects: number[] = []
    const connects: number[] = []
    let sent = 0
    node.events.on('route:disconnect', ({ route }) => {
      if (route === 'jobs') disconnects.push(sent)
    })
    node.events.on('route:connect', ({ route }) => {
      if (route === 'jobs') connects.push(sent)
    })
    await node.start()
    const addr = {
      jobs: jobs.endpoints[0],
      results: results.endpoints[0],
      math: math.endpoints[0],
      events: '',
      control: '',
    }

    let running = true
    const producing = (async () => {
      // Bounded in count and time; paced so the stream lasts through the kill and the restart.
      const end = Date.now() + 30_000
      while (running && sent < 1_000_000 && Date.now() < end) {
        await jobs.send('job', { n: sent })
        sent++
        if (sent % 20 === 0) await new Promise((r) => setTimeout(r, 1))
      }
    })()

    const first = new RoleProcess('worker', addr, '1')
    await until(() => got.size >= 200, 15_000, 'the first worker to process 200 jobs')
    first.kill()
    await first.exited
    await until(() => disconnects.length > 0, 5000, 'the push route to see the disconnect')
    const cut = disconnects[0]
    // With no worker connected the producer is held back, not failing: at most the outbox (100) and the batch
    // the writer is trying to send (up to 100) are admitted past the cut.
    await new Promise((r) => setTimeout(r, 200))
    const heldAt = sent
    expect(heldAt - cut).toBeLessThanOrEqual(2 * 100 + 1)

    const connected = connects.length
    const second = new RoleProcess('worker', addr, '2')
    await until(() => connects.length > connected, 15_000, 'the new worker to connect')
    const resumed = connects[connected]
    await until(() => sent >= resumed + 500, 15_000, 'the producer to go on')
    running = false
    await producing
    const total = sent
    // Every job sent after the new worker connected reaches it and comes back; so do the jobs that waited in
    // the producer's queue meanwhile.
    await until(
      () => {
        for (let n = resumed; n < total; n++) if (!got.has(n)) return false
        return true
      },
      15_000,
      'every job sent after the restart',
    )
    await new Promise((r) => setTimeout(r, 100))
    // What is lost: jobs that sat in the killed process (its ZeroMQ queue and its handlers) and, in the
    // instant before libzmq tore the dead connection's pipe down, in that pipe.
    const lost: number[] = []
    for (let n = 0; n < total; n++) if (!got.has(n)) lost.push(n)
    console.log(
      `restart: ${total} jobs sent; disconnect seen after ${cut}, new worker connected after ${resumed}; ` +
        `${lost.length} lost, all before ${lost.length ? lost[lost.length - 1] + 1 : 0}`,
    )
    expect(lost.every((n) => n < resumed)).toBe(true)
    await second.stop()
  }, 60_000)
})
