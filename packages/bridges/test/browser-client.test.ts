import { readFileSync } from 'node:fs'
import { Node } from '@dripdrop/core'
import { describe, expect, it, onTestFinished } from 'vitest'
import { browserClientPath, browserClientSource, wsConnections, wsTransport } from '../src/index.js'
import { CHROMIUM, chromiumLaunchOptions, clientPage, launchChromium } from './support/chromium.js'

async function server(options: Record<string, unknown> = {}) {
  const node = new Node({ name: 'web', transports: [wsTransport()] })
  onTestFinished(() => {
    node.destroy()
  })
  const route = node.route('browsers', {
    type: 'ws-server',
    bind: 'ws://127.0.0.1:0',
    ...options,
    fallback: (
      _req: unknown,
      res: { setHeader: (k: string, v: string) => void; end: (s: string) => void },
    ) => {
      res.setHeader('content-type', 'text/html')
      res.end(clientPage())
    },
  })
  await node.start()
  const url = route.endpoints[0]
  return { node, route, url, http: url.replace('ws://', 'http://') }
}

describe('browser client in headless Chromium', () => {
  it('is a plain ES module with no imports, found by path and by source', () => {
    const source = browserClientSource()
    expect(readFileSync(browserClientPath(), 'utf8')).toBe(source)
    expect(source).not.toMatch(/^\s*import\s/m)
    expect(source).toContain('export function connect(')
  })

  it('falls back to the Chromium of @sparticuz/chromium (DRIPDROP_CHROMIUM=bundled forces it) and runs the client', async () => {
    const before = process.env.DRIPDROP_CHROMIUM
    process.env.DRIPDROP_CHROMIUM = 'bundled'
    onTestFinished(() => {
      if (before === undefined) delete process.env.DRIPDROP_CHROMIUM
      else process.env.DRIPDROP_CHROMIUM = before
    })
    const { executablePath } = await chromiumLaunchOptions()
    expect(executablePath).not.toBe(CHROMIUM)
    const { route, url, http } = await server()
    route.on('sum', ({ body }) => body.reduce((a: number, b: number) => a + b, 0))
    const browser = await launchChromium()
    const page = await browser.newPage()
    await page.goto(`${http}/`)
    await page.waitForFunction('window.ddReady === true')
    const sum = await page.evaluate(async (wsUrl) => {
      const client = (globalThis as any).dd.connect(wsUrl)
      await client.ready()
      return (await client.request('sum', [2, 3])).body
    }, url)
    expect(sum).toBe(5)
  }, 60_000)

  it('is importable as @dripdrop/bridges/browser', async () => {
    const mod = await import('@dripdrop/bridges/browser')
    expect(typeof mod.connect).toBe('function')
    expect(typeof mod.DripdropClient).toBe('function')
  })

  it('sends, subscribes by name, requests with replies, errors and timeouts', async () => {
    const { route, url, http } = await server()
    const said: unknown[] = []
    route.on('chat.say', ({ body, head }) => {
      said.push({ body, conn: typeof head.$conn })
    })
    route.on('sum', ({ body }) => body.reduce((a: number, b: number) => a + b, 0))
    route.on('fail', () => {
      throw Object.assign(new Error('not allowed'), { code: 'E_FORBIDDEN' })
    })
    route.on('slow', () => new Promise((r) => setTimeout(r, 500)))
    const browser = await launchChromium()
    const page = await browser.newPage()
    await page.goto(`${http}/`)
    await page.waitForFunction('window.ddReady === true')
    const result = await page.evaluate(async (wsUrl) => {
      const w = globalThis as any
      const client = w.dd.connect(wsUrl)
      w.client = client
      await client.ready()
      const news: unknown[] = []
      client.on('news', (body: unknown) => news.push(body))
      w.news = news
      client.send('chat.say', { text: 'hello from chromium' })
      const sum = await client.request('sum', [1, 2, 3])
      const fail = await client.request('fail').catch((e: any) => ({ code: e.code, message: e.message }))
      const slow = await client.request('slow', null, { timeoutMs: 50 }).catch((e: any) => e.code)
      return { id: client.id, sum: sum.body, fail, slow }
    }, url)
    expect(result.sum).toBe(6)
    expect(result.fail).toEqual({ code: 'E_FORBIDDEN', message: 'not allowed' })
    expect(result.slow).toBe('DD_ERR_TIMEOUT')
    expect(wsConnections(route).ids()).toEqual([result.id])
    await expect.poll(() => said).toEqual([{ body: { text: 'hello from chromium' }, conn: 'string' }])
    await route.sendTo(result.id, 'news', { bin: new Uint8Array([7]) })
    await route.send('other', 1)
    await route.send('news', 'second')
    await page.waitForFunction('window.news.length === 2')
    // Bytes travel as { $bin } in JSON frames and come back to life as a Uint8Array in the browser.
    const news = await page.evaluate(() =>
      (globalThis as any).news.map((n: any) => (n.bin instanceof Uint8Array ? { bytes: [...n.bin] } : n)),
    )
    expect(news).toEqual([{ bytes: [7] }, 'second'])
  })

  it('send waits for room when the server stops reading: the queue and bufferedAmount stay within maxQueueBytes', async () => {
    const { route, url, http } = await server({ concurrency: 1, maxMessageBytes: 1024 * 1024 })
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    const got: number[] = []
    route.on('n', async ({ body }) => {
      got.push(body.i)
      await gate // the first message holds the only slot: the server stops reading (TCP pushes back)
    })
    const browser = await launchChromium()
    const page = await browser.newPage()
    await page.goto(`${http}/`)
    await page.waitForFunction('window.ddReady === true')
    const maxQueueBytes = 256 * 1024
    const result = await page.evaluate(
      async ({ wsUrl, maxQueueBytes }) => {
        const w = globalThis as any
        w.client = w.dd.connect(wsUrl, { maxQueueBytes, highWaterMark: 10_000 })
        await w.client.ready()
        const pad = 'x'.repeat(64 * 1024)
        let sent = 0
        let most = 0
        // Bounded: 1,000 frames of 64 KiB (64 MiB) is far past what loopback socket buffers hold.
        while (w.waiting === undefined && sent < 1000) {
          w.waiting = w.client.send('n', { i: sent, pad }) ?? undefined
          sent++
          most = Math.max(most, w.client.bufferedBytes)
          // Let the browser's network thread drain what it can, as an application would between sends.
          if (sent % 16 === 0) await new Promise((r) => setTimeout(r, 0))
        }
        return { sent, most, waiting: w.waiting instanceof Promise }
      },
      { wsUrl: url, maxQueueBytes },
    )
    expect(result.waiting).toBe(true)
    // The bound, never two of it (one 64 KiB frame may overshoot an almost full socket by its own size).
    expect(result.most).toBeLessThanOrEqual(maxQueueBytes + 70 * 1024)
    release()
    await page.evaluate(() => (globalThis as any).waiting)
    await expect.poll(() => got.length, { timeout: 15_000 }).toBe(result.sent)
    expect(got).toEqual([...Array(result.sent).keys()])
  }, 40_000)

  it('reconnects after the connection drops and sends queued messages once', async () => {
    const { route, url, http } = await server()
    const got: unknown[] = []
    route.on('n', ({ body }) => {
      got.push(body)
    })
    const browser = await launchChromium()
    const page = await browser.newPage()
    await page.goto(`${http}/`)
    await page.waitForFunction('window.ddReady === true')
    const firstId = await page.evaluate(async (wsUrl) => {
      const w = globalThis as any
      w.client = w.dd.connect(wsUrl, { reconnectMinMs: 20 })
      await w.client.ready()
      w.client.send('n', 1)
      return w.client.id
    }, url)
    await expect.poll(() => got).toEqual([1])
    wsConnections(route).disconnect(firstId)
    await page.waitForFunction('window.client.state !== "open"')
    await page.evaluate(() => {
      const w = globalThis as any
      w.client.send('n', 2)
      w.client.send('n', 3)
    })
    const again = await page.evaluate(async () => {
      const w = globalThis as any
      await w.client.ready()
      return { id: w.client.id, reconnects: w.client.reconnects }
    })
    expect(again.id).not.toBe(firstId)
    expect(again.reconnects).toBe(1)
    await expect.poll(() => got).toEqual([1, 2, 3])
  })

  it('reports a refused token as DD_ERR_WS_UNAUTHORIZED (ready, request) and stops; on() and request() hand over the envelope', async () => {
    const { route, url, http } = await server({
      authorize: ({ token }: { token: string }) => (token === 'good' ? { user: 'ann' } : false),
    })
    route.on('whoami', ({ head }) => head.$auth)
    route.on('poke', async ({ head }) => {
      await route.sendTo(head.$conn as string, 'news', 'hi')
    })
    const browser = await launchChromium()
    const page = await browser.newPage()
    await page.goto(`${http}/`)
    await page.waitForFunction('window.ddReady === true')
    const result = await page.evaluate(async (wsUrl) => {
      const dd = (globalThis as any).dd
      const bad = dd.connect(wsUrl, { token: 'bad', reconnectMinMs: 10 })
      // A timeout far past the test's: only the refusal can settle these in time.
      const pending = bad.request('whoami', null, { timeoutMs: 60_000 }).catch((e: any) => [e.code, e.data])
      const ready = await bad.ready().catch((e: any) => [e.code, e.data])
      const after = await pending
      const good = dd.connect(wsUrl, { token: 'good' })
      await good.ready()
      const seen: unknown[] = []
      good.on('news', (body: unknown, msg: unknown) => seen.push({ body, msg }))
      const reply = await good.request('whoami')
      await new Promise<void>((r) => {
        const off = good.on('news', () => {
          off()
          r()
        })
        good.send('poke')
      })
      return { ready, after, state: bad.state, reconnects: bad.reconnects, reply, seen }
    }, url)
    expect(result.ready).toEqual(['DD_ERR_WS_UNAUTHORIZED', { status: 401 }])
    expect(result.after).toEqual(['DD_ERR_WS_UNAUTHORIZED', { status: 401 }])
    expect(result.state).toBe('closed')
    expect(result.reconnects).toBe(0)
    expect(result.reply).toMatchObject({
      name: 'whoami',
      head: { $re: expect.any(Number) },
      body: { user: 'ann' },
    })
    expect(result.seen).toEqual([{ body: 'hi', msg: { name: 'news', head: expect.any(Object), body: 'hi' } }])
  })
})
