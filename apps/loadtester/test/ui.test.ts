import { spawn } from 'node:child_process'
import { existsSync, mkdirSync } from 'node:fs'
import http from 'node:http'
import net, { type AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'
import { describe, expect, it, onTestFinished } from 'vitest'

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url))
const SHOT = fileURLToPath(new URL('../docs/ui.png', import.meta.url))
const CHROMIUM = '/usr/bin/chromium'

describe('dripdrop-load ui', () => {
  it('starts a test from the page, draws live charts and lists the agents, in Chromium', async () => {
    let served = 0
    const server = http.createServer((_req, res) => {
      served++
      // A little latency so the chart has a shape.
      setTimeout(() => res.end('ok'), 1 + (served % 7))
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    onTestFinished(
      () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections()
          server.close(() => resolve())
        }),
    )
    const targetUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`

    const ui = spawn(process.execPath, [CLI, 'ui', '--port', '0', '--ws-port', '0', '--threads', '2'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    onTestFinished(() => {
      ui.kill('SIGKILL')
    })
    const pageUrl = await new Promise<string>((resolve, reject) => {
      let out = ''
      ui.stdout.on('data', (d) => {
        out += d
        const m = /ui on (http:\/\/\S+)/.exec(out)
        if (m) resolve(m[1] as string)
      })
      ui.once('exit', (code) => reject(new Error(`ui exited with ${code}: ${out}`)))
    })

    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing (apt-get install -y chromium)`)
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--no-first-run',
        '--disable-background-networking',
      ],
    })
    onTestFinished(() => browser.close())
    const page = await browser.newPage({ viewport: { width: 1200, height: 820 } })
    const pageErrors: string[] = []
    page.on('pageerror', (e) => pageErrors.push(e.message))
    await page.goto(pageUrl)
    await page.waitForFunction('window.uiReady === true')
    await page.waitForFunction("document.querySelectorAll('#agents tr').length === 2")
    await page.fill('#url', targetUrl)
    await page.fill('#rate', '100')
    await page.fill('#duration', '3')
    await page.click('#start')
    await page.waitForFunction('Number(document.body.dataset.points ?? 0) >= 2', null, {
      timeout: 20_000,
    })
    expect(await page.textContent('#status')).toBe('running')
    // Both charts drew their series (uPlot paints into canvases).
    expect(await page.locator('#chart-rate canvas').count()).toBe(1)
    expect(await page.locator('#chart-latency canvas').count()).toBe(1)
    await page.waitForFunction("document.body.dataset.ended === '1'", null, { timeout: 20_000 })
    mkdirSync(fileURLToPath(new URL('../docs/', import.meta.url)), { recursive: true })
    await page.screenshot({ path: SHOT, fullPage: true })
    expect(await page.textContent('#message')).toMatch(/^done: 300 responses/)
    expect(await page.textContent('#s-total')).toBe('300')
    expect(served).toBe(300)
    const rows = await page.locator('#agents tr').allTextContents()
    expect(rows).toHaveLength(2)
    for (const r of rows) expect(r).toMatch(/thread/)
    expect(await page.textContent('#status')).toBe('idle')
    expect(pageErrors).toEqual([])
    // The JSON API over the http-server route says the same.
    const state = (await (await fetch(new URL('/api/state', pageUrl))).json()) as {
      running: boolean
      last: { responses: number }
    }
    expect(state).toMatchObject({ running: false, last: { responses: 300 } })
    ui.kill('SIGINT')
    expect(await new Promise((resolve) => ui.once('exit', resolve))).toBe(0)
  }, 60_000)

  it('shows an agent lost mid-run, and where its share went', async () => {
    const server = http.createServer((_req, res) => res.end('ok'))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    onTestFinished(
      () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections()
          server.close(() => resolve())
        }),
    )
    const targetUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
    const probe = net.createServer()
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
    const endpoint = `tcp://127.0.0.1:${(probe.address() as AddressInfo).port}`
    await new Promise((resolve) => probe.close(resolve))
    const spawnCli = (args: string[]) => {
      const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'inherit'] })
      onTestFinished(() => {
        child.kill('SIGKILL')
      })
      let out = ''
      const seen = (re: RegExp) =>
        new Promise<RegExpExecArray>((resolve, reject) => {
          const check = () => {
            const m = re.exec(out)
            if (m) resolve(m)
          }
          child.stdout.on('data', (d) => {
            out += d
            check()
          })
          child.once('exit', (code) => reject(new Error(`exited with ${code}: ${out}`)))
          check()
        })
      return { child, seen }
    }
    const ui = spawnCli(['ui', '--port', '0', '--ws-port', '0', '--threads', '1', '--listen', endpoint])
    const pageUrl = (await ui.seen(/ui on (http:\/\/\S+)/))[1] as string
    const remote = spawnCli(['agent', '--connect', endpoint])
    const agentId = (await remote.seen(/agent (\w+): joined/))[1] as string

    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--no-first-run',
        '--disable-background-networking',
      ],
    })
    onTestFinished(() => browser.close())
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } })
    const pageErrors: string[] = []
    page.on('pageerror', (e) => pageErrors.push(e.message))
    await page.goto(pageUrl)
    await page.waitForFunction('window.uiReady === true')
    await page.waitForFunction("document.querySelectorAll('#agents tr').length === 2")
    await page.fill('#url', targetUrl)
    await page.fill('#rate', '100')
    await page.fill('#duration', '8')
    await page.click('#start')
    await page.waitForFunction('Number(document.body.dataset.points ?? 0) >= 1', null, { timeout: 20_000 })
    remote.child.kill('SIGKILL')
    // Found lost after the coordinator's heartbeat timeout (3 s), its share moved to the local thread.
    await page.waitForFunction("document.body.dataset.losses === '1'", null, { timeout: 20_000 })
    const text = (await page.textContent('#losses')) ?? ''
    expect(text).toContain(`agent ${agentId}`)
    expect(text).toMatch(/its share \(50\.0 req\/s\) redistributed to \w+ at \+\d+\.0 s/)
    expect(text).toMatch(/\d+ scheduled requests unaccounted for in the gap/)
    expect(await page.locator('#agents tr.lost').count()).toBe(1)
    expect(await page.textContent('#agents tr.lost')).toContain('LOST')
    await page.waitForFunction("document.body.dataset.ended === '1'", null, { timeout: 20_000 })
    expect(await page.textContent('#message')).toMatch(/shares of lost agents redistributed/)
    await page.screenshot({
      path: fileURLToPath(new URL('../docs/ui-lost-agent.png', import.meta.url)),
      fullPage: true,
    })
    expect(pageErrors).toEqual([])
    const state = (await (await fetch(new URL('/api/state', pageUrl))).json()) as {
      losses: { agentId: string; redistributed: boolean }[]
    }
    expect(state.losses).toMatchObject([{ agentId, redistributed: true }])
  }, 60_000)
})
