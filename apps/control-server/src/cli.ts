#!/usr/bin/env node
import { readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { type CurveOptions, loadKeyPair, loadPublicKeys } from '@dripdrop/zmq'
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
  .action(async (opts) => {
    const config = readConfig(opts.config)
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
    log('dripdrop-control listening', {
      dashboard,
      api: urls.api,
      ws: urls.ws,
      metrics: urls.metrics,
      collector: urls.collector,
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
  if (keys === undefined && allow !== undefined)
    throw new TypeError('--agents-curve-allow needs --agents-curve-keys')
  let curve: CurveOptions | undefined
  if (keys !== undefined) {
    const pair = tryPair(keys)
    curve = allow === undefined ? pair : { ...pair, allow: loadPublicKeys(allow) }
  }
  return {
    topology,
    roles: {
      agents: pick(opts.agents as string | undefined, config.agents, 'tcp://0.0.0.0:7200'),
      ...(curve === undefined ? {} : { curve }),
    },
  }
}

// DIR (DIR/dripdrop.*) or DIR/NAME (DIR/NAME.*), as dripdrop-worker reads --curve-keys.
function tryPair(keys: string) {
  try {
    return loadKeyPair(keys)
  } catch {
    const at = keys.lastIndexOf('/')
    return loadKeyPair(at < 0 ? '.' : keys.slice(0, at), keys.slice(at + 1).replace(/\.(key|pub)$/, ''))
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
