import type { Dispatcher } from 'undici'
import type { SerializedRequest } from '../engine/fast-client/fast-pool.js'
import { serializeRequest } from '../engine/fast-client/serialize.js'
import { ScenarioError } from '../errors.js'
import type { DynamicRequest, RequestContext, RequestSpec, Scenario } from './types.js'

/** A request ready to dispatch: undici's options are built once per static request and reused. */
export interface PreparedRequest {
  name: string
  origin: string
  options: Dispatcher.DispatchOptions
  /** Bytes it holds (path, headers, body), what it costs to keep waiting in the backlog. */
  bytes: number
  /**
   * Static requests only: the bytes the fast client writes for it, or why the fast client does not cover it
   * (a string). Undefined for requests a scenario function builds (they always go through undici).
   */
  fast?: SerializedRequest | string
}

/** Picks or builds the next request of a run. */
export interface RequestSource {
  next(iteration: number): PreparedRequest
  /** The static requests (built once), or undefined when a scenario function builds each request. */
  readonly requests: readonly PreparedRequest[] | undefined
}

function encodeBody(body: unknown, headers: Record<string, string>): string | Buffer | undefined {
  if (body === undefined || body === null) return undefined
  if (typeof body === 'string') return body
  if (Buffer.isBuffer(body)) return body
  if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type'))
    headers['content-type'] = 'application/json'
  return Buffer.from(JSON.stringify(body))
}

function prepare(
  req: { name?: string; method?: string; url: string; headers?: Record<string, string>; body?: unknown },
  target: string | undefined,
  serialize = false,
): PreparedRequest {
  let url: URL
  try {
    url = req.url.startsWith('/') ? new URL(req.url, target) : new URL(req.url)
  } catch (err) {
    throw new ScenarioError(
      target === undefined && req.url.startsWith('/')
        ? `request "${req.url}" is a path and no target is set (give --url/target)`
        : `not a URL: "${req.url}"`,
      '',
      undefined,
      err,
    )
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new ScenarioError(`only http and https URLs are supported, got "${url.protocol}"`)
  const method = (req.method ?? 'GET').toUpperCase()
  const path = `${url.pathname}${url.search}`
  const headers: Record<string, string> = { ...req.headers }
  const body = encodeBody(req.body, headers)
  let bytes =
    path.length + (body === undefined ? 0 : typeof body === 'string' ? Buffer.byteLength(body) : body.length)
  for (const [k, v] of Object.entries(headers)) bytes += k.length + String(v).length
  const prepared: PreparedRequest = {
    name: req.name ?? `${method} ${url.pathname}`,
    origin: url.origin,
    bytes,
    options: {
      origin: url.origin,
      method: method as Dispatcher.HttpMethod,
      path,
      headers,
      body: body ?? null,
    },
  }
  if (serialize) prepared.fast = serializeRequest(url, method, path, headers, body)
  return prepared
}

/** Weighted choice among static requests (cumulative weights, binary search). */
class WeightedSource implements RequestSource {
  readonly #requests: PreparedRequest[]
  readonly #cumulative: number[]
  readonly #random: () => number

  constructor(specs: readonly RequestSpec[], target: string | undefined, random: () => number) {
    this.#requests = specs.map((s) => prepare(s, target, true))
    let sum = 0
    this.#cumulative = specs.map((s) => (sum += s.weight ?? 1))
    this.#random = random
  }

  get requests(): readonly PreparedRequest[] {
    return this.#requests
  }

  next(): PreparedRequest {
    if (this.#requests.length === 1) return this.#requests[0] as PreparedRequest
    const total = this.#cumulative[this.#cumulative.length - 1] as number
    const x = this.#random() * total
    let lo = 0
    let hi = this.#cumulative.length - 1
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if ((this.#cumulative[mid] as number) > x) hi = mid
      else lo = mid + 1
    }
    return this.#requests[lo] as PreparedRequest
  }
}

class FactorySource implements RequestSource {
  readonly requests = undefined
  readonly #factory: (ctx: RequestContext) => DynamicRequest
  readonly #target: string | undefined
  readonly #random: () => number

  constructor(
    factory: (ctx: RequestContext) => DynamicRequest,
    target: string | undefined,
    random: () => number,
  ) {
    this.#factory = factory
    this.#target = target
    this.#random = random
  }

  next(iteration: number): PreparedRequest {
    const r = this.#factory({ iteration, random: this.#random })
    if (r === null || typeof r !== 'object')
      throw new ScenarioError('the scenario function must return an object')
    const url = r.url ?? r.path
    if (typeof url !== 'string') throw new ScenarioError('the scenario function returned no "path" or "url"')
    return prepare({ ...r, url }, this.#target)
  }
}

/** Compiles a scenario into a request source; `target` (the run's) overrides the scenario's. */
export function requestSource(
  scenario: Scenario,
  target: string | undefined,
  random: () => number,
): RequestSource {
  const base = target ?? scenario.target
  return scenario.kind === 'requests'
    ? new WeightedSource(scenario.requests, base, random)
    : new FactorySource(scenario.factory, base, random)
}

/** A seeded uniform generator in [0, 1) (mulberry32): runs are reproducible given `seed`. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
