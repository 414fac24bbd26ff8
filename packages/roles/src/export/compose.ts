/**
 * Docker Compose: one service per role (`deploy.replicas` = its instances) on one network named after the
 * app, env and addresses, `depends_on` from the connects, restart policy and graceful stop from the role's.
 */
import { relative } from 'node:path'
import { stringify } from 'yaml'
import { ROLE_ENV } from '../protocol.js'
import {
  type AppPlan,
  bindPort,
  connectedRoles,
  containerBind,
  duration,
  ownEnv,
  type RolePlan,
  resolveConnects,
} from './plan.js'
import type { ExportedFile, FilledExportOptions } from './types.js'

/** Compose interpolates `$NAME` in every value: `$$` is a literal `$`. */
function literal(value: string): string {
  return value.replace(/\$/g, '$$$$')
}

/** Where `target` is reached on the app's network: per container when each instance needs its own address. */
function hostsOf(plan: AppPlan) {
  return (target: RolePlan): string[] =>
    target.addressedPerInstance
      ? // compose names a service's containers `<project>-<service>-<n>` and the network resolves those names;
        // the file fixes the project name to the app's.
        Array.from({ length: target.instances }, (_, i) => `${plan.app}-${target.role}-${i + 1}`)
      : [target.role]
}

function restartOf(role: RolePlan): string {
  const { policy, maxRestarts } = role.restart
  if (policy === 'always') return 'always'
  if (policy === 'never' || maxRestarts === 0) return 'no'
  return `on-failure:${maxRestarts}`
}

/**
 * `depends_on` edges from the connects, in role order, leaving out any edge that would close a cycle (compose
 * refuses cycles; ZeroMQ connects need no order, so the first-declared direction wins).
 */
function dependencies(plan: AppPlan): Map<string, string[]> {
  const deps = new Map<string, string[]>(plan.roles.map((r) => [r.role, []]))
  const reaches = (from: string, to: string, seen = new Set<string>()): boolean => {
    if (from === to) return true
    if (seen.has(from)) return false
    seen.add(from)
    return (deps.get(from) ?? []).some((d) => reaches(d, to, seen))
  }
  for (const role of plan.roles)
    for (const target of connectedRoles(plan, role))
      if (!reaches(target, role.role)) deps.get(role.role)?.push(target)
  return deps
}

/** The compose document for a plan, as a plain object. */
export function composeDocument(plan: AppPlan, options: FilledExportOptions): Record<string, unknown> {
  const services: Record<string, unknown> = {}
  const deps = dependencies(plan)
  for (const role of plan.roles) {
    const bind: Record<string, string> = {}
    for (const [name, address] of Object.entries(role.bind)) bind[name] = containerBind(address)
    const addresses = { bind, connect: resolveConnects(plan, role, hostsOf(plan)) }
    const environment: Record<string, string> = {}
    for (const [k, v] of ownEnv(role)) environment[k] = literal(v)
    environment[ROLE_ENV.app] = plan.app
    environment[ROLE_ENV.role] = role.role
    environment[ROLE_ENV.addresses] = literal(JSON.stringify(addresses))
    if (plan.control !== undefined) environment[ROLE_ENV.control] = literal(plan.control)
    const ports = Object.values(role.bind)
      .map(bindPort)
      .filter((p): p is number => p !== undefined)
    const dependsOn = deps.get(role.role) ?? []
    services[role.role] = {
      image: options.image,
      working_dir: options.workdir,
      ...(options.imageGiven
        ? {}
        : {
            volumes: [
              { type: 'bind', source: mountSource(options), target: options.workdir, read_only: true },
            ],
          }),
      // Replicas share one environment: the instance and host names come from the container's own hostname
      // (`$HOSTNAME`, set by Docker), as a pod's come from its name in Kubernetes.
      command: [
        'sh',
        '-c',
        `export ${ROLE_ENV.instance}="${role.role}-$$HOSTNAME" ${ROLE_ENV.host}="$$HOSTNAME"; exec node "$$@"`,
        role.role,
        ...[...role.nodeArgs, role.entry, ...role.args].map(literal),
      ],
      environment,
      ...(ports.length > 0 ? { expose: ports.map(String) } : {}),
      networks: [plan.app],
      ...(dependsOn.length > 0 ? { depends_on: dependsOn } : {}),
      restart: restartOf(role),
      // An init process as PID 1 (see kubernetes.ts: PID 1 has no default SIGTERM action), reaping zombies too.
      init: true,
      stop_signal: 'SIGTERM',
      stop_grace_period: duration(role.restart.stopTimeoutMs),
      deploy: { replicas: role.instances },
    }
  }
  return { name: plan.app, services, networks: { [plan.app]: {} } }
}

/** The app root as the compose file reaches it: relative to the file's directory. */
function mountSource(options: FilledExportOptions): string {
  const rel = relative(options.outDir, options.root).split('\\').join('/')
  if (rel === '') return '.'
  return rel.startsWith('.') || rel.startsWith('/') ? rel : `./${rel}`
}

function header(plan: AppPlan, options: FilledExportOptions): string {
  return [
    `# ${plan.app}: generated by \`dripdrop export --format compose\` from its topology file; edit that, then export again.`,
    options.imageGiven
      ? `# Image ${options.image} must hold the app at ${options.workdir} with its node_modules (tsx for .ts entries).`
      : `# The app root is mounted read-only at ${options.workdir} in ${options.image}: install its node_modules first.`,
    `# Keep the project name "${plan.app}" (no -p): connects to a role's several instances use its container names.`,
    "# Docker restarts with its own back-off (100 ms doubling); on-failure:N caps restarts at the role's maxRestarts.",
  ].join('\n')
}

/** Renders the plan as `compose.yaml`. */
export function renderCompose(plan: AppPlan, options: FilledExportOptions): ExportedFile[] {
  // YAML 1.1 quotes strings such as `no` (restart: "no"), which 1.1 readers would take for booleans.
  const body = stringify(composeDocument(plan, options), { version: '1.1', lineWidth: 0 })
  return [{ path: 'compose.yaml', content: `${header(plan, options)}\n${body}` }]
}
