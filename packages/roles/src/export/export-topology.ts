import { isAbsolute, resolve } from 'node:path'
import { ExportError } from '../errors.js'
import type { Topology } from '../topology/types.js'
import { renderCompose } from './compose.js'
import { renderKubernetes } from './kubernetes.js'
import { planTopology } from './plan.js'
import { renderSystemd } from './systemd.js'
import { EXPORT_FORMATS, type ExportedFile, type ExportOptions, type FilledExportOptions } from './types.js'

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/

function fill(options: ExportOptions): FilledExportOptions {
  if (options === null || typeof options !== 'object')
    throw new ExportError('options must be an object with a format')
  if (!EXPORT_FORMATS.includes(options.format))
    throw new ExportError(
      `options.format must be one of ${EXPORT_FORMATS.join(', ')}, got "${String(options.format)}"`,
    )
  for (const key of ['image', 'root', 'workdir', 'namespace', 'node', 'user', 'outDir'] as const) {
    const value = options[key]
    if (value !== undefined && (typeof value !== 'string' || value.length === 0))
      throw new ExportError(`options.${key} must be a non-empty string`)
  }
  if (options.namespace !== undefined && !DNS_LABEL.test(options.namespace))
    throw new ExportError(
      `options.namespace must be a DNS label (lowercase letters, digits, "-"), got "${options.namespace}"`,
    )
  const root = resolve(options.root ?? process.cwd())
  const container = options.format !== 'systemd'
  const workdir = options.workdir ?? (container ? '/app' : root)
  if (!isAbsolute(workdir) || !workdir.startsWith('/'))
    throw new ExportError(`options.workdir must be an absolute path, got "${workdir}"`)
  const node = options.node ?? '/usr/bin/node'
  if (!node.startsWith('/')) throw new ExportError(`options.node must be an absolute path, got "${node}"`)
  return {
    format: options.format,
    image: options.image ?? 'node:20-slim',
    imageGiven: options.image !== undefined,
    root,
    workdir,
    namespace: options.namespace,
    node,
    user: options.user,
    outDir: resolve(options.outDir ?? root),
  }
}

/**
 * Renders a topology for an engine teams already run, so the same code runs there unchanged:
 *
 * - `kubernetes`: `kubernetes.yaml`, a Deployment per role (replicas = its instances; a StatefulSet with a
 *   headless Service when another role connects to each of its several instances) and a Service per role that
 *   binds network addresses, ports named after the bind names. `role:` connects resolve to Service DNS names.
 * - `compose`: `compose.yaml`, one service per role with `deploy.replicas`, its env, `depends_on` from its
 *   connects and its restart policy.
 * - `systemd`: per host, a template unit per role (`dripdrop-<app>-<role>@.service`) and a
 *   `dripdrop-<app>.target` wanting every instance the topology puts there.
 *
 * Every process gets the `DRIPDROP_*` variables `role()` reads. The topology is validated first
 * (`DD_ERR_TOPOLOGY`); what an engine cannot express is an {@link ExportError} (`DD_ERR_EXPORT`).
 *
 * @returns the files, paths relative to the output directory.
 * @example
 * ```ts
 * const topology = await loadTopology('topology.yaml')
 * for (const file of exportTopology(topology, { format: 'kubernetes', image: 'registry.example/shop:1.4' }))
 *   console.log(file.path, file.content.length)
 * ```
 */
export function exportTopology(topology: Topology, options: ExportOptions): ExportedFile[] {
  const filled = fill(options)
  const plan = planTopology(topology, filled.root)
  switch (filled.format) {
    case 'kubernetes':
      return renderKubernetes(plan, filled)
    case 'compose':
      return renderCompose(plan, filled)
    case 'systemd':
      return renderSystemd(plan, filled)
  }
}
