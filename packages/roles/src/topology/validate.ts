import { createRequire } from 'node:module'
import type { Ajv as AjvClass, ErrorObject, ValidateFunction } from 'ajv'
import { TopologyError } from '../errors.js'
import { hasOpenPort, offsetAddress, parseAddress, portKey } from './address.js'
import { LOCAL_ADDRESS, LOCAL_HOST, type Topology } from './types.js'

const NAME = '^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$'
const BIND_NAME = '^[A-Za-z_][A-Za-z0-9_-]{0,62}$'
const ENV_NAME = '^[A-Za-z_][A-Za-z0-9_]*$'

const RESTART_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    policy: { enum: ['always', 'on-failure', 'never'] },
    minDelayMs: { type: 'integer', minimum: 0 },
    factor: { type: 'number', minimum: 1 },
    maxDelayMs: { type: 'integer', minimum: 0 },
    resetAfterMs: { type: 'integer', minimum: 0 },
    maxRestarts: { type: 'integer', minimum: 0 },
    withinMs: { type: 'integer', minimum: 1 },
    stopTimeoutMs: { type: 'integer', minimum: 0 },
  },
} as const

/** JSON Schema of a topology file (checked with Ajv before the semantic checks). */
export const TOPOLOGY_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'roles'],
  properties: {
    name: { type: 'string', pattern: NAME },
    control: { type: 'string', minLength: 1 },
    roles: {
      type: 'object',
      minProperties: 1,
      propertyNames: { pattern: NAME },
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        required: ['entry'],
        properties: {
          entry: { type: 'string', minLength: 1 },
          instances: { type: 'integer', minimum: 1 },
          min: { type: 'integer', minimum: 0 },
          max: { type: 'integer', minimum: 1 },
          args: { type: 'array', items: { type: 'string' } },
          env: {
            type: 'object',
            propertyNames: { pattern: ENV_NAME },
            additionalProperties: { type: ['string', 'number', 'boolean'] },
          },
          bind: {
            type: 'object',
            propertyNames: { pattern: BIND_NAME },
            additionalProperties: { type: 'string' },
          },
          connect: {
            type: 'object',
            propertyNames: { pattern: BIND_NAME },
            additionalProperties: { type: ['string', 'array'], items: { type: 'string' } },
          },
          restart: RESTART_SCHEMA,
        },
      },
    },
    hosts: {
      type: 'object',
      propertyNames: { pattern: NAME },
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        required: ['address', 'roles'],
        properties: {
          address: { type: 'string', minLength: 1 },
          roles: {
            type: ['object', 'array'],
            items: { type: 'string' },
            additionalProperties: { type: 'integer', minimum: 0 },
          },
          allow: { type: 'array', items: { type: 'string' } },
        },
      },
    },
    // Set by loadTopology; accepted so a loaded topology validates again.
    baseDir: { type: 'string' },
  },
} as const

// Compiled on first use: a role process imports this package for role() and must start fast.
const require = createRequire(import.meta.url)
let compiled: ValidateFunction<Topology> | undefined
function check(doc: unknown): doc is Topology {
  if (compiled === undefined) {
    const { Ajv } = require('ajv') as { Ajv: typeof AjvClass }
    compiled = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true }).compile<Topology>(
      TOPOLOGY_SCHEMA,
    )
  }
  return compiled(doc)
}

/** `/roles/worker/instances` → `roles.worker.instances`. */
function dotted(pointer: string): string {
  if (pointer === '') return 'topology'
  return pointer
    .slice(1)
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((p, i) => (/^\d+$/.test(p) ? `[${p}]` : i === 0 ? p : `.${p}`))
    .join('')
}

function schemaIssue(e: ErrorObject): string | undefined {
  const at = dotted(e.instancePath)
  const params = e.params as Record<string, unknown>
  if (e.keyword === 'propertyNames') return undefined // its nested error names the key
  if (e.propertyName !== undefined) {
    const what = e.instancePath.endsWith('/env')
      ? 'a variable name (letters, digits, _)'
      : /\/(bind|connect)$/.test(e.instancePath)
        ? 'an address name (letters, digits, _ and -)'
        : 'a name: lowercase letters, digits and "-", starting with a letter'
    return `${at}.${e.propertyName}: must be ${what}`
  }
  switch (e.keyword) {
    case 'required':
      return `${at}: missing "${params.missingProperty}"`
    case 'additionalProperties':
      return `${at}.${params.additionalProperty}: unknown key`
    case 'enum':
      return `${at} must be one of ${(params.allowedValues as string[]).join(', ')}`
    case 'pattern':
      return at === 'name'
        ? 'name must be lowercase letters, digits and "-", starting with a letter'
        : `${at} ${e.message}`
    case 'minProperties':
      return `${at} must declare at least one role`
    default:
      return `${at} ${e.message ?? e.keyword}`
  }
}

/** One role's instances on one host. */
export interface Placement {
  host: string
  hostAddress: string
  role: string
  count: number
}

/** Where the topology puts each role: per host, in the order hosts (then their roles) are declared. */
export function placements(topology: Topology): Placement[] {
  if (topology.hosts === undefined || Object.keys(topology.hosts).length === 0)
    return Object.entries(topology.roles).map(([role, spec]) => ({
      host: LOCAL_HOST,
      hostAddress: LOCAL_ADDRESS,
      role,
      count: spec.instances ?? 1,
    }))
  const out: Placement[] = []
  for (const [host, spec] of Object.entries(topology.hosts)) {
    const entries: [string, number][] = Array.isArray(spec.roles)
      ? spec.roles.map((r) => [r, topology.roles[r]?.instances ?? 1])
      : Object.entries(spec.roles)
    for (const [role, count] of entries) out.push({ host, hostAddress: spec.address, role, count })
  }
  return out
}

/**
 * A role's failover bounds: `placed` is how many instances the file places across all hosts; `min` and `max`
 * default to it.
 */
export function roleLimits(topology: Topology, role: string): { min: number; max: number; placed: number } {
  const spec = topology.roles[role]
  if (spec === undefined) throw new TopologyError([`role "${role}" is not declared`])
  const placed = placements(topology)
    .filter((p) => p.role === role)
    .reduce((n, p) => n + p.count, 0)
  return {
    min: spec.min ?? Math.min(placed, spec.max ?? placed),
    max: spec.max ?? Math.max(placed, spec.min ?? 0),
    placed,
  }
}

function semanticIssues(t: Topology): string[] {
  const issues: string[] = []
  const roles = t.roles
  for (const [name, spec] of Object.entries(roles)) {
    const at = `roles.${name}`
    for (const [bindName, address] of Object.entries(spec.bind ?? {}))
      if (parseAddress(address) === undefined)
        issues.push(
          `${at}.bind.${bindName}: "${address}" is not an address (scheme://host:port, ipc://path or inproc://name)`,
        )
    for (const [connectName, value] of Object.entries(spec.connect ?? {})) {
      const list = Array.isArray(value) ? value : [value]
      list.forEach((target, i) => {
        const where = `${at}.connect.${connectName}${Array.isArray(value) ? `[${i}]` : ''}`
        if (target.startsWith('role:')) {
          const m = /^role:([^/]+)\/(.+)$/.exec(target)
          if (!m) {
            issues.push(`${where}: "${target}" must be role:<role>/<bindName>`)
            return
          }
          const [, other, bindName] = m
          const target_ = roles[other]
          if (target_ === undefined) {
            issues.push(`${where}: unknown role "${other}"`)
            return
          }
          const bound = target_.bind?.[bindName]
          if (bound === undefined) {
            const names = Object.keys(target_.bind ?? {})
            issues.push(
              `${where}: role "${other}" binds no "${bindName}" (${names.length ? `it binds: ${names.join(', ')}` : 'it binds nothing'})`,
            )
            return
          }
          if (hasOpenPort(bound))
            issues.push(
              `${where}: roles.${other}.bind.${bindName} is "${bound}", an OS-chosen port; a role others connect to must bind a fixed port`,
            )
        } else if (parseAddress(target) === undefined) {
          issues.push(`${where}: "${target}" is neither role:<role>/<bindName> nor an address`)
        }
      })
    }
    if (spec.min !== undefined && spec.max !== undefined && spec.min > spec.max)
      issues.push(`${at}.min (${spec.min}) must be <= ${at}.max (${spec.max})`)
  }
  for (const [host, spec] of Object.entries(t.hosts ?? {})) {
    const listed = Array.isArray(spec.roles) ? spec.roles : Object.keys(spec.roles)
    const where = (r: string, i: number) =>
      Array.isArray(spec.roles) ? `hosts.${host}.roles[${i}]` : `hosts.${host}.roles.${r}`
    listed.forEach((r, i) => {
      if (roles[r] === undefined) issues.push(`${where(r, i)}: role "${r}" not declared`)
    })
    if (Array.isArray(spec.roles) && new Set(spec.roles).size !== spec.roles.length)
      issues.push(`hosts.${host}.roles: a role is listed twice`)
    ;(spec.allow ?? []).forEach((r, i) => {
      if (roles[r] === undefined) issues.push(`hosts.${host}.allow[${i}]: role "${r}" not declared`)
    })
  }
  if (issues.length > 0) return issues
  // Counts against max, and ports two instances on one host would both bind.
  for (const name of Object.keys(roles)) {
    const { placed, max } = roleLimits(t, name)
    if (placed > max) issues.push(`roles.${name}.max is ${max}, but the hosts place ${placed} instances`)
  }
  const taken = new Map<string, string>() // host + port → "role instance bind"
  for (const p of placements(t)) {
    for (let index = 0; index < p.count; index++)
      for (const [bindName, address] of Object.entries(roles[p.role].bind ?? {})) {
        const key = portKey(offsetAddress(address, index))
        if (key === undefined) continue
        const owner = `roles.${p.role}.bind.${bindName}${index > 0 ? ` (instance index ${index}: +${index})` : ''}`
        const prior = taken.get(`${p.host} ${key}`)
        if (prior !== undefined)
          issues.push(
            `${owner}: ${offsetAddress(address, index)} on host ${p.host} is also bound by ${prior}`,
          )
        else taken.set(`${p.host} ${key}`, owner)
      }
  }
  return issues
}

/**
 * Checks a parsed topology (from YAML, JSON or a module) against the schema and the semantic rules and
 * returns it typed. Throws {@link TopologyError} (`DD_ERR_TOPOLOGY`) listing every issue, each naming its path.
 */
export function validateTopology(doc: unknown, file?: string): Topology {
  if (!check(doc)) {
    const issues = [
      ...new Set((compiled?.errors ?? []).map(schemaIssue).filter((s): s is string => s !== undefined)),
    ]
    throw new TopologyError(issues.length > 0 ? issues : ['not a valid topology'], file)
  }
  const issues = semanticIssues(doc)
  if (issues.length > 0) throw new TopologyError(issues, file)
  return doc
}
