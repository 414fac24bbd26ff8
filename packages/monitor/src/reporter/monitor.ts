import { keysFromEnv } from '@dripdrop/zmq'
import { Node } from '@dripdrop/core'
import { Reporter, type ReporterOptions } from './reporter.js'

/** One reporter per collector address in this process: several nodes report as one process. */
const reporters = new Map<string, Reporter>()

/**
 * Starts reporting `node` (or several) to a collector. Every call in one process with the same `collector`
 * shares one {@link Reporter} (one instance, one heartbeat); the first call's options win. Never throws on a
 * collector that is down: reports are dropped and counted until it comes up.
 *
 * @example
 * ```ts
 * import { monitor } from '@dripdrop/monitor'
 * const reporter = monitor(node, { collector: 'tcp://control:7100', role: 'api' })
 * // …
 * await reporter.close() // sends a goodbye: the collector marks this instance `left`
 * ```
 */
export function monitor(nodes: Node | readonly Node[], options: ReporterOptions): Reporter {
  let reporter = reporters.get(options?.collector)
  if (reporter === undefined || reporter.state === 'closing' || reporter.state === 'closed') {
    reporter = new Reporter(options)
    reporters.set(reporter.collector, reporter)
  }
  for (const node of Array.isArray(nodes) ? nodes : [nodes]) reporter.add(node as Node)
  reporter.start().catch(() => {})
  return reporter
}

/**
 * The options `monitor()` would take from the environment: `DRIPDROP_COLLECTOR` (address), `DRIPDROP_ROLE`
 * (default `app`), `DRIPDROP_INSTANCE` (optional), and CURVE from `DRIPDROP_CURVE_SECRET_KEY` /
 * `DRIPDROP_CURVE_SERVER_KEY` (`keysFromEnv` of `@dripdrop/zmq`). `undefined` when `DRIPDROP_COLLECTOR` is not set.
 */
export function optionsFromEnv(env: NodeJS.ProcessEnv = process.env): ReporterOptions | undefined {
  const collector = env.DRIPDROP_COLLECTOR
  if (collector === undefined || collector === '') return undefined
  const options: ReporterOptions = { collector, role: env.DRIPDROP_ROLE || 'app' }
  if (env.DRIPDROP_INSTANCE) options.instance = env.DRIPDROP_INSTANCE
  const curve = keysFromEnv(env)
  if (curve !== undefined) options.curve = curve
  return options
}

/**
 * `monitor(nodes, optionsFromEnv())` when `DRIPDROP_COLLECTOR` is set, else `undefined` (monitoring off).
 *
 * @example
 * ```ts
 * monitorFromEnv(node) // DRIPDROP_COLLECTOR=tcp://control:7100 DRIPDROP_ROLE=api node app.js
 * ```
 */
export function monitorFromEnv(
  nodes: Node | readonly Node[] = [],
  env: NodeJS.ProcessEnv = process.env,
): Reporter | undefined {
  const options = optionsFromEnv(env)
  return options === undefined ? undefined : monitor(nodes, options)
}

let autoInstalled = false

/**
 * What `import '@dripdrop/monitor/auto'` does: when `DRIPDROP_COLLECTOR` is set, every `Node` of this process
 * that starts is reported. Core has no node-created hook, so this wraps `Node.prototype.start` once (the only
 * place this package reaches into core from outside). The process says goodbye on `beforeExit`, SIGTERM and SIGINT.
 * Returns the reporter, or `undefined` when the environment turns monitoring off.
 */
export function installAuto(env: NodeJS.ProcessEnv = process.env): Reporter | undefined {
  const reporter = monitorFromEnv([], env)
  if (reporter === undefined || autoInstalled) return reporter
  autoInstalled = true
  const start = Node.prototype.start
  Node.prototype.start = function (this: Node) {
    if (this.name !== 'dd.monitor') monitorFromEnv(this, env)
    return start.call(this)
  }
  const bye = (signal?: NodeJS.Signals) => {
    reporter.close({ timeoutMs: 500 }).finally(() => {
      // Keep the default meaning of the signal when nobody else handles it.
      if (signal !== undefined && process.listenerCount(signal) === 0) process.kill(process.pid, signal)
    })
  }
  process.once('beforeExit', () => bye())
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => bye(signal))
  return reporter
}
