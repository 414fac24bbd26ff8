import { once } from 'node:events'
import { resolve } from 'node:path'
import { expect, it, onTestFinished } from 'vitest'
import { startApp } from '../../../examples/control-app/app.js'
import { launchChromium } from './support/chromium.js'
import { auth, startServer, TOKEN } from './support/server.js'
import { simulate } from './support/simulate.js'

const SCREENSHOT = resolve(import.meta.dirname, '../docs/dashboard.png')
const RATE = 20 // orders per second the test sends
const SECONDS = 6

it('shows a real 4-process app, its rates, and a SIGKILLed worker as down with an alert', async () => {
  const server = await startServer({ pushIntervalMs: 500 })
  const base = server.urls.dashboard.replace(/\/$/, '')
  const parts = await startApp(server.urls.collector, 2)
  for (const p of parts) {
    onTestFinished(async () => {
      if (p.child.exitCode === null && p.child.signalCode === null) {
        const exited = once(p.child, 'exit')
        p.child.kill('SIGKILL')
        await exited
      }
    })
  }
  const gateway = parts.find((p) => p.role === 'gateway')!.info.http
  const aggregator = parts.find((p) => p.role === 'aggregator')!.info.instance

  const browser = await launchChromium()
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } })
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(String(e)))
  await page.goto(`${base}/?token=${TOKEN}`)
  // Every process of the app appears, each in its role's column.
  for (const name of [aggregator, 'worker-1', 'worker-2', parts[1].info.instance]) {
    await page.waitForSelector(`#topology .node.up[data-instance="${name}"]`)
  }

  // A known load: RATE orders per second for SECONDS seconds (bounded in count and time).
  let sent = 0
  for (let s = 0; s < SECONDS; s++) {
    const tick = Date.now()
    await Promise.all(
      Array.from({ length: RATE }, () =>
        fetch(`${gateway}/orders`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{"qty":2}',
        }).then((r) => {
          expect(r.status).toBe(200)
          sent++
        }),
      ),
    )
    await new Promise((r) => setTimeout(r, Math.max(0, 1000 - (Date.now() - tick))))
    if (s === SECONDS - 2) {
      // While the load runs, the aggregator's row shows about RATE messages in per second.
      await page.fill('#search', aggregator)
      await page.waitForFunction(
        ([rate]) => {
          const cell = document.querySelector('#instances tbody tr .msg-in')
          const v = Number(cell?.textContent)
          return v >= rate * 0.75 && v <= rate * 1.25
        },
        [RATE],
      )
      await page.fill('#search', '')
    }
  }
  expect(sent).toBe(RATE * SECONDS)
  // Exactly what was sent reached the aggregator, as the server counted it per second.
  await expect
    .poll(
      async () => {
        const series: any = await (
          await fetch(
            `${base}/api/series?instance=${aggregator}&route=aggregator/priced&metric=messagesIn&windowSeconds=120`,
            { headers: auth },
          )
        ).json()
        return series.values.reduce((a: number, b: number) => a + b, 0)
      },
      { timeout: 20_000 },
    )
    .toBe(sent)

  // A light background load (bounded: it stops with the test) so the screenshot shows live rates.
  let trickles = 0
  const trickle = setInterval(() => {
    if (++trickles > 120) return clearInterval(trickle)
    fetch(`${gateway}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    }).catch(() => {})
  }, 100)
  onTestFinished(() => clearInterval(trickle))
  // SIGKILL one worker: the page marks it down and raises the alert (waited for, no fixed bound).
  const worker = parts.find((p) => p.info.instance === 'worker-1')!
  worker.child.kill('SIGKILL')
  await page.waitForSelector('#topology .node.down[data-instance="worker-1"]', { timeout: 20_000 })
  await page.waitForSelector('#alert:not([hidden])')
  expect(await page.textContent('#alert')).toContain('worker-1')
  expect(await page.textContent('#events')).toContain('instance:down  worker-1')
  // The other worker is still up.
  expect(await page.getAttribute('#topology .node[data-instance="worker-2"]', 'data-status')).toBe('up')
  await page.screenshot({ path: SCREENSHOT, fullPage: true })
  expect(errors).toEqual([])
}, 90_000)

it('stays usable with 1,000 instances: searching and paging', async () => {
  const server = await startServer({ pushIntervalMs: 500 })
  const base = server.urls.dashboard.replace(/\/$/, '')
  const sim = await simulate(server.urls.collector, 1000, 5)
  onTestFinished(() => sim.close())
  await expect
    .poll(
      async () =>
        ((await (await fetch(`${base}/api/instances?pageSize=1`, { headers: auth })).json()) as any).total,
      {
        timeout: 20_000,
      },
    )
    .toBe(1000)
  const browser = await launchChromium()
  const page = await browser.newPage()
  await page.goto(`${base}/?token=${TOKEN}`)
  await page.waitForFunction(() => document.querySelector('#page')?.textContent?.endsWith('(1000)'))
  expect(await page.locator('#instances tbody tr').count()).toBe(50)
  await page.fill('#search', 'sim-0999')
  await page.waitForFunction(() => document.querySelectorAll('#instances tbody tr').length === 1)
  expect(await page.textContent('#instances tbody')).toContain('sim-0999')
  await page.fill('#search', '')
  await page.click('#next')
  await page.waitForFunction(() => document.querySelector('#page')?.textContent?.startsWith('2 / 20'))
})
