import type { Envelope } from '@dripdrop/codec'
import { AddressInUseError, ClosedError, DestroyedError } from '../errors.js'
import { Queue } from '../queue.js'
import type { RouteHost, RouteSocket, RouteSpec } from '../transport.js'
import { channelOf, type InprocChannel } from './channel.js'

const RESOLVED = Promise.resolve()

type Role = 'pull' | 'sub' | 'responder' | 'push' | 'pub' | 'requester'

const ROLES: Record<string, Role> = {
  push: 'push',
  pull: 'pull',
  pub: 'pub',
  sub: 'sub',
  req: 'requester',
  dealer: 'requester',
  rep: 'responder',
  router: 'responder',
}

interface Blocked {
  envelope: Envelope
  to: InprocSocket | undefined
  resolve: () => void
  reject: (err: Error) => void
}

/**
 * One route's end of one or more `inproc://` channels. Receivers hold a bounded inbound queue drained on a
 * microtask; senders deliver straight into a receiver's queue, or park the envelope (in order) until a
 * receiver has room. `pub` never parks: when a matching subscriber has no room, the message goes to none (counted).
 */
export class InprocSocket implements RouteSocket {
  readonly endpoints: string[]
  readonly #spec: RouteSpec
  readonly #host: RouteHost
  readonly #role: Role
  readonly #capacity: number
  #channels: InprocChannel[] = []
  #nextChannel = 0
  // Inbound: envelopes and, for responders, who sent them.
  readonly #inbox = new Queue<Envelope>()
  readonly #from = new Queue<unknown>()
  #draining = false
  // Outbound: sends waiting for room, in order.
  readonly #blocked = new Queue<Blocked>()
  #prefixes: string[]
  #open = false
  #idle: (() => void) | undefined

  constructor(spec: RouteSpec, host: RouteHost) {
    this.#spec = spec
    this.#host = host
    this.#role = ROLES[spec.type]
    this.#capacity = spec.highWaterMark
    this.#prefixes = [...spec.subscribe]
    this.endpoints = [...spec.bind, ...spec.connect]
  }

  async start(): Promise<void> {
    for (const address of this.#spec.bind) {
      const channel = channelOf(address)
      if (channel.binder !== undefined) {
        throw new AddressInUseError(`${address} is already bound by route "${channel.binder.#spec.name}"`)
      }
      channel.binder = this
    }
    this.#channels = [...new Set([...this.#spec.bind, ...this.#spec.connect])].map(channelOf)
    for (const channel of this.#channels) channel.join(this, this.#list(channel))
    this.#open = true
    for (const address of this.#spec.bind) this.#host.emit({ type: 'listening', endpoint: address })
  }

  connect(address: string): void {
    if (!this.#open) throw new ClosedError(`inproc socket of route "${this.#spec.name}" is closed`)
    const channel = channelOf(address)
    if (this.#channels.includes(channel)) return
    this.#channels.push(channel)
    channel.join(this, this.#list(channel))
    this.endpoints.push(address)
    // Parked sends may find room with the new peer.
    if (this.#blocked.length > 0) channel.blocked.add(this)
    channel.wake()
    this.#host.emit({ type: 'connect', endpoint: address })
  }

  disconnect(address: string): void {
    if (!this.#open) throw new ClosedError(`inproc socket of route "${this.#spec.name}" is closed`)
    if (this.#spec.bind.includes(address)) return // a bound address is not a connection
    const at = this.#channels.findIndex((c) => c.address === address)
    if (at < 0) return
    const [channel] = this.#channels.splice(at, 1)
    channel.leave(this, this.#list(channel))
    const e = this.endpoints.indexOf(address)
    if (e >= 0) this.endpoints.splice(e, 1)
    this.#host.emit({ type: 'disconnect', endpoint: address })
  }

  // ---- sending ----

  send(envelope: Envelope): void | Promise<void> {
    if (!this.#open)
      return Promise.reject(new ClosedError(`inproc socket of route "${this.#spec.name}" is closed`))
    if (this.#blocked.length === 0 && this.#deliver(envelope, undefined)) return
    return this.#park(envelope, undefined)
  }

  sendTo(to: unknown, envelope: Envelope): void | Promise<void> {
    if (!(to instanceof InprocSocket)) throw new TypeError('sendTo needs the `from` of a received message')
    if (!to.#open) {
      // The peer went away; like a ZeroMQ router, drop what cannot be routed and count it as aborted.
      this.#peerGone()
      return
    }
    // A reply to an idle requester only settles a pending promise, whose callbacks run later anyway: hand it
    // over now instead of a microtask later. Anything else reaches user handlers and stays asynchronous.
    if (
      to.#role === 'requester' &&
      !to.#draining &&
      envelope.head.$re !== undefined &&
      this.#blocked.length === 0
    ) {
      to.#host.receive(envelope, this)
      return
    }
    if (this.#blocked.length === 0 && this.#deliver(envelope, to)) return
    return this.#park(envelope, to)
  }

  // What a zmq ROUTER does with a reply to a peer that has gone: the peer hung up, so the envelope is counted
  // in `stats.aborted` (CONTRIBUTING.md), not as an error or a drop of ours.
  #peerGone(): void {
    this.#host.stats.aborted++
  }

  subscribe(prefix: string): void {
    if (!this.#prefixes.includes(prefix)) this.#prefixes.push(prefix)
  }

  unsubscribe(prefix: string): void {
    this.#prefixes = this.#prefixes.filter((p) => p !== prefix)
  }

  /** @internal true when this receiver's queue has room. */
  hasRoom(): boolean {
    return this.#inbox.length < this.#capacity
  }

  /** @internal a channel says room appeared: deliver parked sends in order. */
  flush(): void {
    while (this.#blocked.length > 0) {
      const b = this.#blocked.peek()!
      if (b.to !== undefined && !b.to.#open) this.#peerGone()
      else if (!this.#deliver(b.envelope, b.to)) return
      this.#blocked.shift()
      b.resolve()
    }
    for (const c of this.#channels) c.blocked.delete(this)
    this.#idle?.()
  }

  #park(envelope: Envelope, to: InprocSocket | undefined): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#blocked.push({ envelope, to, resolve, reject })
      for (const c of this.#channels) c.blocked.add(this)
      if (to) for (const c of to.#channels) c.blocked.add(this)
    })
  }

  #deliver(envelope: Envelope, to: InprocSocket | undefined): boolean {
    if (to !== undefined) {
      if (!to.hasRoom()) return false
      to.#enqueue(envelope, this)
      return true
    }
    switch (this.#role) {
      case 'push':
        return this.#deliverOne(envelope, (c) => c.pullers)
      case 'requester':
        return this.#deliverOne(envelope, (c) => c.responders)
      case 'pub':
        return this.#deliverAll(envelope)
      default:
        throw new TypeError(`a ${this.#spec.type} route does not send`)
    }
  }

  // Round robin over the channels too (a push connected to several addresses), as a zmq PUSH does over its
  // pipes: each channel's receivers in turn, starting after the channel used last.
  #deliverOne(envelope: Envelope, list: (c: InprocChannel) => InprocSocket[]): boolean {
    const channels = this.#channels
    const n = channels.length
    for (let i = 0; i < n; i++) {
      const at = (this.#nextChannel + i) % n
      const channel = channels[at]
      const target = channel.pick(list(channel))
      if (target !== undefined) {
        if (n > 1) this.#nextChannel = (at + 1) % n
        target.#enqueue(envelope, this)
        return true
      }
    }
    return false
  }

  // Pub never waits (CONTRIBUTING.md, the same on every transport): a publish reaches every matching subscriber
  // or, when any of them is full, none of them, and that drop is counted once. This is what libzmq's PUB does
  // (with ZMQ_XPUB_NODROP it sends to all matching pipes or fails), the only rule under which a zmq publisher can
  // count every drop, so inproc follows it: moving a route by address never changes what subscribers see.
  #deliverAll(envelope: Envelope): boolean {
    const name = envelope.name
    for (const c of this.#channels) {
      for (const s of c.subscribers) {
        if (s.#matches(name) && !s.hasRoom()) {
          this.#host.stats.dropped++
          return true
        }
      }
    }
    for (const c of this.#channels) {
      for (const s of c.subscribers) if (s.#matches(name)) s.#enqueue(envelope, undefined)
    }
    return true
  }

  #matches(name: string): boolean {
    const p = this.#prefixes
    for (let i = 0; i < p.length; i++) if (name.startsWith(p[i])) return true
    return false
  }

  // ---- receiving ----

  #enqueue(envelope: Envelope, from: unknown): void {
    this.#inbox.push(envelope)
    if (this.#role === 'responder') this.#from.push(from)
    if (!this.#draining) {
      this.#draining = true
      // A bare promise job: Node's queueMicrotask wraps every call in an async resource, which costs more
      // than the delivery itself on this path.
      RESOLVED.then(this.#drain)
    }
  }

  readonly #drain = (): void => {
    const inbox = this.#inbox
    const responder = this.#role === 'responder'
    while (inbox.length > 0) {
      const envelope = inbox.shift()
      const from = responder ? this.#from.shift() : undefined
      const wait = this.#host.receive(envelope, from)
      this.#roomFreed()
      if (wait !== undefined) {
        wait.then(this.#drain, this.#drain)
        return
      }
    }
    this.#draining = false
    this.#idle?.()
  }

  #roomFreed(): void {
    for (let i = 0; i < this.#channels.length; i++) this.#channels[i].wake()
  }

  // ---- lifecycle ----

  async close(lingerMs: number): Promise<void> {
    if (!this.#open) return
    // Senders: give parked envelopes up to lingerMs to find room. Receivers: leave the channel so nothing new
    // arrives, then finish what is already queued.
    if (this.#blocked.length > 0) await this.#until(() => this.#blocked.length === 0, lingerMs)
    this.#leave()
    this.#host.stats.dropped += this.#rejectBlocked(
      new ClosedError(`route "${this.#spec.name}" closed before sending`),
    )
    if (this.#draining || this.#inbox.length > 0)
      await this.#until(() => !this.#draining && this.#inbox.length === 0, -1)
  }

  destroy(): number {
    const wasOpen = this.#open
    this.#leave()
    if (!wasOpen && this.#inbox.length === 0 && this.#blocked.length === 0) return 0
    const dropped =
      this.#inbox.clear() +
      this.#rejectBlocked(new DestroyedError(`route "${this.#spec.name}" was destroyed`))
    this.#from.clear()
    return dropped
  }

  #leave(): void {
    if (!this.#open) return
    this.#open = false
    for (const c of this.#channels) c.leave(this, this.#list(c))
    // Senders parked on this socket's queue may now drop their envelopes.
    for (const c of this.#channels) c.wake()
  }

  #rejectBlocked(err: Error): number {
    let n = 0
    while (this.#blocked.length > 0) {
      this.#blocked.shift().reject(err)
      n++
    }
    return n
  }

  #until(done: () => boolean, timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = timeoutMs >= 0 ? setTimeout(finish, timeoutMs) : undefined
      const check = () => {
        if (done()) finish()
      }
      function finish() {
        if (timer) clearTimeout(timer)
        resolve()
      }
      this.#idle = () => {
        check()
      }
      check()
    }).finally(() => {
      this.#idle = undefined
    })
  }

  #list(channel: InprocChannel): InprocSocket[] | undefined {
    switch (this.#role) {
      case 'pull':
        return channel.pullers
      case 'sub':
        return channel.subscribers
      case 'responder':
        return channel.responders
      default:
        return undefined
    }
  }
}
