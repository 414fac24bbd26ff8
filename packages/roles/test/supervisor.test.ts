// The Supervisor with real child processes: spawn with the role's env, restart with back-off, the intensity
// limit, graceful stop (SIGTERM then SIGKILL), TS entries through tsx, and listeners that throw.
import { describe, expect, it, onTestFinished } from 'vitest'
import {
  RESTART_DEFAULTS,
  type RoleSpec,
  Supervisor,
  type SupervisorOptions,
  type Topology,
} from '../src/index.js'
import { FIXTURES, nextEvent, record, tempDir } from './helpers.js'

function topology(roles: Record<string, RoleSpec>): Topology {
  return { name: 'test', roles, baseDir: FIXTURES }
}

function supervise(roles: Record<string, RoleSpec>, options: Partial<SupervisorOptions> = {}): Supervisor {
  const s = new Supervisor({ topology: topology(roles), logDir: tempDir(), ...options })
  onTestFinished(() => {
    s.destroy()
  })
  return s
}

/** The first line an instance printed (its `ready …` line). */
async function ready(s: Supervisor, instance: string, after = 0): Promise<string[]> {
  const line = await nextEvent(
    s,
    'instance:log',
    (l) => l.instance === instance && l.stream === 'out' && l.line.startsWith('ready') && l.time >= after,
  )
  return line.line.split(' ')
}

describe('Supervisor', () => {
  it('starts each instance with its role env and args, reports up/down, stops them gracefully on close()', async () => {
    const s = supervise({
      svc: { entry: './service.mjs', instances: 2, args: ['--a', 'b'], env: { LOG_LEVEL: 'debug' } },
    })
    const events = record(s)
    const line1 = ready(s, 'svc-1')
    const line2 = ready(s, 'svc-2')
    await s.start()
    expect(s.state).toBe('open')
    const [r1, r2] = await Promise.all([line1, line2])
    expect(r1.slice(0, 2)).toEqual(['ready', 'svc-1'])
    expect(r1.slice(3)).toEqual(['--a,b', 'debug'])
    expect(r2[1]).toBe('svc-2')
    const status = s.status()
    expect(status.map((i) => [i.instance, i.state, i.pid])).toEqual([
      ['svc-1', 'running', Number(r1[2])],
      ['svc-2', 'running', Number(r2[2])],
    ])
    await s.close()
    expect(s.state).toBe('closed')
    expect(events.sort()).toEqual(['down svc-1 0 expected', 'down svc-2 0 expected', 'up svc-1', 'up svc-2'])
    expect(s.status().map((i) => i.state)).toEqual(['stopped', 'stopped'])
    expect(s.close()).toBe(s.close())
  })

  it('runs a .ts entry through tsx', async () => {
    const s = supervise({ ts: { entry: './service.ts' } })
    const line = ready(s, 'ts-1')
    await s.start()
    expect((await line).slice(0, 2)).toEqual(['ready', 'ts-1'])
    await s.close()
  })

  it('a SIGKILLed child is reported down at once and restarted after minDelayMs', async () => {
    const s = supervise({ svc: { entry: './service.mjs', restart: { minDelayMs: 50 } } })
    await s.start()
    const pid = s.status()[0].pid as number
    const down = nextEvent(s, 'instance:down')
    const restart = nextEvent(s, 'instance:restart')
    const up = nextEvent(s, 'instance:up')
    process.kill(pid, 'SIGKILL')
    expect(await down).toMatchObject({
      instance: 'svc-1',
      role: 'svc',
      pid,
      signal: 'SIGKILL',
      expected: false,
    })
    expect(await restart).toMatchObject({ instance: 'svc-1', delayMs: 50, attempt: 1 })
    const again = await up
    expect(again.pid).not.toBe(pid)
    expect(again.restarts).toBe(1)
    expect(s.status()[0]).toMatchObject({
      state: 'running',
      pid: again.pid,
      restarts: 1,
      lastExit: { signal: 'SIGKILL' },
    })
  })

  it('backs off exponentially up to maxDelayMs, then FAILS past the intensity limit; a manual start revives it', async () => {
    const s = supervise({
      crash: {
        entry: './service.mjs',
        env: { EXIT_CODE: 3 },
        restart: { minDelayMs: 20, factor: 3, maxDelayMs: 100, maxRestarts: 4, withinMs: 60_000 },
      },
    })
    const events = record(s)
    const failed = nextEvent(s, 'instance:failed')
    await s.start()
    expect(await failed).toMatchObject({
      instance: 'crash-1',
      restarts: 4,
      withinMs: 60_000,
      lastExit: { code: 3 },
    })
    expect(events).toEqual([
      'up crash-1',
      'down crash-1 3',
      'restart crash-1 20',
      'up crash-1',
      'down crash-1 3',
      'restart crash-1 60',
      'up crash-1',
      'down crash-1 3',
      'restart crash-1 100',
      'up crash-1',
      'down crash-1 3',
      'restart crash-1 100',
      'up crash-1',
      'down crash-1 3',
      'failed crash-1 4',
    ])
    expect(s.status()[0]).toMatchObject({ state: 'failed', pid: undefined, restarts: 4 })
    const up = nextEvent(s, 'instance:up')
    await s.startInstance('crash-1')
    expect((await up).instance).toBe('crash-1')
  })

  it('on-failure restarts only a failure; never restarts nothing; a clean exit leaves the instance stopped', async () => {
    const s = supervise({
      clean: {
        entry: './service.mjs',
        env: { EXIT_CODE: 0 },
        restart: { policy: 'on-failure', minDelayMs: 10 },
      },
      dirty: {
        entry: './service.mjs',
        env: { EXIT_CODE: 1, EXIT_AFTER_MS: 50 },
        restart: { policy: 'on-failure', minDelayMs: 10, maxRestarts: 1 },
      },
      once: { entry: './service.mjs', env: { EXIT_CODE: 1 }, restart: { policy: 'never' } },
    })
    const events = record(s)
    const failed = nextEvent(s, 'instance:failed')
    await s.start()
    await failed
    expect(events.filter((e) => e.includes('clean'))).toEqual(['up clean-1', 'down clean-1 0'])
    expect(events.filter((e) => e.includes('once'))).toEqual(['up once-1', 'down once-1 1'])
    expect(events.filter((e) => e.includes('dirty'))).toEqual([
      'up dirty-1',
      'down dirty-1 1',
      'restart dirty-1 10',
      'up dirty-1',
      'down dirty-1 1',
      'failed dirty-1 1',
    ])
    expect(s.status().map((i) => i.state)).toEqual(['stopped', 'failed', 'stopped'])
  })

  it('a child that ignores SIGTERM is SIGKILLed after stopTimeoutMs; stop/start/restart by instance and role', async () => {
    const s = supervise({
      stubborn: { entry: './service.mjs', env: { IGNORE_TERM: 1 }, restart: { stopTimeoutMs: 300 } },
      svc: { entry: './service.mjs', instances: 2 },
    })
    const stubbornReady = ready(s, 'stubborn-1')
    await s.start()
    await stubbornReady // its SIGTERM handler is installed
    const down = nextEvent(s, 'instance:down', (e) => e.instance === 'stubborn-1')
    await s.stopInstance('stubborn-1')
    expect(await down).toMatchObject({ signal: 'SIGKILL', expected: true })
    expect(s.status()[0].state).toBe('stopped')

    const before = s.status().map((i) => i.pid)
    await s.restartRole('svc')
    const after = s.status().map((i) => i.pid)
    expect(after[1]).not.toBe(before[1])
    expect(after[2]).not.toBe(before[2])
    expect(s.status()[1].restarts).toBe(0) // a manual restart is not the policy's
    await s.stopRole('svc')
    expect(s.status().map((i) => i.state)).toEqual(['stopped', 'stopped', 'stopped'])
    await s.startRole('svc')
    expect(s.status().map((i) => i.state)).toEqual(['stopped', 'running', 'running'])
    expect(() => s.stopInstance('nope-1')).toThrow(
      /unknown instance "nope-1" \(instances: stubborn-1, svc-1, svc-2\)/,
    )
    await expect(s.startInstance('nope-1')).rejects.toMatchObject({ code: 'DD_ERR_SUPERVISOR' })
  })

  it('a listener that throws does not stop the supervisor from restarting', async () => {
    const s = supervise({ svc: { entry: './service.mjs', restart: { minDelayMs: 10 } } })
    s.on('instance:down', () => {
      throw new Error('listener bug')
    })
    s.on('instance:up', () => {
      throw new Error('listener bug')
    })
    await s.start()
    const up = nextEvent(s, 'instance:up')
    process.kill(s.status()[0].pid as number, 'SIGKILL')
    expect((await up).restarts).toBe(1)
  })

  it('destroy() SIGKILLs every child at once and returns how many', async () => {
    const s = supervise({ svc: { entry: './service.mjs', instances: 3, env: { IGNORE_TERM: 1 } } })
    await s.start()
    const downs = Promise.all(
      ['svc-1', 'svc-2', 'svc-3'].map((i) => nextEvent(s, 'instance:down', (e) => e.instance === i)),
    )
    expect(s.destroy()).toBe(3)
    expect((await downs).map((d) => d.signal)).toEqual(['SIGKILL', 'SIGKILL', 'SIGKILL'])
    expect(s.status().every((i) => i.state === 'stopped')).toBe(true)
    expect(RESTART_DEFAULTS.minDelayMs).toBe(100)
  })
})
