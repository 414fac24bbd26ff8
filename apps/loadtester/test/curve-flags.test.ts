// dripdrop-load over CURVE, the flags themselves (issue 10; the runs with real coordinators and agents are in
// curve-cli.test.ts, the shared helpers in support/curve-cli.ts): local agent threads under CURVE, bad flags, --help.
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { target, start, keys } from './support/curve-cli.js'

describe('dripdrop-load over CURVE: flags', () => {
  it('run --threads with --curve-keys/--curve-allow: the local agent threads get a key of their own and run the test', async () => {
    const { dir } = keys()
    const t = await target()
    const run = start([
      'run',
      '--url',
      t.url,
      '--rate',
      '20',
      '-d',
      '1s',
      '--threads',
      '1',
      '-q',
      '--curve-keys',
      join(dir, 'coord'),
      '--curve-allow',
      join(dir, 'agents'),
    ])
    expect(await run.exit).toBe(0)
    expect(t.count()).toBe(20)
    expect(run.output()).not.toMatch(/refused/)
  })

  it('bad curve flags exit 2 with a clear message; --help lists them', async () => {
    const { dir } = keys()
    // Three processes at once: a shared machine starts node slowly.
    const half = start(['agent', '--connect', 'tcp://127.0.0.1:1', '--curve-keys', join(dir, 'agent')])
    const help = start(['agent', '--help'])
    const runHelp = start(['run', '--help'])
    expect(await half.exit).toBe(2)
    expect(half.output()).toContain('--curve-keys needs --curve-server-key')
    expect(await help.exit).toBe(0)
    expect(help.output()).toContain('--curve-server-key')
    expect(await runHelp.exit).toBe(0)
    expect(runHelp.output()).toContain('--curve-allow')
  })
})
