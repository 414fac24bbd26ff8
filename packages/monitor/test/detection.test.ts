import { type ChildProcess, fork } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it, onTestFinished } from 'vitest'
import type { Collector } from '../src/index.js'
import { startCollector, until } from './helpers.js'

const here = dirname(fileURLToPath(import.meta.url))
const APP = join(here, 'fixtures/app.ts')
const AUTO = join(here, '../src/auto.ts')

async function spawnApp(
  mode: 'explicit' | 'auto',
  collector: Collector,
  instance: string,
): Promise<ChildProcess> {
  const env =
    mode === 'explicit'
      ? { ...process.env, COLLECTOR: collector.endpoint, INSTANCE: instance }
      : {
          ...process.env,
          DRIPDROP_COLLECTOR: collector.endpoint,
          DRIPDROP_ROLE: 'auto',
          DRIPDROP_INSTANCE: instance,
        }
  const execArgv = mode === 'explicit' ? ['--import', 'tsx'] : ['--import', 'tsx', '--import', AUTO]
  const child = fork(APP, [mode], { execArgv, env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  onTestFinished(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve())
    child.once('exit', (code) => reject(new Error(`${instance} exited with ${code}`)))
  })
  return child
}

function transitions(collector: Collector): Map<string, string[]> {
  const seen = new Map<string, string[]>()
  for (const e of [
    'instance:up',
    'instance:suspect',
    'instance:down',
    'instance:left',
    'instance:restarted',
  ] as const) {
    collector.events.on(e, ({ instance }) => {
      const list = seen.get(instance) ?? []
      list.push(e.slice(9))
      seen.set(instance, list)
    })
  }
  return seen
}

describe('failure detection with real processes', () => {
  it('a SIGKILLed reporter goes up → suspect → down; the others stay up', async () => {
    const collector = await startCollector()
    const seen = transitions(collector)
    const [victim] = await Promise.all([
      spawnApp('explicit', collector, 'victim'),
      spawnApp('explicit', collector, 'survivor'),
    ])
    await until(
      () => collector.instance('victim')?.report && collector.instance('survivor')?.report,
      'both reporting',
    )
    const exited = new Promise((r) => victim.once('exit', r))
    victim.kill('SIGKILL')
    await exited
    await until(() => collector.instance('victim')?.status === 'down', 'victim down')
    expect(seen.get('victim')).toEqual(['up', 'suspect', 'down'])
    expect(collector.instance('survivor')?.status).toBe('up')
    expect(seen.get('survivor')).toEqual(['up'])
    // The victim's routes and topology are gone from the live views.
    expect(collector.routeRates().some((r) => r.instance === 'victim')).toBe(false)
  })

  it('a clean exit says goodbye: left at once, never suspect or down', async () => {
    const collector = await startCollector()
    const seen = transitions(collector)
    const child = await spawnApp('explicit', collector, 'polite')
    await until(() => collector.instance('polite')?.report, 'reporting')
    const exited = new Promise<number | null>((r) => child.once('exit', r))
    child.send('close')
    expect(await exited).toBe(0)
    await until(() => collector.instance('polite')?.status === 'left', 'left')
    expect(seen.get('polite')).toEqual(['up', 'left'])
  })

  it('@dripdrop/monitor/auto reports a process with no monitoring code and says goodbye on SIGTERM', async () => {
    const collector = await startCollector()
    const seen = transitions(collector)
    const child = await spawnApp('auto', collector, 'auto-1')
    const info = await until(() => {
      const i = collector.instance('auto-1')
      return i?.report?.routes.some((r) => r.node === 'child' && r.route === 'in') && i
    }, "the auto-reported node's route")
    expect(info.role).toBe('auto')
    const exited = new Promise((r) => child.once('exit', (_code, signal) => r(signal)))
    child.kill('SIGTERM')
    expect(await exited).toBe('SIGTERM')
    await until(() => collector.instance('auto-1')?.status === 'left', 'left')
    expect(seen.get('auto-1')).toEqual(['up', 'left'])
  })
})
