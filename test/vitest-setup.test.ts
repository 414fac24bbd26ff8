// What the root vitest.config.ts promises about every run: skip reasons in the summary, a build first.
import { spawnSync } from 'node:child_process'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import rootConfig from '../vitest.config.js'

const root = resolve(import.meta.dirname, '..')
const vitest = resolve(root, 'node_modules/vitest/vitest.mjs')

describe('vitest setup of the repo', () => {
  it('the summary lists each test skipped with its reason, not only a count', () => {
    const r = spawnSync(
      process.execPath,
      [vitest, 'run', '--config', 'test/fixtures/skip-reasons/vitest.config.ts', '--no-color'],
      { cwd: root, encoding: 'utf8', timeout: 60_000, env: { ...process.env, CI: '1', NO_COLOR: '1' } },
    )
    expect(r.status, r.stderr).toBe(0)
    const summary = r.stdout.slice(r.stdout.indexOf('Test Files'))
    expect(summary).toContain('1 skipped')
    expect(summary).toMatch(/skipped\.fixture\.ts > cannot run here: ip netns add is not permitted here/)
  }, 70_000)

  it('every project builds the packages first (global setup), so no test sees a stale dist/', () => {
    const setup = resolve(root, 'test/global-setup.ts')
    expect(rootConfig.test?.globalSetup).toEqual([setup])
    // Projects inherit it (extends: true) instead of resolving a relative path from their own root.
    for (const project of rootConfig.test?.projects ?? []) expect(project).toMatchObject({ extends: true })
  })
})
