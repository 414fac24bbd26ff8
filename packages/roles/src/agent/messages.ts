/**
 * The agent channel: every message between a host's {@link Agent} and the control server's
 * {@link RoleController}, declared once (docs/protocol.md § Agent channel). Each is a dripdrop envelope
 * `{ name, head, body }` on a ZeroMQ DEALER (agent) → ROUTER (control server) link; `name` is the message type
 * below and `body` its payload (msgpack, the default codec).
 */
import type { ResolvedAddresses, ResolvedInstance } from '../topology/types.js'

/** Version of this protocol, sent in `agent.register`; the control server refuses another major. */
export const AGENT_PROTOCOL_VERSION = 1

/** The control server's agent channel when none is given. */
export const DEFAULT_AGENTS_ADDRESS = 'tcp://0.0.0.0:7200'

/** Where an instance is, as an agent reports it (the {@link Supervisor}'s states, plus `absent`). */
export type InstanceStatus = 'starting' | 'running' | 'backoff' | 'stopping' | 'stopped' | 'failed'

/** One instance an agent runs, as it reports it. */
export interface InstanceReport {
  instance: string
  role: string
  state: InstanceStatus
  /** The process id while a process runs. */
  pid?: number
  /** Restarts made by the restart policy since the instance was started. */
  restarts: number
}

// ---- agent → control server ----

/** First message of an agent (and again after every reconnect): who it is and what it runs now. */
export interface RegisterMessage {
  type: 'agent.register'
  /** The topology host name this agent serves. */
  host: string
  /** The address other hosts reach this host's roles at (replaces the topology's when given). */
  address?: string
  /** Roles this agent agrees to run (`[]`: whatever the topology says). */
  allow: string[]
  pid: number
  /** Protocol version ({@link AGENT_PROTOCOL_VERSION}). */
  version: number
  /** A random id per agent process: the control server tells a restarted agent from a reconnecting one. */
  session: string
  /** Instances running now (after a control-server restart the agent's children kept running). */
  instances: InstanceReport[]
}

/** Liveness, every `heartbeatIntervalMs`, both ways. */
export interface HeartbeatMessage {
  type: 'agent.heartbeat'
  /** Sender's clock, ms since the epoch. */
  at: number
}

/** An instance changed state: sent at once, not with the next heartbeat. */
export interface InstanceEventMessage {
  type: 'instance.event'
  instance: string
  role: string
  /** `up` (process running), `down` (process exited), `restart` (a restart is scheduled), `failed`
   * (intensity limit reached: no more restarts), `stopped` (stopped on request). */
  event: 'up' | 'down' | 'restart' | 'failed' | 'stopped'
  pid?: number
  /** `down`: exit code, or null when killed by a signal. */
  code?: number | null
  signal?: string | null
  /** `restart`: the back-off delay, ms. */
  delayMs?: number
  /** Agent's clock when it saw it, ms since the epoch. */
  at: number
}

/** The answer to a {@link CommandMessage}. */
export interface ResultMessage {
  type: 'agent.result'
  id: number
  ok: boolean
  /** When not ok: a `DD_ERR_*` code and a message. */
  error?: { code: string; message: string }
}

/** Log lines of one instance, for a {@link LogsMessage} request. */
export interface LogDataMessage {
  type: 'logs.data'
  id: number
  lines: { at: number; stream: 'out' | 'err' | 'sup'; line: string }[]
  /** True on the last message of a request that does not follow (or after `logs.stop`). */
  done: boolean
}

// ---- control server → agent ----

/** Registration accepted. */
export interface WelcomeMessage {
  type: 'agent.welcome'
  app: string
  heartbeatIntervalMs: number
  heartbeatTimeoutMs: number
}

/** Registration refused (unknown host, a role it does not allow, another agent already serves the host). */
export interface RefusedMessage {
  type: 'agent.refused'
  code: string
  reason: string
}

/**
 * Every instance this host must run, fully resolved. The agent starts what it does not run, stops what it runs
 * and is not listed, sends new addresses (IPC) to a running instance whose addresses changed, and restarts one
 * whose entry, args or env changed. `generation` grows with every assignment the control server makes.
 */
export interface AssignmentMessage {
  type: 'agent.assignment'
  generation: number
  instances: ResolvedInstance[]
}

/** Runs a command on this host's instances (`instance` or every instance of `role`). */
export interface CommandMessage {
  type: 'agent.command'
  id: number
  op: 'start' | 'stop' | 'restart' | 'kill'
  instance?: string
  role?: string
}

/** Asks for an instance's log: the last `lines` lines, then, with `follow`, every new line until `logs.stop`. */
export interface LogsMessage {
  type: 'logs.request'
  id: number
  instance: string
  lines: number
  follow: boolean
}

/** Ends a following log request. */
export interface LogsStopMessage {
  type: 'logs.stop'
  id: number
}

/** What an agent sends. */
export type AgentMessage =
  | RegisterMessage
  | HeartbeatMessage
  | InstanceEventMessage
  | ResultMessage
  | LogDataMessage
/** What a control server sends. */
export type ControlMessage =
  | WelcomeMessage
  | RefusedMessage
  | HeartbeatMessage
  | AssignmentMessage
  | CommandMessage
  | LogsMessage
  | LogsStopMessage

/** Largest number of log lines one `logs.request` may ask for. */
export const MAX_LOG_LINES = 10_000

const isObj = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v)
const isStr = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= 256
const isInt = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0

/**
 * Why a received body is not a valid message of type `name`, or `undefined` when it is. Only the fields a
 * receiver reads are checked; extra fields are ignored (forward compatibility).
 */
export function invalidReason(name: string, body: unknown): string | undefined {
  if (!isObj(body)) return 'body must be a map'
  const b = body
  switch (name) {
    case 'agent.register':
      if (!isStr(b.host)) return 'host must be a non-empty string'
      if (b.address !== undefined && !isStr(b.address)) return 'address must be a string'
      if (!Array.isArray(b.allow) || !b.allow.every(isStr)) return 'allow must be a list of role names'
      if (!isInt(b.pid) || !isInt(b.version) || !isStr(b.session))
        return 'pid, version and session are required'
      if (!Array.isArray(b.instances) || b.instances.length > 10_000 || !b.instances.every(isReport))
        return 'instances must be a list of instance reports'
      return undefined
    case 'agent.heartbeat':
      return typeof b.at === 'number' ? undefined : 'at must be a number'
    case 'instance.event':
      if (!isStr(b.instance) || !isStr(b.role)) return 'instance and role are required'
      if (!['up', 'down', 'restart', 'failed', 'stopped'].includes(b.event as string)) return 'unknown event'
      return typeof b.at === 'number' ? undefined : 'at must be a number'
    case 'agent.result':
      return isInt(b.id) && typeof b.ok === 'boolean' ? undefined : 'id and ok are required'
    case 'logs.data':
      return isInt(b.id) && Array.isArray(b.lines) && typeof b.done === 'boolean'
        ? undefined
        : 'id, lines and done are required'
    case 'agent.welcome':
      return isStr(b.app) && isInt(b.heartbeatIntervalMs) && isInt(b.heartbeatTimeoutMs)
        ? undefined
        : 'app, heartbeatIntervalMs and heartbeatTimeoutMs are required'
    case 'agent.refused':
      return typeof b.reason === 'string' ? undefined : 'reason is required'
    case 'agent.assignment':
      return isInt(b.generation) && Array.isArray(b.instances) && b.instances.every(isInstance)
        ? undefined
        : 'generation and instances (resolved instances) are required'
    case 'agent.command':
      if (!isInt(b.id) || !['start', 'stop', 'restart', 'kill'].includes(b.op as string))
        return 'id and op are required'
      return isStr(b.instance) || isStr(b.role) ? undefined : 'instance or role is required'
    case 'logs.request':
      return isInt(b.id) && isStr(b.instance) && isInt(b.lines) && typeof b.follow === 'boolean'
        ? undefined
        : 'id, instance, lines and follow are required'
    case 'logs.stop':
      return isInt(b.id) ? undefined : 'id is required'
    default:
      return `unknown message "${name}"`
  }
}

function isReport(v: unknown): boolean {
  return isObj(v) && isStr(v.instance) && isStr(v.role) && typeof v.state === 'string'
}

function isAddresses(v: unknown): v is ResolvedAddresses {
  return (
    isObj(v) &&
    isObj(v.bind) &&
    isObj(v.connect) &&
    Object.values(v.bind).every((a) => typeof a === 'string') &&
    Object.values(v.connect).every((l) => Array.isArray(l) && l.every((a) => typeof a === 'string'))
  )
}

function isInstance(v: unknown): boolean {
  return (
    isObj(v) &&
    isStr(v.app) &&
    isStr(v.role) &&
    isStr(v.instance) &&
    isStr(v.host) &&
    typeof v.entry === 'string' &&
    Array.isArray(v.args) &&
    isObj(v.env) &&
    isObj(v.restart) &&
    isAddresses(v.addresses)
  )
}
