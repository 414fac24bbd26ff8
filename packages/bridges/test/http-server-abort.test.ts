import { describe, expect, it } from 'vitest'
import { httpServer } from './support/http-server.js'
import { rawClient, readUntil } from './support/raw.js'

const routes = { 'POST /echo': 'echo', 'GET /jobs': 'jobs' }
const head = (length: number, extra = '') =>
  `POST /echo HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${length}\r\n${extra}\r\n`

/** A handler that holds every request until `release()`; `seen` counts the requests it got. */
function gate() {
  let release!: () => void
  const open = new Promise<void>((r) => (release = r))
  const state = { seen: 0, release }
  const handler = async ({ body }: { body: unknown }) => {
    state.seen++
    await open
    return body
  }
  return { state, handler }
}

describe('http-server: clients that go away', () => {
  it('frees the slot of an upload aborted mid-body at once: close() drops nothing', async () => {
    const { api, node, start } = httpServer(routes)
    api.on('echo', ({ body }) => body)
    const { port } = new URL(await start())
    const n = 20
    for (let i = 0; i < n; i++) {
      const c = await rawClient(Number(port))
      // `Expect: 100-continue` makes node:http answer "100 Continue" once the request reached the route.
      c.socket.write(head(1000, 'expect: 100-continue\r\n'))
      await readUntil(c.socket, c.text, '100 Continue')
      c.socket.write('{"partial":')
      if (i % 2 === 0) c.socket.resetAndDestroy()
      else c.socket.destroy()
    }
    await expect.poll(() => api.stats.aborted, { timeout: 10_000 }).toBe(n)
    expect(api.stats.errors).toBe(0)
    let dropped = -1
    node.events.on('node:closed', (e) => (dropped = e.dropped))
    // Before the fix every aborted upload kept its slot and close() ran into its timeout, then destroyed them.
    await node.close({ timeoutMs: 4000 })
    expect(dropped).toBe(0)
  }, 15_000)

  it('counts a burst of clients resetting mid-request in stats.aborted, never in stats.errors', async () => {
    const { api, node, start } = httpServer(routes)
    const { state, handler } = gate()
    api.on('echo', handler)
    const errors: string[] = []
    node.events.on('route:error', ({ error }) => errors.push(`${error.code} ${error.message}`))
    const { port } = new URL(await start())
    const n = 30
    let whole = 0
    const clients = []
    for (let i = 0; i < n; i++) {
      const c = await rawClient(Number(port))
      clients.push(c)
      const kind = i % 3
      if (kind === 0)
        c.socket.write('POST /echo HTTP/1.1\r\nhost: x\r\ncontent-ty') // mid-headers
      else if (kind === 1) {
        c.socket.write(head(100, 'expect: 100-continue\r\n')) // mid-body
        await readUntil(c.socket, c.text, '100 Continue')
        c.socket.write('{"a":')
      } else {
        c.socket.write(`${head(2)}{}`) // whole request, its handler still running
        whole++
      }
    }
    await expect.poll(() => state.seen, { timeout: 10_000 }).toBe(whole)
    // Resets (RST) everywhere; hang-ups (FIN) mid-headers and mid-body too. A FIN after a whole request is a
    // legal half-close, not an abort: those reset.
    for (const [i, c] of clients.entries()) {
      if (i % 3 === 2 || i % 2 === 0) c.socket.resetAndDestroy()
      else c.socket.destroy()
    }
    await expect.poll(() => api.stats.aborted, { timeout: 10_000 }).toBe(n)
    state.release()
    // The replies to the clients that left have nowhere to go; the slots come back and close drops nothing.
    let dropped = -1
    node.events.on('node:closed', (e) => (dropped = e.dropped))
    await node.close({ timeoutMs: 4000 })
    expect(dropped).toBe(0)
    expect(errors).toEqual([])
    expect(api.stats.errors).toBe(0)
    expect(api.stats.aborted).toBe(n)
  }, 15_000)

  it('closes a slowloris upload with 408 at its body deadline and keeps serving', async () => {
    const { api, start } = httpServer(routes, { bodyTimeoutMs: 300 })
    api.on('echo', ({ body }) => body)
    const base = await start()
    const c = await rawClient(Number(new URL(base).port))
    c.socket.write(`${head(100)}{"a":`)
    // The server ends the connection itself: nothing but its deadline can close it.
    expect(await c.closed).toMatch(/^HTTP\/1\.1 408 /)
    expect(api.stats.timeouts).toBe(1)
    expect(api.stats.errors).toBe(0)
    const ok = await fetch(`${base}/echo`, {
      method: 'POST',
      body: '"still here"',
      headers: { 'content-type': 'application/json' },
    })
    expect(await ok.json()).toBe('still here')
  })
})
