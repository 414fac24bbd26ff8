import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { launchChromium } from './support/chromium.js'
import { ROOT, startExample } from './support/process.js'

describe('examples/bridges/jobs', () => {
  it('POST /jobs goes to ZeroMQ workers; the result reaches the browser over WebSocket and GET /jobs/:id', async () => {
    const api = await startExample('examples/bridges/jobs/jobs-api.ts')
    const { http, work, done } = api.info
    const workers = await Promise.all(
      [1, 2].map(() => startExample('examples/bridges/jobs/jobs-worker.ts', [work, done])),
    )
    expect(new Set(workers.map((w) => w.info.worker)).size).toBe(2)
    const browser = await launchChromium()
    const page = await browser.newPage()
    await page.goto(http)
    await page.waitForSelector('body[data-ready]')
    await page.fill('#text', 'make me loud')
    await page.click('#submit')
    const li = page.locator('#jobs li[data-status="done"]')
    await li.waitFor()
    expect(await li.textContent()).toBe('MAKE ME LOUD')
    const id = await li.getAttribute('id')
    const res = await fetch(`${http}/jobs/${id}`)
    expect(res.status).toBe(200)
    const job = (await res.json()) as any
    expect(job).toMatchObject({
      id,
      status: 'done',
      input: { text: 'make me loud' },
      result: { upper: 'MAKE ME LOUD' },
    })
    expect(workers.map((w) => w.info.worker)).toContain(job.result.worker)
    const missing = await fetch(`${http}/jobs/nope`)
    expect(missing.status).toBe(404)
    expect(((await missing.json()) as any).error.code).toBe('DD_ERR_HTTP_NOT_FOUND')
  })
})

describe('example wiring', () => {
  it('stays within 20 lines in each stitching example', () => {
    for (const file of ['examples/bridges/chat/chat-server.ts', 'examples/bridges/jobs/jobs-api.ts']) {
      const source = readFileSync(join(ROOT, file), 'utf8')
      const wiring = source.split('// --- wiring ---')[1].split('// --- end of wiring ---')[0]
      const lines = wiring.split('\n').filter((l) => l.trim() !== '')
      expect(lines.length, file).toBeLessThanOrEqual(20)
    }
  })
})
