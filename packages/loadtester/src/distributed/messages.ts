// Every message between a coordinator and its agents, declared once (docs/protocol.md §12). They travel as
// dripdrop envelopes (MessagePack) on one ZeroMQ route: the coordinator's `router`, each agent's `dealer`.
import type { IntervalStats } from '../stats/interval.js'

/** Protocol version carried in `agent.hello`; a coordinator refuses another. */
export const PROTOCOL_VERSION = 1

/** What an agent runs: an engine's options minus what cannot cross a network. */
export interface JobScenario {
  /** `requests`: the weighted static requests; `module`: a scenario module path readable on the agent. */
  kind: 'requests' | 'module'
  target?: string
  requests?: {
    name?: string
    method?: string
    url: string
    headers?: Record<string, string>
    body?: unknown
    weight?: number
  }[]
  /** `module` scenarios: absolute path or URL of the module on the agent's machine. */
  module?: string
}

/** One agent's share of a distributed run (`job.start` body). */
export interface JobShare {
  jobId: string
  /** HMAC-SHA256(token, `job:<agent nonce>:<jobId>`), hex; `''` when the coordinator has no token. */
  auth: string
  scenario: JobScenario
  target?: string
  /** This agent's arrival rate (open model), req/s. */
  rate?: number
  stages?: { rate: number; durationMs: number }[]
  startRate?: number
  arrivals?: 'constant' | 'poisson'
  /** This agent's connections (closed model: its loops; open model: its cap). */
  connections?: number
  pipelining?: number
  /** Which HTTP client the agent's engine uses (`LoadEngineOptions.client`). */
  client?: 'auto' | 'undici' | 'fast'
  durationMs: number
  /** Epoch ms at which every agent starts. */
  startAt: number
  timeoutMs?: number
  maxRequests?: number
  rejectUnauthorized?: boolean
  seed?: number
  /**
   * `job.add` only: the number of this added part of the job (1, 2, …; the `job.start` share is part 0). A part
   * is a lost agent's share moved onto this agent from `startAt`, a second boundary of the common clock.
   */
  part?: number
  /** `job.add` only: the run's interval index at this part's `startAt`; the agent adds it to the part's indices. */
  firstIndex?: number
}

/**
 * The engine options a job carries from the command line to each agent's engine unchanged (the coordinator
 * splits `rate`, `stages`, `startRate`, `connections` and `maxRequests` first). Declared once: the CLI picks
 * them from its options, the agent copies them from the job.
 */
export const JOB_ENGINE_KEYS = [
  'target',
  'rate',
  'stages',
  'startRate',
  'arrivals',
  'connections',
  'pipelining',
  'client',
  'timeoutMs',
  'maxRequests',
  'rejectUnauthorized',
  'seed',
] as const satisfies readonly (keyof JobShare)[]

/** agent → coordinator, first message on every connection. */
export interface HelloMessage {
  agentId: string
  version: number
  /** Random, hex: the coordinator's job proofs are bound to it. */
  nonce: string
  /** HMAC-SHA256(token, `agent:<nonce>`), hex; `''` without a token. */
  auth: string
  hostname: string
  pid: number
  /** `process` or `thread` (a local agent thread). */
  kind: 'process' | 'thread'
}

/** agent → coordinator, every `statusIntervalMs`. */
export interface StatusMessage {
  agentId: string
  /** CPU busy fraction of this agent's JS thread over the last period (0..1). */
  cpu: number
  /** The job it runs, `''` when idle. */
  jobId: string
}

/** agent → coordinator, every engine interval of a job (one per part the agent runs). */
export interface IntervalMessage {
  agentId: string
  jobId: string
  /** Which part of the job the delta is from (0: the `job.start` share; absent means 0). */
  part?: number
  cpu: number
  /** Indexed on the run's common clock (a part's own indices plus its `firstIndex`). */
  delta: IntervalStats
}

/** agent → coordinator, once per job: the engine drained (or failed to start: `error`). */
export interface EndMessage {
  agentId: string
  jobId: string
  abandoned: number
  error?: string
}

/** coordinator → agent. */
export interface WelcomeMessage {
  /** HMAC-SHA256(token, `coordinator:<agent nonce>`), hex, so the agent knows the coordinator has the token. */
  auth: string
}

/** Every message name and its body. */
export interface MessageMap {
  'agent.hello': HelloMessage
  'agent.status': StatusMessage
  'job.interval': IntervalMessage
  'job.end': EndMessage
  'agent.welcome': WelcomeMessage
  'agent.refused': { reason: string }
  'job.start': JobShare
  'job.add': JobShare
  'job.stop': { jobId: string }
}

const isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)
const str = (v: unknown, max = 256): v is string => typeof v === 'string' && v.length <= max
const num = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v)

/** Checks the shape of an inbound message body; returns the reason it is bad, or `undefined`. */
export function invalidReason(name: string, body: unknown): string | undefined {
  if (!isObj(body)) return 'body is not an object'
  switch (name) {
    case 'agent.hello':
      if (!str(body.agentId, 64) || !str(body.nonce, 128) || !str(body.auth, 128) || !num(body.version))
        return 'agentId, nonce, auth and version are required'
      return undefined
    case 'agent.status':
      return str(body.agentId, 64) && num(body.cpu) && str(body.jobId, 64)
        ? undefined
        : 'agentId, cpu, jobId are required'
    case 'job.interval': {
      const d = body.delta
      if (!str(body.agentId, 64) || !str(body.jobId, 64) || !num(body.cpu) || !isObj(d))
        return 'agentId, jobId, cpu, delta are required'
      if (!num(d.index) || !num(d.startMs) || !num(d.durationMs) || !isObj(d.counters))
        return 'delta.index, startMs, durationMs, counters are required'
      for (const h of ['latency', 'service', 'lag'] as const)
        if (!str(d[h], 4_000_000)) return `delta.${h} must be an encoded histogram`
      if (!isObj(d.names)) return 'delta.names must be an object'
      if (body.part !== undefined && !(Number.isInteger(body.part) && (body.part as number) >= 0))
        return 'part must be an integer >= 0'
      return undefined
    }
    case 'job.end':
      return str(body.agentId, 64) && str(body.jobId, 64) && num(body.abandoned)
        ? undefined
        : 'agentId, jobId, abandoned are required'
    case 'agent.welcome':
      return str(body.auth, 128) ? undefined : 'auth is required'
    case 'job.start':
      return str(body.jobId, 64) && str(body.auth, 128) && isObj(body.scenario) && num(body.startAt)
        ? undefined
        : 'jobId, auth, scenario, startAt are required'
    case 'job.add':
      return str(body.jobId, 64) &&
        str(body.auth, 128) &&
        isObj(body.scenario) &&
        num(body.startAt) &&
        Number.isInteger(body.part) &&
        (body.part as number) > 0 &&
        Number.isInteger(body.firstIndex) &&
        (body.firstIndex as number) >= 0
        ? undefined
        : 'jobId, auth, scenario, startAt, part > 0 and firstIndex >= 0 are required'
    case 'job.stop':
      return str(body.jobId, 64) ? undefined : 'jobId is required'
    case 'agent.refused':
      return undefined
  }
  return `unknown message ${name}`
}
