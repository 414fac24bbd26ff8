import { randomBytes } from 'node:crypto'
import { type Codec, DecodeError, MsgpackCodec } from '@dripdrop/codec'
import { Queue } from '@dripdrop/core/internal'
import { Router } from 'zeromq'
import type { Engine, Job, Link } from './engine.js'
import { PROTOCOL_VERSION, type PoolMessage, STATUS_ERROR } from './protocol.js'
import { decodeMessage, encodeMessage } from './wire.js'

/** What the listener tells its owner. */
export interface ListenerEvents {
  up(id: string): void
  down(id: string, cause: unknown): void
  frameError(err: unknown): void
}

/** One remote worker process as the pool sees it. Internal. */
class RemoteLink implements Link {
  readonly id: string
  readonly slots: number
  readonly inFlight = new Map<number, Job>()
  lastUsed = 0
  lastSeen = Date.now()
  readonly peer: Buffer
  readonly #listener: RemoteListener
  #out: unknown[] = []

  constructor(peer: Buffer, slots: number, listener: RemoteListener) {
    this.peer = peer
    this.id = `remote:${peer.toString('hex')}`
    this.slots = slots
    this.#listener = listener
  }

  push(job: Job): void {
    // Throws EncodeError: the engine fails this one task.
    const args = this.#listener.codec.encodeValue(job.args)
    this.#out.push(job.id, job.name, args)
  }

  flush(): void {
    const tasks = this.#out
    this.#out = []
    this.#listener.send(this.peer, { type: 'run', tasks })
  }

  cancel(job: Job): void {
    this.#listener.send(this.peer, { type: 'cancel', ids: [job.id] })
  }
}

/**
 * The pool's ZeroMQ ROUTER socket: accepts remote workers (hello/welcome), keeps them alive with heartbeats both
 * ways, turns their frames into engine results. Raw zeromq v6 sockets, see the package README for why.
 */
export class RemoteListener {
  readonly codec: Codec
  readonly #engine: Engine
  readonly #events: ListenerEvents
  readonly #router: Router
  readonly #links = new Map<string, RemoteLink>()
  readonly #outbox = new Queue<[Buffer, Uint8Array]>()
  readonly #heartbeatMs: number
  readonly #misses: number
  #writing = false
  #closed = false
  #timer: NodeJS.Timeout | undefined
  #endpoint = ''

  constructor(
    engine: Engine,
    events: ListenerEvents,
    heartbeatMs: number,
    misses: number,
    maxMessageBytes: number,
  ) {
    this.#engine = engine
    this.#events = events
    this.#heartbeatMs = heartbeatMs
    this.#misses = misses
    this.codec = new MsgpackCodec({ maxMessageBytes })
    this.#router = new Router({
      routingId: `pool-${randomBytes(6).toString('hex')}`,
      // Long enough for the byes of close() to leave, short enough not to hold a process at exit.
      linger: 200,
      sendHighWaterMark: 100_000,
      receiveHighWaterMark: 100_000,
      maxMessageSize: maxMessageBytes + 64,
    })
  }

  /** The bound address, with the OS-assigned port filled in. */
  get endpoint(): string {
    return this.#endpoint
  }

  /** Remote workers connected now. */
  get size(): number {
    return this.#links.size
  }

  async bind(address: string): Promise<void> {
    await this.#router.bind(address)
    this.#endpoint = this.#router.lastEndpoint ?? address
    this.#timer = setInterval(() => this.#beat(), this.#heartbeatMs)
    void this.#read()
  }

  /** Queues a message to a peer; one send is in flight at a time (zeromq v6 allows no more). */
  send(peer: Buffer, msg: PoolMessage): void {
    if (this.#closed) return
    this.#outbox.push([peer, encodeMessage(this.codec, msg)])
    if (!this.#writing) void this.#write()
  }

  /** Says bye to every worker and closes the socket. */
  async close(): Promise<void> {
    if (this.#closed) return
    for (const link of this.#links.values()) this.send(link.peer, { type: 'bye' })
    // Let the byes leave before the socket goes.
    while (this.#writing) await new Promise((r) => setImmediate(r))
    this.#closed = true
    clearInterval(this.#timer)
    // Wait for the listening socket's `close` event: the port is freed a little after close() returns, and a
    // pool restarted on the same address would find it in use. (Not unbind(): unbinding with workers connected
    // trips a libzmq 4.3.5 assertion in pipe.cpp that aborts the process.)
    let timer: NodeJS.Timeout | undefined
    const released = new Promise<void>((resolve) => {
      this.#router.events.on('close', () => resolve())
      timer = setTimeout(resolve, 1000)
    })
    this.#router.close()
    await released
    clearTimeout(timer)
  }

  async #write(): Promise<void> {
    this.#writing = true
    while (this.#outbox.length > 0 && !this.#closed) {
      try {
        await this.#router.send(this.#outbox.shift())
      } catch (err) {
        if (!this.#closed) this.#events.frameError(err)
      }
    }
    this.#writing = false
  }

  async #read(): Promise<void> {
    try {
      for await (const [peer, frame] of this.#router) this.#receive(peer, frame)
    } catch (err) {
      if (!this.#closed) this.#events.frameError(err)
    }
  }

  #receive(peer: Buffer, frame: Buffer | undefined): void {
    let msg: ReturnType<typeof decodeMessage>
    try {
      if (frame === undefined) throw new DecodeError('empty message', 'DD_ERR_DECODE_TRUNCATED', 0)
      msg = decodeMessage(this.codec, frame)
    } catch (err) {
      this.#engine.badFrames++
      this.#events.frameError(err)
      return
    }
    const key = peer.toString('hex')
    const link = this.#links.get(key)
    if (msg.type === 'hello') {
      if (msg.v !== PROTOCOL_VERSION) {
        this.#engine.badFrames++
        const message = `worker speaks protocol version ${msg.v}, this pool speaks ${PROTOCOL_VERSION}`
        this.send(peer, { type: 'refuse', v: PROTOCOL_VERSION, code: 'DD_ERR_PROTOCOL_VERSION', message })
        return
      }
      this.send(peer, { type: 'welcome', v: PROTOCOL_VERSION, heartbeatMs: this.#heartbeatMs })
      if (link !== undefined) return // a repeated hello: already in
      const fresh = new RemoteLink(Buffer.from(peer), msg.slots, this)
      this.#links.set(key, fresh)
      this.#engine.addLink(fresh)
      this.#events.up(fresh.id)
      return
    }
    if (link === undefined) {
      // A worker of a previous pool on this address: make it say hello again.
      this.#engine.badFrames++
      if (msg.type !== 'bye') this.send(peer, { type: 'bye' })
      return
    }
    link.lastSeen = Date.now()
    if (msg.type === 'done') this.#results(link, msg.results)
    else if (msg.type === 'bye') this.#drop(key, link, new Error(`${link.id} left`), false)
  }

  #results(link: RemoteLink, r: unknown[]): void {
    for (let i = 0; i < r.length; i += 3) {
      let status = r[i + 1] as number
      let value: unknown
      try {
        value = this.codec.decodeValue(r[i + 2] as Uint8Array)
      } catch (err) {
        status = STATUS_ERROR
        value = err
      }
      this.#engine.result(link, r[i] as number, status, value)
    }
  }

  #drop(key: string, link: RemoteLink, cause: unknown, charge: boolean): void {
    this.#links.delete(key)
    this.#engine.removeLink(link, cause, charge)
    this.#events.down(link.id, cause)
  }

  #beat(): void {
    const now = Date.now()
    const deadAfter = this.#heartbeatMs * this.#misses
    for (const [key, link] of this.#links) {
      if (now - link.lastSeen > deadAfter) {
        this.#drop(key, link, new Error(`${link.id} missed ${this.#misses} heartbeats`), true)
      } else this.send(link.peer, { type: 'ping' })
    }
  }
}
