import { readFile } from 'node:fs/promises'
import { dirname, extname, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { TopologyError } from '../errors.js'
import type { Topology } from './types.js'
import { validateTopology } from './validate.js'

const MODULES = ['.js', '.mjs', '.cjs', '.ts', '.mts', '.cts']

/**
 * Reads a topology file — `.yaml`/`.yml`, `.json`, or a module (`.ts`, `.mts`, `.js`, `.mjs`) whose default
 * export is the topology (TypeScript through tsx) — validates it, and returns it with `baseDir` set to the
 * file's directory (entries are relative to it).
 *
 * Throws {@link TopologyError} (`DD_ERR_TOPOLOGY`): the file cannot be read or parsed, or each issue found.
 *
 * @example
 * ```ts
 * const topology = await loadTopology('deploy/shop.yaml')
 * for (const i of resolveTopology(topology)) console.log(i.instance, i.addresses)
 * ```
 */
export async function loadTopology(file: string): Promise<Topology> {
  const path = resolve(file)
  const ext = extname(path).toLowerCase()
  let doc: unknown
  if (MODULES.includes(ext)) {
    let mod: { default?: unknown }
    try {
      const url = pathToFileURL(path).href
      // Loaded on demand: tsx and yaml are heavy for a role process that only calls role().
      const load = ext.endsWith('ts') ? (await import('tsx/esm/api')).tsImport : (u: string) => import(u)
      mod = (await load(url, import.meta.url)) as typeof mod
    } catch (err) {
      throw new TopologyError([`cannot load the module: ${(err as Error).message.split('\n')[0]}`], file, err)
    }
    // A module compiled as CommonJS arrives as { default: module.exports }.
    const inner = mod.default as { default?: unknown } | undefined
    doc =
      inner !== null && typeof inner === 'object' && 'default' in inner && !('roles' in inner)
        ? inner.default
        : inner
    if (doc === undefined)
      throw new TopologyError(
        ['the module has no default export (export default defineTopology({ … }))'],
        file,
      )
  } else {
    let text: string
    try {
      text = await readFile(path, 'utf8')
    } catch (err) {
      throw new TopologyError([`cannot read: ${(err as Error).message}`], file, err)
    }
    const { parse: parseYaml, YAMLParseError } = await import('yaml')
    try {
      doc = ext === '.json' ? JSON.parse(text) : parseYaml(text)
    } catch (err) {
      const where = err instanceof YAMLParseError ? ` (line ${err.linePos?.[0]?.line ?? '?'})` : ''
      const kind = ext === '.json' ? 'JSON' : 'YAML'
      throw new TopologyError(
        [`not valid ${kind}${where}: ${(err as Error).message.split('\n')[0]}`],
        file,
        err,
      )
    }
  }
  // Validate a copy: a module's object stays the author's.
  const topology = validateTopology(structuredClone(doc), file)
  topology.baseDir = dirname(path)
  return topology
}
