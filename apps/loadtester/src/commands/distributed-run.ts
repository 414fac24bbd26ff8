import { writeFile } from 'node:fs/promises'
import { availableParallelism } from 'node:os'
import { resolve } from 'node:path'
import {
  type AgentLoss,
  type AgentShare,
  buildReport,
  checkThresholds,
  Coordinator,
  htmlReport,
  JOB_ENGINE_KEYS,
  type Scenario,
  type Stage,
  summaryText,
  type Threshold,
  type DistributedResult,
  type JobScenario,
  type LoadEngineOptions,
  type LocalAgents,
  startLocalAgents,
} from '@dripdrop/loadtester'
import { type CurveOptions, curveFromFlags, generateKeyPair } from '@dripdrop/zmq'
import { type Command, InvalidArgumentError, Option } from 'commander'
import { ProgressLine } from '../progress.js'

/** The flags `run` gains for distributed tests. */
export interface DistributedFlags {
  /** `true`: `--threads` without a number, one per core. */
  threads?: number | true
  listen?: string
  agents?: number
  token?: string
  onAgentLost?: 'redistribute' | 'report'
  curveKeys?: string
  curveAllow?: string[]
}

const count = (name: string) => (v: string) => {
  const n = Number(v)
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be an integer >= 0`)
  return n
}

/** Adds `--threads`, `--listen`, `--agents`, `--token` to the `run` command. */
export function distributedOptions(command: Command): Command {
  return command
    .option(
      '--threads [n]',
      'local agent threads, one engine each (default: one per core; 0: one engine in this process, no agents)',
      count('--threads'),
    )
    .option(
      '--listen <endpoint>',
      'coordinate agents: bind here (e.g. tcp://0.0.0.0:5600) for `dripdrop-load agent --connect`',
    )
    .option('--agents <n>', 'remote agents to wait for before starting (with --listen)', count('--agents'))
    .option('--token <secret>', 'shared secret the agents must hold (or env DRIPDROP_LOAD_TOKEN)')
    .addOption(
      new Option(
        '--on-agent-lost <what>',
        "an agent lost mid-run: 'redistribute' its share over the others from the next second, or only 'report' it",
      )
        .choices(['redistribute', 'report'])
        .default('redistribute'),
    )
    .addOption(
      new Option(
        '--curve-keys <dir[/name]>',
        "CURVE between coordinator and agents: the coordinator's key pair (`dripdrop keys generate`: DIR, or DIR/NAME for NAME.key + NAME.pub)",
      ).env('DRIPDROP_LOAD_CURVE_KEYS'),
    )
    .addOption(
      new Option(
        '--curve-allow <keys>',
        'CURVE: the agents allowed in: a directory of .pub files, a file of keys, or Z85 keys separated by commas (repeatable)',
      )
        .env('DRIPDROP_LOAD_CURVE_ALLOW')
        .argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), v]),
    )
}

/** The `run` flags `runOnAgents` reads. */
interface RunFlagsSubset extends DistributedFlags {
  url?: string
  target?: string
  rate?: number
  stages?: Stage[]
  pipelining: number
  threshold: Threshold[]
  json?: boolean
  report?: string
  html?: string
  quiet?: boolean
}

/**
 * `run` with `--threads`/`--listen`/`--agents`: the test runs on agents, the summary gains an agents table
 * (share, CPU, lost or overloaded said out loud), the JSON report an `agents` array and `lostRate`.
 */
export async function runOnAgents(
  file: string | undefined,
  f: RunFlagsSubset,
  scenario: Scenario,
  options: LoadEngineOptions,
  io: { stdout: NodeJS.WriteStream; stderr: NodeJS.WriteStream },
): Promise<number> {
  const fail = (msg: string): number => {
    io.stderr.write(`dripdrop-load: ${msg}\n`)
    return 2
  }
  const agents = f.agents ?? 0
  if (agents > 0 && f.listen === undefined) return fail('--agents needs --listen (where they connect)')
  if (f.threads === 0 && agents === 0)
    return fail('--listen with --threads 0 needs --agents (who runs the test?)')
  let result: DistributedResult
  try {
    // --curve-keys / --curve-allow, else DRIPDROP_CURVE_* (one reader for every dripdrop CLI).
    const curve = curveFromFlags({ keys: f.curveKeys, allow: f.curveAllow }, { role: 'server' })
    result = await runDistributed(
      options,
      {
        threads:
          f.threads === true
            ? availableParallelism()
            : (f.threads ?? (agents === 0 ? availableParallelism() : 0)),
        listen: f.listen ?? 'tcp://127.0.0.1:*',
        agents,
        token: f.token ?? process.env.DRIPDROP_LOAD_TOKEN,
        ...(curve === undefined ? {} : { curve }),
        file,
        quiet: f.quiet === true,
        onAgentLost: f.onAgentLost ?? 'redistribute',
      },
      io.stderr,
    )
  } catch (err) {
    return fail((err as Error).message)
  }
  const report = buildReport(result.totals, result.series, {
    startMs: result.startMs,
    durationMs: result.durationMs,
    abandoned: result.abandoned,
    settings: {
      model: result.model,
      ...(f.target === undefined && f.url === undefined
        ? scenario.target === undefined
          ? {}
          : { target: scenario.target }
        : { target: f.target ?? (f.url as string) }),
      ...(file === undefined ? {} : { scenario: file }),
      ...(f.rate === undefined ? {} : { rate: f.rate }),
      ...(f.stages === undefined ? {} : { stages: f.stages }),
      ...(options.connections === undefined ? {} : { connections: options.connections }),
      pipelining: f.pipelining,
      agents: result.agents.length,
    },
  })
  const verdicts = checkThresholds(report, f.threshold, (which, p) =>
    (which === 'latency' ? result.totals.latency : result.totals.service).getValueAtPercentile(p),
  )
  const json = {
    ...report,
    agents: result.agents,
    losses: result.losses,
    lostRate: result.lostRate,
    thresholds: verdicts,
  }
  try {
    if (f.report !== undefined) await writeFile(f.report, `${JSON.stringify(json, null, 2)}\n`)
    if (f.html !== undefined) await writeFile(f.html, htmlReport(report))
  } catch (err) {
    return fail(`cannot write the report: ${(err as Error).message}`)
  }
  if (f.json) io.stdout.write(`${JSON.stringify(json)}\n`)
  else
    io.stdout.write(
      summaryText(report, verdicts) +
        agentsText(result.agents, result.lostRate, result.losses, result.startMs),
    )
  const broken = verdicts.filter((v) => !v.ok)
  if (broken.length > 0) {
    io.stderr.write(`thresholds broken: ${broken.map((b) => b.threshold.expression).join(', ')}\n`)
    return 1
  }
  return 0
}

/**
 * Whether `run` spreads the test over agents. Asked for with `--threads`, `--listen` or `--agents`; by default
 * too, one agent thread per core, so one command uses the whole machine, unless the machine has one core or
 * the run needs what agents cannot do yet (a `--ca`, a TypeScript scenario module, which agents import without
 * tsx). `--threads 0` runs one engine in this process.
 */
export function wantsAgents(
  f: DistributedFlags,
  file: string | undefined,
  options: LoadEngineOptions,
): boolean {
  if (f.listen !== undefined || (f.agents ?? 0) > 0) return true
  if (f.threads !== undefined) return f.threads !== 0
  const tsModule = file !== undefined && /\.[mc]?ts$/i.test(file)
  return availableParallelism() > 1 && options.ca === undefined && !tsModule
}

/** How `run` spreads a test: local agent threads, remote agents, or both. */
interface Spread {
  /** Local agent threads (one per core by default when --listen is given). */
  threads: number
  /** Coordinator endpoint agents connect to. */
  listen: string
  /** Remote agents to wait for before starting. */
  agents: number
  token: string | undefined
  /** CURVE of the coordinator (its key pair, the agents' allow-list); local threads get a key pair of their own. */
  curve?: CurveOptions
  /** The scenario file, for module scenarios (each agent imports it). */
  file: string | undefined
  quiet: boolean
  onAgentLost: 'redistribute' | 'report'
}

/** The scenario as it crosses to agents: static requests as data, a module by its path. */
export function jobScenario(options: LoadEngineOptions, file: string | undefined): JobScenario {
  const s = options.scenario
  if (s.kind === 'requests')
    return {
      kind: 'requests',
      requests: s.requests.map((r) => ({ ...r })),
      ...(s.target === undefined ? {} : { target: s.target }),
    }
  if (file === undefined) throw new TypeError('a module scenario needs its file')
  return { kind: 'module', module: resolve(file), ...(s.target === undefined ? {} : { target: s.target }) }
}

/**
 * Runs the test on agents: starts a coordinator on `listen`, `threads` local agent threads, waits for `agents`
 * remote ones (plus the local threads), runs, and closes everything.
 */
export async function runDistributed(
  options: LoadEngineOptions,
  d: Spread,
  stderr: NodeJS.WriteStream,
): Promise<DistributedResult> {
  if (options.ca !== undefined)
    throw new TypeError('--ca is not supported with agents yet (agents use their own CA list)')
  // Local agent threads over CURVE: a key pair made here for them (it never leaves the process), added to
  // the allow-list.
  const localKeys = d.curve === undefined || d.threads === 0 ? undefined : generateKeyPair()
  const allow = d.curve?.allow
  const coordinator = new Coordinator({
    listen: d.listen,
    ...(d.token === undefined ? {} : { token: d.token }),
    ...(d.curve === undefined
      ? {}
      : {
          curve: {
            ...d.curve,
            ...(allow === undefined || localKeys === undefined
              ? {}
              : {
                  allow:
                    typeof allow === 'function'
                      ? (key: string) => key === localKeys.publicKey || allow(key)
                      : [...allow, localKeys.publicKey],
                }),
          },
        }),
  })
  // A refused agent (no key, an unlisted key, the wrong coordinator key) is said, not hidden; the 1st, 10th,
  // 100th… refusal of each kind (a refused agent retries every reconnect interval).
  coordinator.events.on('coordinator:error', ({ error }) => {
    if ((error as { code?: string }).code !== 'DD_ERR_HANDSHAKE') return
    const cause = ((error as { cause?: { code?: string } }).cause?.code ?? '').replace(/^ERR_ZMTP_/, '')
    stderr.write(
      `agent refused at the CURVE handshake${cause === '' ? '' : ` [${cause}]`}: ${error.message}\n`,
    )
  })
  let local: LocalAgents | undefined
  try {
    await coordinator.start()
    if (d.agents > 0)
      stderr.write(
        `coordinator listening on ${coordinator.endpoint}${d.curve === undefined ? '' : ` (CURVE, public key ${d.curve.publicKey})`}: waiting for ${d.agents} agent(s)…\n`,
      )
    if (d.threads > 0)
      local = await startLocalAgents({
        connect: coordinator.endpoint.replace('://0.0.0.0:', '://127.0.0.1:'),
        count: d.threads,
        ...(d.token === undefined ? {} : { token: d.token }),
        ...(d.curve === undefined || localKeys === undefined
          ? {}
          : { curve: { ...localKeys, serverKey: d.curve.publicKey } }),
      })
    const durationMs = options.stages?.reduce((s, st) => s + st.durationMs, 0) ?? options.durationMs ?? 10_000
    const progress = d.quiet ? undefined : new ProgressLine(stderr, durationMs)
    let startAt = 0
    coordinator.events.on('coordinator:run:start', (s) => {
      startAt = s.startAt
    })
    coordinator.events.on('coordinator:progress', ({ point }) =>
      progress?.update(point, point.startMs + point.durationMs - startAt),
    )
    coordinator.events.on('coordinator:agent:share', (loss) => {
      progress?.lost(loss.agentId)
      stderr.write(`\n${lossText(loss, startAt)}\n`)
    })
    coordinator.events.on('coordinator:agent:overloaded', (a) =>
      stderr.write(`\nagent ${a.agentId} (${a.hostname}) above 90% CPU: its latencies are suspect\n`),
    )
    const onSigint = (): void => {
      stderr.write('\ninterrupted: stopping the agents…\n')
      coordinator.stop()
    }
    process.once('SIGINT', onSigint)
    const result = await coordinator.run({
      scenario: jobScenario(options, d.file),
      minAgents: d.agents + d.threads,
      agentsTimeoutMs: d.agents > 0 ? 600_000 : 10_000,
      durationMs,
      onAgentLost: d.onAgentLost,
      ...pick(options),
    })
    process.off('SIGINT', onSigint)
    progress?.end()
    return result
  } finally {
    await local?.close()
    await coordinator.close()
  }
}

function pick(o: LoadEngineOptions) {
  const out: Record<string, unknown> = {}
  for (const k of JOB_ENGINE_KEYS) if (o[k] !== undefined) out[k] = o[k]
  return out
}

/** One lost agent in a sentence: who, when, and what became of its share (the gap unsent included). */
export function lossText(loss: AgentLoss, startMs: number): string {
  const t = (ms: number): string => `+${((ms - startMs) / 1000).toFixed(1)}s`
  const share =
    loss.rate === undefined ? `${loss.connections ?? 0} connections` : `${loss.rate.toFixed(1)} req/s`
  const gap =
    loss.gapScheduled === undefined
      ? `nothing reported from ${t(loss.gapStartMs)} to ${t(loss.gapEndMs)}`
      : `${loss.gapScheduled} scheduled requests unaccounted for from ${t(loss.gapStartMs)} to ${t(loss.gapEndMs)}`
  return loss.redistributed
    ? `agent ${loss.agentId} (${loss.hostname}) LOST (last heard ${t(loss.lastSeenMs)}): its share (${share}) redistributed to ${loss.to.length} agent(s) from ${t(loss.redistributedAtMs ?? 0)}; ${gap}`
    : `agent ${loss.agentId} (${loss.hostname}) LOST (last heard ${t(loss.lastSeenMs)}): its share (${share}) is missing from the results; ${gap}`
}

/** The agents table under the summary: share, CPU, and every loss, redistribution or overload said out loud. */
export function agentsText(
  agents: readonly AgentShare[],
  lostRate: number,
  losses: readonly AgentLoss[] = [],
  startMs = 0,
): string {
  const lines = ['', `  agents ${agents.length}`]
  for (const a of agents) {
    const share = a.rate !== undefined ? `${a.rate.toFixed(1)} req/s` : `${a.connections} conns`
    const added = (a.added ?? []).map(
      (p) =>
        `+${p.rate === undefined ? `${p.connections} conns` : `${p.rate.toFixed(1)} req/s`} of ${p.fromAgentId} from +${((p.startMs - startMs) / 1000).toFixed(0)}s`,
    )
    const flags = [
      a.lost ? `LOST at ${new Date(a.lostAtMs ?? 0).toISOString()}` : '',
      a.overloaded ? 'OVERLOADED (CPU > 90%: figures suspect)' : '',
      a.error === undefined ? '' : `FAILED: ${a.error}`,
      ...added,
    ].filter((x) => x !== '')
    lines.push(
      `    ${a.agentId.padEnd(14)} ${a.kind.padEnd(7)} ${a.hostname.slice(0, 20).padEnd(20)} share ${share.padEnd(14)} responses ${String(a.responses).padEnd(9)} cpu max ${(a.maxCpu * 100).toFixed(0)}%  ${flags.join('  ')}`,
    )
  }
  for (const loss of losses) lines.push(`  ${lossText(loss, startMs)}`)
  if (lostRate > 0)
    lines.push(`  WARNING: ${lostRate.toFixed(1)} req/s of the schedule was lost with its agents`)
  return `${lines.join('\n')}\n`
}
