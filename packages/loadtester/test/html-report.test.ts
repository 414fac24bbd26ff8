import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { chromium } from 'playwright-core'
import { describe, expect, it, onTestFinished } from 'vitest'
import { htmlReport, LoadEngine, reportOf } from '../src/index.js'
import { startTarget } from './target.js'

const CHROMIUM = '/usr/bin/chromium'

describe('HTML report', () => {
  it('opens offline in Chromium with its four charts drawn and no page error', async () => {
    let n = 0
    const target = await startTarget((_i, _req, res) => {
      res.statusCode = ++n % 10 === 0 ? 503 : 200
      res.end('x')
    })
    const engine = new LoadEngine({
      target: target.url,
      scenario: { kind: 'requests', requests: [{ url: '/' }] },
      rate: 100,
      durationMs: 1500,
      intervalMs: 250,
    })
    onTestFinished(() => {
      engine.destroy()
    })
    const report = reportOf(await engine.run(), { model: 'open', target: target.url })
    expect(report.series.length).toBeGreaterThanOrEqual(6)
    const dir = mkdtempSync(join(tmpdir(), 'dd-report-'))
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }))
    const file = join(dir, 'report.html')
    writeFileSync(file, htmlReport(report, { title: 'test </script> run' }))

    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`)
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu'],
    })
    onTestFinished(() => browser.close())
    const page = await browser.newPage()
    const errors: string[] = []
    const requests: string[] = []
    page.on('pageerror', (e) => errors.push(e.message))
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text())
    })
    page.on('request', (r) => requests.push(r.url()))
    await page.goto(pathToFileURL(file).href)
    await page.waitForFunction(() => (globalThis as { reportRendered?: boolean }).reportRendered === true)
    expect(errors).toEqual([])
    // Self-contained: the page loads nothing but itself.
    expect(requests).toEqual([pathToFileURL(file).href])
    for (const id of ['chart-latency', 'chart-throughput', 'chart-errors', 'chart-statuses']) {
      const size = await page.$eval(`#${id} canvas`, (c) => ({
        w: (c as unknown as { width: number; height: number }).width,
        h: (c as unknown as { width: number; height: number }).height,
      }))
      expect(size.w).toBeGreaterThan(100)
      expect(size.h).toBeGreaterThan(100)
    }
    // The status chart has a series for each status seen.
    const legend = await page.$$eval('#chart-statuses .u-legend .u-label', (els) =>
      els.map((e) => e.textContent),
    )
    expect(legend).toEqual(expect.arrayContaining(['200', '503']))
    expect(await page.title()).toBe('test </script> run')
  })
})
