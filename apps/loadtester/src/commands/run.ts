import { readFileSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { extname } from 'node:path'
import {
  checkThresholds,
  htmlReport,
  LoadEngine,
  type LoadEngineOptions,
  loadScenario,
  parseThreshold,
  type Report,
  reportOf,
  type RunSettings,
  type Scenario,
  type Stage,
  summaryText,
  type Threshold,
} from '@dripdrop/loadtester'
import { Command, InvalidArgumentError, Option } from 'commander'
import { parseDuration } from '../duration.js'
import { ProgressLine } from '../progress.js'
import { type DistributedFlags, distributedOptions, runOnAgents, wantsAgents } from './distributed-run.js'

/** Exit codes of `dripdrop-load run`. */
export const EXIT = {
  /** The run finished and every threshold held. */
  ok: 0,
  /** The run finished and at least one threshold broke. */
  thresholds: 1,
  /** Bad arguments, a bad scenario, a file that cannot be read or written. */
  usage: 2,
} as const

interface RunFlags {
  url?: string
  target?: string
  method: string
  header: string[]
  body?: string
  rate?: number
  stages?: Stage[]
  startRate?: number
  poisson?: boolean
  duration: number
  connections?: number
  pipelining: number
  client: 'auto' | 'undici' | 'fast'
  timeout: number
  highWaterMark?: number
  maxRequests?: number
  threshold: Threshold[]
  json?: boolean
  report?: string
  html?: string
  ca?: string
  insecure?: boolean
  seed?: number
  quiet?: boolean
}

type Flags = RunFlags & DistributedFlags

const int = (name: string) => (v: string) => {
  const n = Number(v)
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive integer`)
  return n
}
const num = (name: string) => (v: string) => {
  const n = Number(v)
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive number`)
  return n
}
const duration = (name: string) => (v: string) => {
  try {
    return parseDuration(v, name)
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message)
  }
}
const collect =
  <T>(parse: (v: string) => T) =>
  (v: string, prev: T[] = []) => [...prev, parse(v)]
const stages = (v: string): Stage[] =>
  v.split(',').map((part) => {
    const [rate, d] = part.split(':')
    const r = Number(rate)
    if (d === undefined || !Number.isFinite(r) || r < 0)
      throw new InvalidArgumentError(`each stage is <rate>:<duration>, e.g. 1000:30s, got "${part}"`)
    return { rate: r, durationMs: duration('stage duration')(d) }
  })
const threshold = (v: string): Threshold => {
  try {
    return parseThreshold(v)
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message)
  }
}

/** The `run` command. `io` lets tests capture output; the CLI passes the process's streams. */
export function runCommand(io: {
  stdout: NodeJS.WriteStream
  stderr: NodeJS.WriteStream
  setExitCode(code: number): void
}) {
  const command = new Command('run')
    .description(
      'Run a load test: a scenario file (JSON/YAML weighted requests, or a JS/TS module) or a single --url.\n' +
        'Open model with --rate or --stages (requests at fixed times, latency from the intended time),\n' +
        'closed model with --connections alone.',
    )
    .argument('[scenario]', 'scenario file: .json, .yaml/.yml, or .js/.mjs/.ts module')
    .option('--url <url>', 'quick test of a single URL (no scenario file)')
    .option('--target <url>', 'base URL for the scenario paths (overrides the file)')
    .option('--method <method>', 'method for --url', 'GET')
    .option('-H, --header <name:value>', 'header for --url (repeatable)', collect(String), [])
    .option('--body <text>', 'body for --url')
    .option('-r, --rate <req/s>', 'open model: constant arrival rate (requests per second)', num('--rate'))
    .option('--stages <list>', 'open model: ramping stages <rate>:<duration>,… e.g. 100:10s,5000:30s', stages)
    .option('--start-rate <req/s>', 'with --stages: the rate at the start', Number)
    .option('--poisson', 'open model: Poisson arrivals instead of evenly spaced')
    .addOption(
      new Option('-d, --duration <time>', 'length of the run (e.g. 30s, 2m)')
        .argParser(duration('--duration'))
        .default(10_000, '10s'),
    )
    .option(
      '-c, --connections <n>',
      'connections (closed model: concurrent loops; open model: cap, default 100)',
      int('--connections'),
    )
    .option('-p, --pipelining <n>', 'HTTP/1.1 requests pipelined per connection', int('--pipelining'), 1)
    .addOption(
      new Option('--client <kind>', 'HTTP client: fast (plain-http static requests), undici, or auto')
        .choices(['auto', 'undici', 'fast'])
        .default('auto'),
    )
    .addOption(
      new Option('--timeout <time>', 'per-request timeout (no headers or body progress)')
        .argParser(duration('--timeout'))
        .default(10_000, '10s'),
    )
    .option(
      '--high-water-mark <n>',
      'open model: requests waiting for a free connection before counted not sent',
      int('--high-water-mark'),
    )
    .option('-n, --max-requests <n>', 'stop after this many requests', int('--max-requests'))
    .option(
      '-t, --threshold <expr>',
      "fail (exit 1) unless it holds, e.g. 'p99<50ms' 'errors<0.1%' 'rate>4900' 'service.p99<20ms' (repeatable)",
      collect(threshold),
      [],
    )
    .option('--json', 'print the JSON report on stdout instead of the summary')
    .option('--report <file>', 'write the JSON report to a file')
    .option('--html <file>', 'write the self-contained HTML report to a file')
    .option('--ca <file>', 'PEM CA certificate to trust for https targets')
    .option('-k, --insecure', 'do not verify TLS certificates')
    .addOption(new Option('--seed <n>', 'random seed (weighted picks, Poisson gaps)').argParser(Number))
    .option('-q, --quiet', 'no progress line')
    .showHelpAfterError()
  return distributedOptions(command).action(async (file: string | undefined, flags: Flags) => {
    io.setExitCode(await run(file, flags, io))
  })
}

async function run(
  file: string | undefined,
  f: Flags,
  io: { stdout: NodeJS.WriteStream; stderr: NodeJS.WriteStream },
): Promise<number> {
  const fail = (msg: string): number => {
    io.stderr.write(`dripdrop-load: ${msg}\n`)
    return EXIT.usage
  }
  if ((file === undefined) === (f.url === undefined))
    return fail('give a scenario file or --url (one of them)')
  if (f.rate !== undefined && f.stages !== undefined) return fail('--rate and --stages exclude each other')
  let scenario: Scenario
  try {
    if (file !== undefined) {
      // TypeScript scenarios go through tsx, whatever the module format of the folder they sit in.
      const ts = ['.ts', '.mts', '.cts'].includes(extname(file).toLowerCase())
      const { tsImport } = ts ? await import('tsx/esm/api') : { tsImport: undefined }
      scenario = await loadScenario(
        file,
        tsImport === undefined ? {} : { importModule: (url) => tsImport(url, import.meta.url) },
      )
    } else {
      const headers: Record<string, string> = {}
      for (const h of f.header) {
        const i = h.indexOf(':')
        if (i <= 0) return fail(`--header must be name:value, got "${h}"`)
        headers[h.slice(0, i).trim()] = h.slice(i + 1).trim()
      }
      scenario = {
        kind: 'requests',
        requests: [
          {
            url: f.url as string,
            method: f.method,
            headers,
            ...(f.body === undefined ? {} : { body: f.body }),
          },
        ],
      }
    }
  } catch (err) {
    return fail((err as Error).message)
  }
  let ca: Buffer | undefined
  try {
    if (f.ca !== undefined) ca = readFileSync(f.ca)
  } catch (err) {
    return fail(`--ca: ${(err as Error).message}`)
  }
  const options: LoadEngineOptions = {
    scenario,
    durationMs: f.duration,
    pipelining: f.pipelining,
    client: f.client,
    timeoutMs: f.timeout,
    ...(f.target === undefined ? {} : { target: f.target }),
    ...(f.rate === undefined ? {} : { rate: f.rate }),
    ...(f.stages === undefined ? {} : { stages: f.stages }),
    ...(f.startRate === undefined ? {} : { startRate: f.startRate }),
    ...(f.poisson ? { arrivals: 'poisson' as const } : {}),
    ...(f.connections === undefined ? {} : { connections: f.connections }),
    ...(f.highWaterMark === undefined ? {} : { highWaterMark: f.highWaterMark }),
    ...(f.maxRequests === undefined ? {} : { maxRequests: f.maxRequests }),
    ...(ca === undefined ? {} : { ca }),
    ...(f.insecure ? { rejectUnauthorized: false } : {}),
    ...(f.seed === undefined ? {} : { seed: f.seed }),
  }
  if (wantsAgents(f, file, options)) return runOnAgents(file, f, scenario, options, io)
  let engine: LoadEngine
  try {
    engine = new LoadEngine(options)
  } catch (err) {
    return fail((err as Error).message)
  }
  const progress = f.quiet ? undefined : new ProgressLine(io.stderr, engine.durationMs)
  engine.events.on('engine:progress', (point) => {
    progress?.update(point, point.startMs + point.durationMs - (engine.startMs ?? point.startMs))
  })
  engine.events.on('engine:error', ({ error }) =>
    io.stderr.write(`\nscenario error (counted as "other"): ${(error as Error)?.message ?? String(error)}\n`),
  )
  const onSigint = (): void => {
    io.stderr.write('\ninterrupted: draining…\n')
    void engine.close({ timeoutMs: 2000 })
  }
  process.once('SIGINT', onSigint)
  const result = await engine.run()
  process.off('SIGINT', onSigint)
  progress?.end()
  const settings: RunSettings = {
    model: engine.model,
    ...(f.target === undefined && f.url === undefined
      ? scenario.target === undefined
        ? {}
        : { target: scenario.target }
      : { target: f.target ?? (f.url as string) }),
    ...(file === undefined ? {} : { scenario: file }),
    ...(f.rate === undefined ? {} : { rate: f.rate }),
    ...(f.stages === undefined ? {} : { stages: f.stages }),
    connections: f.connections ?? (engine.model === 'open' ? 100 : 10),
    pipelining: f.pipelining,
    ...(engine.model === 'open' ? { arrivals: f.poisson ? 'poisson' : 'constant' } : {}),
    agents: 1,
  }
  const report: Report = reportOf(result, settings)
  const verdicts = checkThresholds(report, f.threshold, (which, p) =>
    (which === 'latency' ? result.totals.latency : result.totals.service).getValueAtPercentile(p),
  )
  try {
    if (f.report !== undefined)
      await writeFile(f.report, `${JSON.stringify({ ...report, thresholds: verdicts }, null, 2)}\n`)
    if (f.html !== undefined) await writeFile(f.html, htmlReport(report))
  } catch (err) {
    return fail(`cannot write the report: ${(err as Error).message}`)
  }
  if (f.json) io.stdout.write(`${JSON.stringify({ ...report, thresholds: verdicts })}\n`)
  else io.stdout.write(summaryText(report, verdicts))
  const broken = verdicts.filter((v) => !v.ok)
  if (broken.length > 0) {
    io.stderr.write(`thresholds broken: ${broken.map((b) => b.threshold.expression).join(', ')}\n`)
    return EXIT.thresholds
  }
  return EXIT.ok
}
