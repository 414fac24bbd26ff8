import * as zmq from 'zeromq'
import { z85Encode } from './z85.js'

/** Where libzmq looks for the ZAP handler of a context (ZeroMQ RFC 27/ZAP). */
export const ZAP_ENDPOINT = 'inproc://zeromq.zap.01'

/** A client refused by an allow-list, kept for the route's `route:error` message. */
export interface Refusal {
  /** The client's public key (Z85). */
  clientKey: string | undefined
  /** The client's IP address as libzmq reports it. */
  address: string
  /** Why, as sent back in the ZAP reply. */
  reason: string
}

interface Domain {
  allow: (key: string) => boolean
  source: unknown
  refs: number
  refusals: Refusal[]
}

const REFUSALS_KEPT = 32
const dec = new TextDecoder()

/**
 * The process's ZAP handler: a ROUTER bound at `inproc://zeromq.zap.01` in zeromq.js's default context, shared
 * by every CURVE route of the process, each with the allow-list of its ZAP domain. zeromq.js ships no ZAP
 * handler, and libzmq asks the handler about every CURVE handshake of every socket in the context once one is
 * bound, so a domain nobody registered is answered 200 (the socket has no allow-list: as without a handler).
 *
 * Bound while at least one domain is registered; unbound when the last route releases it.
 */
class ZapHandler {
  readonly #domains = new Map<string, Domain>()
  #socket: zmq.Router | undefined
  #loop: Promise<void> | undefined
  // Serialises bind and unbind: a route that starts while the last one closes waits for the unbind.
  #turn: Promise<void> = Promise.resolve()

  /** Registers `domain` with its allow-list; binds the handler first when it is not bound. */
  acquire(domain: string, allow: (key: string) => boolean, source: unknown): Promise<void> {
    const run = this.#turn.then(async () => {
      const known = this.#domains.get(domain)
      if (known !== undefined) {
        if (known.source !== source)
          throw new TypeError(
            `ZAP domain "${domain}" is already used by a route with another allow-list (give routes that share a zapDomain the same curve options)`,
          )
        known.refs++
        return
      }
      if (this.#socket === undefined) {
        const socket = new zmq.Router({ linger: 0 })
        // A handler just released may still hold the inproc endpoint (libzmq frees it when its reaper
        // has closed the socket, a moment after close()): retry a short while before giving up.
        for (let attempt = 0; ; attempt++) {
          try {
            await socket.bind(ZAP_ENDPOINT)
            break
          } catch (err) {
            if ((err as { code?: string }).code === 'EADDRINUSE' && attempt < 100) {
              await new Promise((r) => setTimeout(r, 10))
              continue
            }
            socket.close()
            throw new Error(
              `cannot bind the ZAP handler at ${ZAP_ENDPOINT} (another ZAP handler in this process?): ${(err as Error).message}`,
              { cause: err },
            )
          }
        }
        this.#socket = socket
        this.#loop = this.#serve(socket)
      }
      this.#domains.set(domain, { allow, source, refs: 1, refusals: [] })
    })
    this.#turn = run.catch(() => {})
    return run
  }

  /** Unregisters one use of `domain`; the last release unbinds the handler. */
  release(domain: string): Promise<void> {
    const run = this.#turn.then(async () => {
      const known = this.#domains.get(domain)
      if (known === undefined) return
      if (--known.refs > 0) return
      this.#domains.delete(domain)
      if (this.#domains.size > 0 || this.#socket === undefined) return
      const socket = this.#socket
      this.#socket = undefined
      // Wait for libzmq to release the endpoint, so that a route opened next can bind the handler again.
      let timer: NodeJS.Timeout | undefined
      const closed = new Promise<void>((resolve) => {
        socket.events.on('close', () => resolve())
        timer = setTimeout(resolve, 1000)
      })
      socket.close()
      await this.#loop
      await closed
      clearTimeout(timer)
    })
    this.#turn = run.catch(() => {})
    return run
  }

  /** The oldest refusal on `domain` not taken yet (the route reports it with the handshake failure). */
  takeRefusal(domain: string): Refusal | undefined {
    return this.#domains.get(domain)?.refusals.shift()
  }

  /** True while the handler is bound. */
  get bound(): boolean {
    return this.#socket !== undefined
  }

  async #serve(socket: zmq.Router): Promise<void> {
    for (;;) {
      let request: Buffer[]
      try {
        request = await socket.receive()
      } catch {
        if (socket.closed) return
        continue
      }
      try {
        const reply = this.#answer(request)
        if (reply !== undefined) await socket.send(reply)
      } catch {
        if (socket.closed) return
        // A reply that could not be sent: libzmq's handshake waits, then the peer's connection times out.
      }
    }
  }

  // RFC 27: [routing id, '', version, request id, domain, address, identity, mechanism, credentials…]
  // → [routing id, '', '1.0', request id, status code, status text, user id, metadata].
  #answer(request: Buffer[]): (Buffer | Uint8Array | string)[] | undefined {
    if (request.length < 9) return undefined
    const [routing, delimiter, version, requestId, domainBytes, addressBytes, , mechanismBytes] = request
    const reply = (code: string, text: string, userId = '') => [
      routing,
      delimiter,
      '1.0',
      requestId,
      code,
      text,
      userId,
      '',
    ]
    if (dec.decode(version) !== '1.0') return reply('500', 'unsupported ZAP version')
    const domain = this.#domains.get(dec.decode(domainBytes))
    if (domain === undefined) return reply('200', 'OK')
    const mechanism = dec.decode(mechanismBytes)
    const address = dec.decode(addressBytes)
    const credential = request[8]
    if (mechanism !== 'CURVE' || credential === undefined || credential.length !== 32) {
      refuse(domain, { clientKey: undefined, address, reason: `mechanism ${mechanism} is not allowed` })
      return reply('400', 'CURVE required')
    }
    const key = z85Encode(credential)
    let allowed = false
    try {
      allowed = domain.allow(key) === true
    } catch {
      // A throwing allow function refuses.
    }
    if (!allowed) {
      refuse(domain, { clientKey: key, address, reason: 'client key is not on the allow-list' })
      return reply('400', 'client key not allowed')
    }
    return reply('200', 'OK', key)
  }
}

function refuse(domain: Domain, refusal: Refusal): void {
  if (domain.refusals.length >= REFUSALS_KEPT) domain.refusals.shift()
  domain.refusals.push(refusal)
}

/** The one ZAP handler of this process. */
export const zapHandler = new ZapHandler()
