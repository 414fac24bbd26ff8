#!/usr/bin/env node
import { readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { curveFromFlags } from '@dripdrop/zmq'
import { Command, Option } from 'commander'
import { loadOrCreateToken } from './auth.js'
import { ControlServer } from './server.js'
import { runTop } from './top.js'

/** Values of a JSON config file (`--config`): the same names as the long flags, camelCase. */
function readConfig(file: string | undefined): Record<string, unknown> {
  if (file === undefined) return {}
  return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>
}

function pick<T>(cli: T | undefined, config: unknown, fallback: T): T {
  return cli !== undefined ? cli : config !== undefined ? (config as T) : fallback
}

const program = new Command()
program.name('dripdrop-control').description("dripdrop's control room: collector, dashboard, API, Prometheus")

program
  .command('start', { isDefault: true })
  .description('run the collector, the failure detector, the API and the dashboard')
  .addOption(
    new Option('--collector <addr>', 'backchannel PULL address (default tcp://0.0.0.0:7100)').env(
      'DRIPDROP_CONTROL_COLLECTOR',
    ),
  )
  .addOption(
    new Option('--http <addr>', 'HTTP server: API, dashboard, /metrics (default http://127.0.0.1:7180)').env(
      'DRIPDROP_CONTROL_HTTP',
    ),
  )
  .addOption(
    new Option('--ws <addr>', 'WebSocket server of live updates (default ws://127.0.0.1:7181)').env(
      'DRIPDROP_CONTROL_WS',
    ),
  )
  .addOption(
    new Option('--redis <url>', 'keep series and members in Redis (redis://…) instead of memory').env(
      'DRIPDROP_CONTROL_REDIS',
    ),
  )
  .addOption(
    new Option('--token <token>', 'bearer token (default: generated once, kept in --token-file)').env(
      'DRIPDROP_CONTROL_TOKEN',
    ),
  )
  .addOption(
    new Option('--token-file <file>', 'where a generated token is kept').env('DRIPDROP_CONTROL_TOKEN_FILE'),
  )
  .addOption(new Option('--no-auth', 'no token at all (loopback only unless --insecure)'))
  .addOption(new Option('--insecure', 'allow a non-loopback bind without auth'))
  .addOption(
    new Option('--window-seconds <n>', 'seconds of series kept in memory (default 300)').argParser(Number),
  )
  .addOption(
    new Option('--config <file>', 'JSON config file with the same names (camelCase)').env(
      'DRIPDROP_CONTROL_CONFIG',
    ),
  )
  .addOption(
    new Option(
      '--topology <file>',
      'run the role controller for this topology file: agents connect to --agents',
    ).env('DRIPDROP_CONTROL_TOPOLOGY'),
  )
  .addOption(
    new Option(
      '--agents <addr>',
      "the agents' channel (ROUTER), with --topology (default tcp://0.0.0.0:7200)",
    ).env('DRIPDROP_CONTROL_AGENTS'),
  )
  .addOption(
    new Option('--agents-curve-keys <dir[/name]>', "CURVE on the agents' channel: this server's key pair"),
  )
  .addOption(
    new Option('--agents-curve-allow <dir>', "CURVE: a directory of the agents' .pub files (the allow-list)"),
  )
  .addOption(new Option('--json', 'one JSON object per log line'))
  .addOption(
    new Option(
      '--curve-keys <dir[/name]>',
      'CURVE on the collector: its key pair from `dripdrop keys generate` (DIR, or DIR/NAME for NAME.key + NAME.pub); else DRIPDROP_CURVE_SECRET_KEY',
    ).env('DRIPDROP_CONTROL_CURVE_KEYS'),
  )
  .addOption(
    new Option(
      '--curve-allow <keys>',
      'CURVE: the reporters allowed in: a directory of .pub files, a file of keys, or Z85 keys separated by commas (repeatable)',
    )
      .env('DRIPDROP_CONTROL_CURVE_ALLOW')
      .argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), v]),
  )
  .action(async (opts) => {
    const config = readConfig(opts.config)
    // CURVE on the collector: flags, then the config file, then DRIPDROP_CURVE_* (one reader for every CLI).
    const curve = curveFromFlags(
      {
        keys: pick<string | undefined>(opts.curveKeys, config.curveKeys, undefined),
        allow: pick<string | string[] | undefined>(opts.curveAllow, config.curveAllow, undefined),
      },
      { role: 'server' },
    )
    const json = pick<boolean>(opts.json, config.json, false)
    const log = (msg: string, fields: Record<string, unknown> = {}) =>
      json
        ? console.log(JSON.stringify({ time: new Date().toISOString(), msg, ...fields }))
        : console.log(
            `${msg}${
              Object.keys(fields).length
                ? ` ${Object.entries(fields)
                    .map(([k, v]) => `${k}=${v}`)
                    .join(' ')}`
                : ''
            }`,
          )
    const auth = opts.auth !== false && config.auth !== false
    let token = pick<string | undefined>(opts.token, config.token, undefined)
    let created = false
    if (auth && token === undefined) {
      const file = pick(opts.tokenFile, config.tokenFile, join(homedir(), '.dripdrop-control', 'token'))
      ;({ token, created } = loadOrCreateToken(file))
    }
    const server = new ControlServer({
      collector: pick(opts.collector, config.collector, 'tcp://0.0.0.0:7100'),
      http: pick(opts.http, config.http, 'http://127.0.0.1:7180'),
      ws: pick(opts.ws, config.ws, 'ws://127.0.0.1:7181'),
      redis: pick<string | undefined>(opts.redis, config.redis, undefined),
      token: auth ? token : undefined,
      insecure: pick(opts.insecure, config.insecure, false),
      windowSeconds: pick(opts.windowSeconds, config.windowSeconds, 300),
      ...(curve === undefined ? {} : { curve }),
      ...rolesOptions(opts, config),
    })
    for (const type of [
      'instance:down',
      'instance:up',
      'instance:left',
      'instance:restarted',
      'instance:suspect',
    ] as const) {
      server.collector.events.on(type, (e) => log(type, { instance: e.instance, role: e.role }))
    }
    logRefusals(server, log)
    if (server.roles !== undefined) {
      const r = server.roles
      r.on('host:up', (e) => log('host:up', { host: e.host, address: e.address, pid: e.pid, back: e.back }))
      r.on('host:lost', (e) => log('host:lost', { host: e.host, silentMs: e.silentMs }))
      r.on('failover', (e) =>
        log('failover', {
          host: e.host,
          moved: e.moved.map((m) => `${m.instance}:${m.from}->${m.to}`).join(','),
          unplaced: e.unplaced.join(','),
        }),
      )
      for (const type of ['instance:down', 'instance:failed'] as const)
        r.on(type, (e) =>
          log(`roles ${type}`, { instance: e.instance, host: e.host, code: e.code, signal: e.signal }),
        )
    }
    await server.start()
    const urls = server.urls
    const dashboard =
      auth && token !== undefined ? `${urls.dashboard}?token=${encodeURIComponent(token)}` : urls.dashboard
    if (created) log('a token was generated (shown once; kept in the token file)', { token })
    const collectorHost = /^[a-z]+:\/\/(\[[^\]]+\]|[^:/]+)/.exec(urls.collector)?.[1] ?? ''
    if (curve === undefined && !['127.0.0.1', 'localhost', '::1', '[::1]'].includes(collectorHost))
      log(
        'warning: the collector takes plain-text reports from any host that reaches it (give --curve-keys)',
        {
          collector: urls.collector,
        },
      )
    log('dripdrop-control listening', {
      dashboard,
      api: urls.api,
      ws: urls.ws,
      metrics: urls.metrics,
      collector: urls.collector,
      ...(curve === undefined
        ? {}
        : {
            curve: 'on',
            curvePublicKey: curve.publicKey,
            curveAllow: curve.allow === undefined ? 'any' : (curve.allow as string[]).length,
          }),
      ...(server.roles === undefined ? {} : { agents: server.roles.endpoint }),
    })
    const stop = () => {
      server.close().then(
        () => process.exit(0),
        () => process.exit(1),
      )
    }
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
  })

/**
 * Logs a reporter refused at the CURVE handshake, once per (reason, cause, client key): a refused peer retries every
 * reconnect interval, each attempt still counted in `collector.stats.refused` (API, /metrics).
 */
function logRefusals(
  server: ControlServer,
  log: (msg: string, fields?: Record<string, unknown>) => void,
): void {
  const seen = new Set<string>()
  server.collector.events.on('report:error', ({ error }) => {
    if ((error as { code?: string }).code !== 'DD_ERR_HANDSHAKE') return
    const e = error as Error & { reason?: string; clientKey?: string; endpoint?: string }
    const cause = (e.cause as { code?: string } | undefined)?.code ?? ''
    const key = `${e.reason}:${cause}:${e.clientKey ?? ''}`
    if (seen.has(key) || seen.size >= 1000) return
    seen.add(key)
    log('reporter refused at the CURVE handshake (further attempts counted, not logged)', {
      reason: e.reason,
      ...(cause === '' ? {} : { cause }),
      clientKey: e.clientKey ?? 'none',
      from: e.endpoint,
    })
  })
}

// --topology turns the role controller on; --agents-curve-* protect its channel (CURVE server side).
function rolesOptions(opts: Record<string, unknown>, config: Record<string, unknown>) {
  const topology = pick<string | undefined>(opts.topology as string | undefined, config.topology, undefined)
  if (topology === undefined) return {}
  const keys = pick<string | undefined>(
    opts.agentsCurveKeys as string | undefined,
    config.agentsCurveKeys,
    undefined,
  )
  const allow = pick<string | undefined>(
    opts.agentsCurveAllow as string | undefined,
    config.agentsCurveAllow,
    undefined,
  )
  // The same reader as --curve-keys/--curve-allow, without the DRIPDROP_CURVE_* fallback: those belong to the
  // collector, and the agents' channel is keyed only when its own flags say so.
  const curve = curveFromFlags({ keys, allow }, { role: 'server', env: false })
  return {
    topology,
    roles: {
      agents: pick(opts.agents as string | undefined, config.agents, 'tcp://0.0.0.0:7200'),
      ...(curve === undefined ? {} : { curve }),
    },
  }
}

program
  .command('top')
  .description('a live table of instances, routes and rates over the API')
  .addOption(
    new Option('--url <url>', 'the control server')
      .default('http://127.0.0.1:7180')
      .env('DRIPDROP_CONTROL_URL'),
  )
  .addOption(new Option('--token <token>', 'bearer token').env('DRIPDROP_CONTROL_TOKEN'))
  .addOption(new Option('--interval-ms <n>', 'refresh period').default(1000).argParser(Number))
  .addOption(new Option('--iterations <n>', 'stop after n screens (0 = never)').default(0).argParser(Number))
  .addOption(new Option('--once', 'one screen, then exit'))
  .addOption(new Option('--limit <n>', 'rows shown').default(30).argParser(Number))
  .action(async (opts) => {
    await runTop({
      url: opts.url,
      token: opts.token,
      intervalMs: opts.intervalMs,
      iterations: opts.once ? 1 : opts.iterations,
      limit: opts.limit,
    })
  })

program.parseAsync().catch((err) => {
  console.error(`dripdrop-control: ${(err as Error).message}`)
  process.exit(1)
})
