import { DripdropError } from '@dripdrop/codec'

export { DecodeError, DripdropError, EncodeError } from '@dripdrop/codec'

/**
 * A request got no reply in time (`DD_ERR_TIMEOUT`). `timeoutMs` is the limit that passed.
 */
export class TimeoutError extends DripdropError {
  readonly timeoutMs: number
  constructor(message: string, timeoutMs: number) {
    super(message, 'DD_ERR_TIMEOUT')
    this.timeoutMs = timeoutMs
  }
}

/** The route or node is closing or closed and takes no new work (`DD_ERR_CLOSED`). */
export class ClosedError extends DripdropError {
  constructor(message: string) {
    super(message, 'DD_ERR_CLOSED')
  }
}

/** Work was dropped by `destroy()` (`DD_ERR_DESTROYED`). */
export class DestroyedError extends DripdropError {
  constructor(message: string) {
    super(message, 'DD_ERR_DESTROYED')
  }
}

/** An `AbortSignal` ended the operation (`DD_ERR_ABORTED`); the signal's reason is the `cause`. */
export class AbortError extends DripdropError {
  constructor(message: string, cause?: unknown) {
    super(message, 'DD_ERR_ABORTED', { cause })
  }
}

/** No handler for a message name, and no catch-all (`DD_ERR_NO_HANDLER`). */
export class NoHandlerError extends DripdropError {
  constructor(message: string) {
    super(message, 'DD_ERR_NO_HANDLER')
  }
}

/** No transport is registered for an address scheme, or it cannot open that route type (`DD_ERR_NO_TRANSPORT`). */
export class NoTransportError extends DripdropError {
  constructor(message: string) {
    super(message, 'DD_ERR_NO_TRANSPORT')
  }
}

/**
 * The route's transport cannot do what was asked at run time, e.g. `route.connect()` on a transport whose
 * sockets have fixed peers (`DD_ERR_UNSUPPORTED`).
 */
export class UnsupportedError extends DripdropError {
  constructor(message: string) {
    super(message, 'DD_ERR_UNSUPPORTED')
  }
}

/** Another socket already binds this address (`DD_ERR_ADDRESS_IN_USE`). */
export class AddressInUseError extends DripdropError {
  constructor(message: string, cause?: unknown) {
    super(message, 'DD_ERR_ADDRESS_IN_USE', { cause })
  }
}

/** A transport failed to bind, connect, send or receive (`DD_ERR_TRANSPORT`); the underlying error is the `cause`. */
export class TransportError extends DripdropError {
  constructor(message: string, cause?: unknown, code = 'DD_ERR_TRANSPORT') {
    super(message, code, { cause })
  }
}

/**
 * A reply (on `rep`, `router`) or a raw `sendTo()` named a peer that is not connected any more
 * (`DD_ERR_UNROUTABLE`). The envelope is dropped and counted in `stats.dropped`; the route keeps serving.
 */
export class UnroutableError extends TransportError {
  constructor(message: string, cause?: unknown) {
    super(message, cause, 'DD_ERR_UNROUTABLE')
  }
}

/** The wire form of an error, sent as the body of an error reply (head `$err: true`). */
export interface ErrorBody {
  name: string
  code: string
  message: string
  stack?: string
  /** Extra fields of the thrown error that are plain data (e.g. `status`). */
  data?: Record<string, unknown>
}

/**
 * A handler on the other side failed. `code`, `name` and `message` are the remote error's own; a remote error
 * without a code arrives as `DD_ERR_HANDLER`. The remote stack is in `remoteStack` and appended to `stack`.
 */
export class RemoteError extends DripdropError {
  readonly remoteName: string
  readonly remoteStack: string | undefined
  readonly data: Record<string, unknown> | undefined

  constructor(body: ErrorBody) {
    super(body.message, body.code || 'DD_ERR_HANDLER')
    this.remoteName = body.name || 'Error'
    this.remoteStack = body.stack
    this.data = body.data
    if (body.stack) this.stack = `${this.stack}\n    --- remote stack ---\n${body.stack}`
  }

  override get name(): string {
    return this.remoteName
  }
}

/** Turns anything a handler throws into the wire form of an error. */
export function toErrorBody(err: unknown, includeStack: boolean): ErrorBody {
  if (err instanceof Error) {
    const raw = (err as unknown as { code?: unknown }).code
    const code = typeof raw === 'string' ? raw : 'DD_ERR_HANDLER'
    const body: ErrorBody = {
      name: typeof err.name === 'string' ? err.name : 'Error',
      code,
      message: typeof err.message === 'string' ? err.message : safeString(err.message),
    }
    if (includeStack && typeof err.stack === 'string') body.stack = err.stack
    const data = (err as { data?: unknown }).data
    if (data !== null && typeof data === 'object' && !Array.isArray(data))
      body.data = data as Record<string, unknown>
    return body
  }
  // Handlers may throw anything: a string, null, a plain object (with a code of its own, or a null prototype
  // that String() cannot convert).
  if (err !== null && typeof err === 'object') {
    const o = err as { code?: unknown; message?: unknown; name?: unknown }
    return {
      name: typeof o.name === 'string' ? o.name : 'Error',
      code: typeof o.code === 'string' ? o.code : 'DD_ERR_HANDLER',
      message: typeof o.message === 'string' ? o.message : safeString(err),
    }
  }
  return { name: 'Error', code: 'DD_ERR_HANDLER', message: typeof err === 'string' ? err : String(err) }
}

function safeString(value: unknown): string {
  try {
    return String(value)
  } catch {
    return Object.prototype.toString.call(value)
  }
}

/** Reads an error body from the wire, tolerating a peer that sends something else. */
export function fromErrorBody(body: unknown): RemoteError {
  if (body !== null && typeof body === 'object' && !Array.isArray(body)) {
    const b = body as Partial<ErrorBody>
    return new RemoteError({
      name: typeof b.name === 'string' ? b.name : 'Error',
      code: typeof b.code === 'string' ? b.code : 'DD_ERR_HANDLER',
      message: typeof b.message === 'string' ? b.message : 'remote error',
      stack: typeof b.stack === 'string' ? b.stack : undefined,
      data: b.data !== null && typeof b.data === 'object' ? (b.data as Record<string, unknown>) : undefined,
    })
  }
  return new RemoteError({ name: 'Error', code: 'DD_ERR_HANDLER', message: String(body) })
}
