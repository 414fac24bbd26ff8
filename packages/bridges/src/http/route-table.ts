/**
 * An HTTP route table: `'METHOD /path/:param'` keys mapped to envelope names. Used by both sides: the server
 * finds a name from a request, the client finds a method and path from a name.
 */

/** `{ 'POST /jobs': 'job.create', 'GET /jobs/:id': 'job.get' }` */
export type RouteTable = Readonly<Record<string, string>>

/** One parsed entry. */
export interface RouteEntry {
  readonly method: string
  readonly pattern: string
  readonly name: string
  /** Path split on `/`; a segment starting with `:` is a parameter. */
  readonly segments: readonly string[]
}

/** A match: the envelope name and the path parameters. */
export interface RouteMatch {
  name: string
  params: Record<string, string>
}

/** The `params` (and `query`) of a request that has none: shared, frozen. */
export const NO_PARAMS: Record<string, string> = Object.freeze({}) as Record<string, string>

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'])

/** Parses and validates a route table once; `path` names the option for error messages. */
export function parseRouteTable(table: unknown, path: string): RouteEntry[] {
  if (table === null || typeof table !== 'object' || Array.isArray(table)) {
    throw new TypeError(`${path} must be an object like { 'POST /jobs': 'job.create' }`)
  }
  const entries: RouteEntry[] = []
  for (const [key, name] of Object.entries(table)) {
    const m = /^([A-Z]+)\s+(\/\S*)$/.exec(key)
    if (!m || !METHODS.has(m[1])) {
      throw new TypeError(`${path}["${key}"]: keys must be "METHOD /path", e.g. "GET /jobs/:id"`)
    }
    if (typeof name !== 'string' || name === '') {
      throw new TypeError(`${path}["${key}"] must be a non-empty message name`)
    }
    entries.push({ method: m[1], pattern: m[2], name, segments: split(m[2]) })
  }
  return entries
}

function split(path: string): string[] {
  const parts = path.split('/')
  // '/jobs/' and '/jobs' are the same route.
  if (parts.length > 1 && parts[parts.length - 1] === '') parts.pop()
  return parts
}

/**
 * Finds the entry for a request. Returns the match, `'method'` when the path matches another method only
 * (405), or `undefined` (404). Exact segments win over parameters because entries are tried in table order
 * and static routes are sorted first.
 */
export class RouteMatcher {
  readonly #exact = new Map<string, RouteEntry & { match: RouteMatch }>()
  readonly #patterns: RouteEntry[] = []

  constructor(entries: readonly RouteEntry[]) {
    for (const e of entries) {
      if (e.segments.some((s) => s.startsWith(':'))) this.#patterns.push(e)
      // Static routes share one frozen match: no allocation per request.
      else
        this.#exact.set(`${e.method} ${e.segments.join('/')}`, {
          ...e,
          match: Object.freeze({ name: e.name, params: NO_PARAMS }),
        })
    }
  }

  match(method: string, pathname: string): RouteMatch | 'method' | undefined {
    // Fast path, no allocation but the key: a static route written the way the request spells it.
    const hit = this.#exact.get(`${method} ${pathname}`)
    if (hit !== undefined) return hit.match
    const segments = split(pathname)
    // HEAD is answered by a GET route, as every HTTP server does.
    const exact =
      this.#exact.get(`${method} ${segments.join('/')}`) ??
      (method === 'HEAD' ? this.#exact.get(`GET ${segments.join('/')}`) : undefined)
    if (exact) return exact.match
    let pathOnly = false
    for (const e of this.#patterns) {
      const params = matchSegments(e.segments, segments)
      if (params === undefined) continue
      if (e.method === method || (method === 'HEAD' && e.method === 'GET')) return { name: e.name, params }
      pathOnly = true
    }
    if (pathOnly) return 'method'
    for (const e of this.#exact.values()) if (e.segments.join('/') === segments.join('/')) return 'method'
    return undefined
  }
}

function matchSegments(
  pattern: readonly string[],
  path: readonly string[],
): Record<string, string> | undefined {
  if (pattern.length !== path.length) return undefined
  let params: Record<string, string> | undefined
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]
    if (p.startsWith(':')) {
      if (path[i] === '') return undefined
      let value: string
      try {
        value = decodeURIComponent(path[i])
      } catch {
        return undefined
      }
      params ??= {}
      params[p.slice(1)] = value
    } else if (p !== path[i]) return undefined
  }
  return params ?? {}
}

/** Fills a pattern's `:params` for the client side; a missing parameter is a `TypeError`. */
export function fillPath(entry: RouteEntry, params: Readonly<Record<string, unknown>> | undefined): string {
  if (!entry.segments.some((s) => s.startsWith(':'))) return entry.pattern
  return entry.segments
    .map((s) => {
      if (!s.startsWith(':')) return s
      const v = params?.[s.slice(1)]
      if (v === undefined || v === null || v === '') {
        throw new TypeError(`"${entry.method} ${entry.pattern}" needs head.params.${s.slice(1)}`)
      }
      return encodeURIComponent(String(v))
    })
    .join('/')
}
