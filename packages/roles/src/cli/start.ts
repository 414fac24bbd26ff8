import { type Command, InvalidArgumentError } from 'commander'
import { TopologyError } from '../errors.js'
import { remoteStart } from './control.js'
import { Supervisor } from '../supervisor/supervisor.js'
import { loadTopology } from '../topology/load.js'
import { type ResolveOptions, resolveTopology } from '../topology/resolve.js'
import type { ResolvedInstance, Topology } from '../topology/types.js'
import { runInProcess } from '../inproc/run-inproc.js'

/** Options of `dripdrop start`. */
interface StartOptions {
  /** Remote: start an instance or a role on the control server at this URL (see control.ts). */
  server?: string
  token?: string
  role?: string
  instances?: number
  host?: string
  logDir: string
  output: boolean
  restart: boolean
  inproc?: boolean
}

function positiveInt(value: string): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be an integer >= 1')
  return n
}

const time = () => new Date().toISOString().slice(11, 23)

/**
 * `dripdrop start [topology] [--role R] [--instances N] [--host H]`: runs the topology's instances on this host
 * under a {@link Supervisor} in the foreground, one line per event, the children's output prefixed with their
 * instance (`--no-output` hides it). Ctrl-C / SIGTERM stops every child gracefully (a second one kills them).
 * Exits when every instance has stopped or failed: 0 when all ended cleanly, 1 otherwise; 1 on a topology error.
 */
export function startCommand(program: Command): void {
  program
    .command('start')
    .description('run the topology (or one role of it) on this host, in the foreground')
    .argument('[topology]', 'topology file: .yaml, .yml, .json, .ts, .js', 'dripdrop.yaml')
    .option('-r, --role <role>', "run only this role's instances")
    .option(
      '-n, --instances <n>',
      'instances of --role to run (default: what the topology says)',
      positiveInt,
    )
    .option('-H, --host <host>', 'run what the topology places on this host (default: every instance)')
    .option('--log-dir <dir>', 'where the children log files go', '.dripdrop/logs')
    .option('--no-output', "do not echo the children's output (it is still in the log files)")
    .option(
      '--no-restart',
      'do not restart exited children (for systemd or Kubernetes, who restart the command)',
    )
    .option('--inproc', 'run every instance in this one process over inproc:// addresses (HTTP binds stay)')
    .option(
      '-s, --server <url>',
      'remote: start the instance or role named by the argument on this control server',
    )
    .option('-t, --token <token>', "remote: the control server's bearer token (or DRIPDROP_CONTROL_TOKEN)")
    .action(async (file: string, options: StartOptions) => {
      if (options.server !== undefined) {
        await remoteStart(file, {
          server: options.server,
          token: options.token ?? process.env.DRIPDROP_CONTROL_TOKEN,
        }).catch((err: Error & { code?: string }) => {
          console.error(`dripdrop start: ${err.code ?? 'error'}: ${err.message}`)
          process.exitCode = 1
        })
        return
      }
      process.exitCode = await start(file, options)
    })
}

async function start(file: string, options: StartOptions): Promise<number> {
  let instances: ResolvedInstance[]
  let topology: Awaited<ReturnType<typeof loadTopology>>
  try {
    if (options.instances !== undefined && options.role === undefined)
      throw new TopologyError(['--instances needs --role'])
    topology = await loadTopology(file)
    const select: ResolveOptions = {}
    if (options.host !== undefined) select.host = options.host
    if (options.role !== undefined) select.role = options.role
    if (options.instances !== undefined) select.instances = options.instances
    instances = resolveTopology(topology, select)
  } catch (err) {
    if (err instanceof TopologyError) {
      console.error(`dripdrop start: ${err.code}: ${err.message}`)
      return 1
    }
    throw err
  }
  if (options.inproc) return inProcess(topology, options)
  if (!options.restart)
    instances = instances.map((i) => ({ ...i, restart: { ...i.restart, policy: 'never' as const } }))
  if (instances.length === 0) {
    console.error(
      `dripdrop start: nothing to run${options.host === undefined ? '' : ` on host ${options.host}`}`,
    )
    return 1
  }
  const supervisor = new Supervisor({
    instances,
    topology,
    ...(options.host === undefined ? {} : { host: options.host }),
    logDir: options.logDir,
  })
  const print = (line: string) => process.stdout.write(`${time()} ${line}\n`)
  const width = Math.max(...instances.map((i) => i.instance.length))
  supervisor.on('instance:up', (e) => print(`up       ${e.instance} pid ${e.pid}`))
  supervisor.on('instance:down', (e) =>
    print(
      `down     ${e.instance} ${e.signal ? `by ${e.signal}` : `code ${e.code}`} after ${(e.uptimeMs / 1000).toFixed(1)} s${e.expected ? ' (stopped)' : ''}`,
    ),
  )
  supervisor.on('instance:restart', (e) =>
    print(`restart  ${e.instance} in ${e.delayMs} ms (restart ${e.attempt})`),
  )
  supervisor.on('instance:failed', (e) =>
    print(`FAILED   ${e.instance}: ${e.restarts} restarts within ${e.withinMs / 1000} s; not restarting`),
  )
  supervisor.on('supervisor:error', (e) => print(`error    ${e.instance ?? ''} ${e.error.message}`))
  if (options.output)
    supervisor.on('instance:log', (l) => {
      if (l.stream !== 'sup') process.stdout.write(`${l.instance.padEnd(width)} | ${l.line}\n`)
    })

  const where = options.host ?? [...new Set(instances.map((i) => i.host))].join(', ')
  print(
    `start    ${topology.name}: ${instances.map((i) => i.instance).join(', ')} on ${where} (logs in ${supervisor.logDir})`,
  )
  let ending: Promise<number> | undefined
  let resolveDone: (code: number) => void = () => {}
  const done = new Promise<number>((r) => {
    resolveDone = r
  })
  const stop = (signal: string) => {
    if (ending !== undefined) {
      print(`${signal} again: killing every child`)
      supervisor.destroy()
      resolveDone(130)
      return
    }
    print(`${signal}: stopping (SIGTERM to each child, then SIGKILL)`)
    ending = supervisor.close().then(() => 0)
    ending.then(resolveDone, () => resolveDone(1))
  }
  const onInt = () => stop('SIGINT')
  const onTerm = () => stop('SIGTERM')
  process.on('SIGINT', onInt)
  process.on('SIGTERM', onTerm)
  // Nothing running and nothing scheduled: the command ends (a `--no-restart` role that exited, or all FAILED).
  const check = () => {
    if (ending !== undefined) return
    const states = supervisor.status()
    if (states.every((s) => s.state === 'stopped' || s.state === 'failed')) {
      const clean = states.every((s) => s.state === 'stopped' && s.lastExit?.code === 0)
      print(`end      every instance has ${clean ? 'exited' : 'stopped or failed'}`)
      ending = supervisor.close().then(() => (clean ? 0 : 1))
      ending.then(resolveDone, () => resolveDone(1))
    }
  }
  supervisor.on('instance:down', () => setImmediate(check))
  supervisor.on('instance:failed', () => setImmediate(check))
  await supervisor.start()
  const code = await done
  process.off('SIGINT', onInt)
  process.off('SIGTERM', onTerm)
  print(`stopped  ${topology.name}`)
  return code
}

/** `--inproc`: every entry module in this process; no supervision. Ends on Ctrl-C / SIGTERM. */
async function inProcess(topology: Topology, options: StartOptions): Promise<number> {
  const print = (line: string) => process.stdout.write(`${time()} ${line}\n`)
  const select: ResolveOptions = {}
  if (options.role !== undefined) select.role = options.role
  if (options.instances !== undefined) select.instances = options.instances
  const stopped = new Promise<number>((resolve) => {
    // SIGTERM also reaches the entries' own handlers (they close their nodes and exit); Ctrl-C ends at once.
    process.once('SIGINT', () => {
      print('SIGINT: exiting')
      resolve(0)
    })
    process.once('SIGTERM', () => {
      print('SIGTERM: exiting')
      setTimeout(() => resolve(0), 2000).unref()
    })
  })
  const instances = await runInProcess(topology, select)
  print(`start    ${topology.name} in one process: ${instances.map((i) => i.instance).join(', ')}`)
  const code = await stopped
  process.exit(code)
}
