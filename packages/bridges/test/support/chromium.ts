import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Browser, chromium } from 'playwright-core'
import { onTestFinished } from 'vitest'

/** Debian's chromium, used when present; the tests never download a browser. */
export const CHROMIUM = '/usr/bin/chromium'

/** Flags for Debian's chromium (headless, no sandbox as root, nothing that phones home). */
const DEBIAN_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
]

/**
 * Which Chromium the browser tests launch: Debian's `/usr/bin/chromium` when present, else the one shipped
 * inside the `@sparticuz/chromium` npm package (a devDependency, so a fresh machine with only Node has it).
 * `DRIPDROP_CHROMIUM=bundled` forces the npm one (to test that path where Debian's is installed),
 * `DRIPDROP_CHROMIUM=system` forces Debian's.
 */
export async function chromiumLaunchOptions(): Promise<{ executablePath: string; args: string[] }> {
  const choice = process.env.DRIPDROP_CHROMIUM ?? 'auto'
  if (choice !== 'auto' && choice !== 'system' && choice !== 'bundled') {
    throw new Error(`DRIPDROP_CHROMIUM must be "system", "bundled" or unset, got "${choice}"`)
  }
  if (choice === 'system' || (choice === 'auto' && existsSync(CHROMIUM))) {
    if (!existsSync(CHROMIUM)) throw new Error(`DRIPDROP_CHROMIUM=system but ${CHROMIUM} is missing`)
    return { executablePath: CHROMIUM, args: DEBIAN_FLAGS }
  }
  const { default: bundled } = await import('@sparticuz/chromium')
  // The package inflates its browser into one path under the temp dir; test files run in parallel, so one
  // inflates while the others wait.
  const executablePath = await withLock(join(tmpdir(), 'dripdrop-chromium.lock'), () =>
    bundled.executablePath(),
  )
  return { executablePath, args: bundled.args }
}

/**
 * Launches real headless Chromium, closed when the test finishes. Fails (never skips) when none can start.
 */
export async function launchChromium(): Promise<Browser> {
  const { executablePath, args } = await chromiumLaunchOptions()
  const browser = await chromium.launch({ executablePath, args })
  onTestFinished(() => browser.close())
  return browser
}

/** Runs `fn` while holding a directory lock (mkdir is atomic); a lock older than 2 minutes is stale. */
async function withLock<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const until = Date.now() + 180_000
  for (;;) {
    try {
      mkdirSync(dir)
      break
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      try {
        if (Date.now() - statSync(dir).mtimeMs > 120_000) rmSync(dir, { recursive: true, force: true })
      } catch {
        // removed by its holder meanwhile
      }
      if (Date.now() > until) throw new Error(`${dir} is held for too long`)
      await new Promise((r) => setTimeout(r, 100))
    }
  }
  try {
    return await fn()
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** A page that loads the dripdrop browser client from `base` as `window.dd`. */
export function clientPage(title = 'dripdrop test'): string {
  return `<!doctype html><title>${title}</title><script type="module">
import * as dd from '/dripdrop-client.js'
window.dd = dd
window.ddReady = true
</script>`
}
