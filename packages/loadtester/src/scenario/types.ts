/**
 * One request of a scenario file. `url` is absolute (`http://host:port/path?q`) or a path resolved against the
 * scenario's (or the run's) `target`.
 */
export interface RequestSpec {
  /** Name under which the request's stats are kept. Default: `METHOD path`. */
  name?: string
  /** HTTP method. @default 'GET' */
  method?: string
  url: string
  headers?: Record<string, string>
  /** A string is sent as is; any other JSON value is sent as JSON with `content-type: application/json`. */
  body?: unknown
  /** Relative weight among the scenario's requests. @default 1 */
  weight?: number
}

/** A scenario file's content (JSON or YAML). */
export interface ScenarioDocument {
  /** Base URL that relative `url`s resolve against; the run's `target` option overrides it. */
  target?: string
  requests: RequestSpec[]
}

/** What a scenario module's function receives for each request. */
export interface RequestContext {
  /** 0-based index of this request in the run (in this engine). */
  iteration: number
  /** A uniform random number in [0, 1) from the run's seeded generator. */
  random(): number
}

/** What a scenario module's function returns. `path` (or a full `url`) resolves against the target. */
export interface DynamicRequest {
  name?: string
  /** @default 'GET' */
  method?: string
  path?: string
  url?: string
  headers?: Record<string, string>
  body?: unknown
}

/** The JS/TS module form: `export default (ctx) => ({ method, path, body })`. */
export type RequestFactory = (ctx: RequestContext) => DynamicRequest

/** A scenario: weighted static requests, or a function that builds each request. */
export type Scenario =
  | { kind: 'requests'; target?: string; requests: readonly RequestSpec[] }
  | { kind: 'module'; target?: string; factory: RequestFactory }
