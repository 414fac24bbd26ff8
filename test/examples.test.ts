import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { runApp } from '../examples/inproc-app.js'
import { runDefer } from '../examples/worker-pool/defer.js'

describe('examples/inproc-app', () => {
  it('runs in-process: every job priced, both workers used, the summary published', async () => {
    const result = await runApp(40)
    expect(result.total).toBe((3 * 40 * 41) / 2)
    expect(result.byWorker.w1 + result.byWorker.w2).toBe(40)
    expect(result.byWorker.w1).toBeGreaterThan(0)
    expect(result.byWorker.w2).toBeGreaterThan(0)
    expect(result.news).toEqual([`40 jobs, total ${(3 * 40 * 41) / 2}`])
  })

  it('runs as a program (pnpm run example:inproc) and exits 0 with its result', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'examples/inproc-app.ts'], {
      encoding: 'utf8',
      timeout: 20_000,
    })
    expect(r.stderr).toBe('')
    expect(r.status).toBe(0)
    expect(JSON.parse(r.stdout)).toEqual({
      total: 630,
      byWorker: { w1: 10, w2: 10 },
      news: ['20 jobs, total 630'],
    })
    // The README shows what `pnpm run example:inproc` prints: the same line.
    const readme = readFileSync(resolve(import.meta.dirname, '../README.md'), 'utf8')
    expect(readme).toContain(`\n${r.stdout.trim()}\n`)
  })
})

describe('examples/worker-pool/defer', () => {
  it('defers CPU work to threads and a remote worker and gets coded errors back', async () => {
    const result = await runDefer()
    expect(result.primes).toEqual([1229, 2262, 3245, 4203, 5133, 6057])
    expect(result.error).toEqual({ code: 'E_REFUSED', message: 'not today' })
  })
})
