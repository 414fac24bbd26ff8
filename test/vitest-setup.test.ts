// What the root vitest.config.ts promises about every run: skip reasons in the summary, a build first.
import { spawnSync } from 'node:child_process'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import rootConfig from '../vitest.config.js'
import { turbo } from './global-setup.js'

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

  it('tests run against the current source: every package build is up to date with its src/', () => {
    // What the global setup does (a cached build), then a dry run: turbo must find nothing left to build (a
    // MISS is a package whose src/ changed since its dist/ was built). The build is repeated here because
    // other test files run in parallel processes, and a build they trigger (pnpm pack's prepack) can leave a
    // package's cache entry momentarily behind; what matters is that the setup's build leaves nothing stale.
    expect(turbo(['run', 'build', '--output-logs=errors-only']).status).toBe(0)
    const r = turbo(['run', 'build', '--dry=json'])
    expect(r.status, r.stderr).toBe(0)
    const tasks = (JSON.parse(r.stdout) as { tasks: { taskId: string; cache: { status: string } }[] }).tasks
    expect(tasks.map((t) => t.taskId)).toContain('@dripdrop/core#build')
    expect(tasks.filter((t) => t.cache.status !== 'HIT').map((t) => t.taskId)).toEqual([])
    // Every project gets the setup (extends: true, an absolute path: not resolved from each project's root).
    expect(rootConfig.test?.globalSetup).toEqual([resolve(root, 'test/global-setup.ts')])
    for (const project of rootConfig.test?.projects ?? []) expect(project).toMatchObject({ extends: true })
  })
})
