import { readFile } from 'node:fs/promises'
import { extname, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { Ajv, type ErrorObject } from 'ajv'
import { parse as parseYaml, YAMLParseError } from 'yaml'
import { ScenarioError } from '../errors.js'
import type { RequestFactory, Scenario, ScenarioDocument } from './types.js'

/** JSON Schema of a scenario file (JSON or YAML), checked with Ajv. */
export const SCENARIO_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['requests'],
  properties: {
    target: { type: 'string', pattern: '^https?://' },
    requests: {
      type: 'array',
      minItems: 1,
      maxItems: 10_000,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['url'],
        properties: {
          name: { type: 'string', minLength: 1, maxLength: 200 },
          method: { type: 'string', pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$" },
          url: { type: 'string', minLength: 1 },
          headers: { type: 'object', additionalProperties: { type: 'string' } },
          body: {},
          weight: { type: 'number', exclusiveMinimum: 0 },
        },
      },
    },
  },
} as const

const ajv = new Ajv({ allErrors: false, strict: true })
const validate = ajv.compile<ScenarioDocument>(SCENARIO_SCHEMA)

function describe(e: ErrorObject): string {
  if (e.keyword === 'additionalProperties')
    return `unknown field "${(e.params as { additionalProperty: string }).additionalProperty}"`
  if (e.keyword === 'required')
    return `missing field "${(e.params as { missingProperty: string }).missingProperty}"`
  return e.message ?? e.keyword
}

/**
 * Validates a parsed scenario document (from JSON, YAML or code) and returns it as a {@link Scenario}.
 * Throws {@link ScenarioError} naming the path and the reason, e.g. `/requests/1/method: must match pattern …`.
 */
export function parseScenario(doc: unknown, file?: string): Scenario {
  if (!validate(doc)) {
    const e = (validate.errors ?? [])[0] as ErrorObject
    const path = e.instancePath
    throw new ScenarioError(`${path === '' ? '(root)' : path}: ${describe(e)}`, path, file)
  }
  doc.requests.forEach((r, i) => {
    if (!/^https?:\/\//.test(r.url) && !r.url.startsWith('/'))
      throw new ScenarioError(
        `/requests/${i}/url: must be an absolute http(s) URL or a path starting with "/", got "${r.url}"`,
        `/requests/${i}/url`,
        file,
      )
    if (!r.url.startsWith('/')) {
      try {
        new URL(r.url)
      } catch (err) {
        throw new ScenarioError(`/requests/${i}/url: not a URL: "${r.url}"`, `/requests/${i}/url`, file, err)
      }
    }
  })
  return {
    kind: 'requests',
    ...(doc.target === undefined ? {} : { target: doc.target }),
    requests: doc.requests,
  }
}

/**
 * Loads a scenario from a file: `.json`, `.yaml`/`.yml` (weighted requests, validated), or a module
 * (`.js`, `.mjs`, `.ts`, `.mts`) whose default export is a {@link RequestFactory} (TypeScript modules need a
 * loader: pass tsx's `tsImport` as `importModule`, or run Node with type stripping). A module may also export
 * `target`.
 *
 * @example
 * ```yaml
 * target: http://127.0.0.1:8080
 * requests:
 *   - { name: home, url: /, weight: 3 }
 *   - { name: login, method: POST, url: /login, body: { user: a } }
 * ```
 */
export async function loadScenario(
  file: string,
  options: {
    /** Imports a module scenario by file URL; the CLI passes tsx's `tsImport` for `.ts` files. @default import() */
    importModule?: (url: string) => Promise<unknown>
  } = {},
): Promise<Scenario> {
  const ext = extname(file).toLowerCase()
  if (['.js', '.mjs', '.cjs', '.ts', '.mts', '.cts'].includes(ext)) {
    let mod: { default?: unknown; target?: unknown }
    const url = pathToFileURL(resolve(file)).href
    try {
      mod = (await (options.importModule ?? ((u: string) => import(u)))(url)) as typeof mod
    } catch (err) {
      throw new ScenarioError(`cannot load the module: ${(err as Error).message}`, '', file, err)
    }
    // A module compiled as CommonJS (a .ts file outside an ESM package) arrives as { default: module.exports }.
    const inner = mod.default as { default?: unknown; target?: unknown } | undefined
    if (typeof mod.default !== 'function' && inner !== null && typeof inner === 'object') mod = inner
    if (typeof mod.default !== 'function')
      throw new ScenarioError('(root): the module must export a default function (ctx) => request', '', file)
    if (mod.target !== undefined && typeof mod.target !== 'string')
      throw new ScenarioError('/target: must be a string', '/target', file)
    return {
      kind: 'module',
      factory: mod.default as RequestFactory,
      ...(mod.target === undefined ? {} : { target: mod.target as string }),
    }
  }
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    throw new ScenarioError(`cannot read: ${(err as Error).message}`, '', file, err)
  }
  let doc: unknown
  try {
    doc = ext === '.json' ? JSON.parse(text) : parseYaml(text)
  } catch (err) {
    const where = err instanceof YAMLParseError ? ` (line ${err.linePos?.[0]?.line ?? '?'})` : ''
    throw new ScenarioError(
      `(root): not valid ${ext === '.json' ? 'JSON' : 'YAML'}${where}: ${(err as Error).message.split('\n')[0]}`,
      '',
      file,
      err,
    )
  }
  return parseScenario(doc, file)
}
