import { type Codec, DecodeError, type Envelope } from '@dripdrop/codec'
import { PROTOCOL_VERSION, type PoolMessage, type WorkerMessage } from './protocol.js'

// The network form of protocol.ts: one msgpack envelope per ZeroMQ frame, `name` = message type, head `{ v }`,
// body = the message's fields (see docs/protocol.md §10 for the bytes).

const HEAD = Object.freeze({ v: PROTOCOL_VERSION })

/** Encodes a message into one frame. Throws `EncodeError` only. */
export function encodeMessage(codec: Codec, msg: PoolMessage | WorkerMessage): Uint8Array {
  return codec.encode(toEnvelope(msg))
}

/** A message as a dripdrop envelope (what a route sends). */
export function toEnvelope(msg: PoolMessage | WorkerMessage): Envelope {
  switch (msg.type) {
    case 'hello':
      return { name: 'hello', head: { v: msg.v }, body: { slots: msg.slots, tasks: msg.tasks, pid: msg.pid } }
    case 'welcome':
      return { name: 'welcome', head: HEAD, body: { heartbeatMs: msg.heartbeatMs } }
    case 'refuse':
      return { name: 'refuse', head: HEAD, body: { code: msg.code, message: msg.message } }
    case 'run':
      return { name: 'run', head: HEAD, body: msg.tasks }
    case 'cancel':
      return { name: 'cancel', head: HEAD, body: msg.ids }
    case 'done':
      return { name: 'done', head: HEAD, body: msg.results }
    case 'ping':
    case 'bye':
      return { name: msg.type, head: HEAD, body: null }
  }
}

function shape(message: string, bytes: number): never {
  throw new DecodeError(message, 'DD_ERR_DECODE_SHAPE', bytes)
}

/**
 * Decodes one frame into a message. A `hello` of another version decodes (so the pool can refuse it with a
 * reason); any other message of another version throws `DD_ERR_DECODE_VERSION`. Throws `DecodeError` only.
 */
export function decodeMessage(codec: Codec, frame: Uint8Array): PoolMessage | WorkerMessage {
  return fromEnvelope(codec.decode(frame), frame.byteLength)
}

/**
 * A decoded envelope as a message (what a route's handler gets), with the same checks as {@link decodeMessage};
 * `n` is the frame's size for error reports (0 when unknown). Throws `DecodeError` only.
 */
export function fromEnvelope(env: Envelope, n: number): PoolMessage | WorkerMessage {
  const v = env.head.v
  const body = env.body as Record<string, unknown> | unknown[] | null
  if (env.name === 'hello') {
    const b = body as Record<string, unknown>
    if (b === null || typeof b !== 'object' || Array.isArray(b)) return shape('hello body must be a map', n)
    const slots = b.slots
    if (!Number.isSafeInteger(slots) || (slots as number) < 1) return shape('hello.slots must be >= 1', n)
    const tasks = Array.isArray(b.tasks) ? b.tasks.filter((t): t is string => typeof t === 'string') : []
    return {
      type: 'hello',
      v: typeof v === 'number' ? v : -1,
      slots: slots as number,
      tasks,
      pid: Number(b.pid) || 0,
    }
  }
  if (v !== PROTOCOL_VERSION) {
    throw new DecodeError(
      `protocol version ${String(v)}, this peer speaks ${PROTOCOL_VERSION}`,
      'DD_ERR_DECODE_VERSION',
      n,
    )
  }
  switch (env.name) {
    case 'welcome': {
      const hb = (body as Record<string, unknown> | null)?.heartbeatMs
      if (typeof hb !== 'number' || !(hb > 0)) return shape('welcome.heartbeatMs must be > 0', n)
      return { type: 'welcome', v, heartbeatMs: hb }
    }
    case 'refuse': {
      const b = (body ?? {}) as Record<string, unknown>
      return { type: 'refuse', v, code: String(b.code), message: String(b.message) }
    }
    case 'run':
      if (!Array.isArray(body) || body.length % 3 !== 0) return shape('run body must be [id, name, args]*', n)
      return { type: 'run', tasks: body }
    case 'done':
      if (!Array.isArray(body) || body.length % 3 !== 0)
        return shape('done body must be [id, status, value]*', n)
      return { type: 'done', results: body }
    case 'cancel':
      if (!Array.isArray(body)) return shape('cancel body must be an array of ids', n)
      return { type: 'cancel', ids: body as number[] }
    case 'ping':
    case 'bye':
      return { type: env.name }
    default:
      return shape(`unknown message ${JSON.stringify(env.name)}`, n)
  }
}
