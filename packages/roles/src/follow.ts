import type { Route } from '@dripdrop/core'
import { RoleError } from './errors.js'
import type { ResolvedAddresses } from './topology/types.js'

/**
 * What {@link follow} reads: a role handle (`await role()`) or anything with the same `addresses` and
 * `change` event.
 */
export interface AddressSource {
  readonly addresses: ResolvedAddresses
  on(event: 'change', listener: (addresses: ResolvedAddresses) => void): unknown
  off(event: 'change', listener: (addresses: ResolvedAddresses) => void): unknown
}

/** Options of {@link follow}. */
export interface FollowOptions {
  /**
   * Called when a connect or disconnect fails (the route closed, an address its transport refuses).
   * @default a process warning (`process.emitWarning`)
   */
  onError?: (error: Error) => void
}

/** The handle {@link follow} returns. */
export interface Following {
  /** Resolves once the route's addresses equal the latest list (after every change so far). */
  readonly synced: Promise<void>
  /** Connects and disconnects done so far. */
  readonly stats: { connects: number; disconnects: number; errors: number }
  /** Stops following (the route keeps the addresses it has). */
  close(): void
}

/**
 * Keeps a connecting route's addresses equal to `source.addresses.connect[name]`: at once, and each time the
 * addresses change (a role it connects to moved on failover), it connects to the new addresses first, then
 * disconnects from the ones that went away, so no process restarts and no moment without a peer is added.
 * Uses `route.connect()`/`route.disconnect()` (@dripdrop/core), so the route's transport must support them
 * (inproc, zmq).
 *
 * @example
 * ```ts
 * const me = await role()
 * const work = node.route('work', { type: 'pull', connect: me.connect('work') })
 * await node.start()
 * follow(work, me, 'work')
 * ```
 */
export function follow(
  route: Route,
  source: AddressSource,
  name: string,
  options: FollowOptions = {},
): Following {
  if (source.addresses.connect[name] === undefined)
    throw new RoleError(
      `follow(): the role connects to no "${name}" (it connects to: ${Object.keys(source.addresses.connect).join(', ') || 'nothing'})`,
    )
  const onError =
    options.onError ??
    ((error: Error) =>
      process.emitWarning(`follow(${route.name}, ${name}): ${error.message}`, 'DripdropWarning'))
  const stats = { connects: 0, disconnects: 0, errors: 0 }
  let closed = false
  let chain: Promise<void> = Promise.resolve()
  const sync = async (): Promise<void> => {
    if (closed) return
    const want = [...new Set(source.addresses.connect[name] ?? [])]
    for (const address of want) {
      if (route.connects.includes(address)) continue
      try {
        await route.connect(address)
        stats.connects++
      } catch (err) {
        stats.errors++
        onError(err as Error)
      }
    }
    for (const address of [...route.connects]) {
      if (want.includes(address)) continue
      try {
        await route.disconnect(address)
        stats.disconnects++
      } catch (err) {
        stats.errors++
        onError(err as Error)
      }
    }
  }
  const handle = {
    stats,
    get synced() {
      return chain
    },
    close() {
      closed = true
      source.off('change', listener)
    },
  }
  const listener = (): void => {
    chain = chain.then(sync)
  }
  source.on('change', listener)
  listener()
  return handle
}
