import type { Server } from 'node:http'
import { AddressInUseError, TransportError } from '@dripdrop/core'
/** Host, port and path of an `http://` or `ws://` bind address. `*` or `0` as the port means OS-assigned. */
export interface BindAddress {
  host: string
  port: number
  path: string
}

/** Parses `http://127.0.0.1:*`, `ws://0.0.0.0:8080/chat`, `ws://[::1]:0`. */
export function parseBind(address: string, schemes: readonly string[]): BindAddress {
  const m = /^([a-z]+):\/\/(\[[^\]]+\]|[^:/]+)(?::(\*|\d+))?(\/.*)?$/.exec(address)
  if (!m || !schemes.includes(m[1])) {
    throw new TypeError(
      `bind address "${address}" must look like ${schemes[0]}://127.0.0.1:8080 (or :* for any port)`,
    )
  }
  const port = m[3] === undefined || m[3] === '*' ? 0 : Number(m[3])
  if (port > 65535) throw new TypeError(`bind address "${address}": port must be 0..65535`)
  const host = m[2].startsWith('[') ? m[2].slice(1, -1) : m[2]
  return { host, port, path: m[4] ?? '/' }
}

/** The address a client dials for a bound server, with the real port. */
export function formatAddress(scheme: string, host: string, port: number, path = ''): string {
  const h = host.includes(':') ? `[${host}]` : host
  return `${scheme}://${h}:${port}${path === '/' ? '' : path}`
}

/** Validates a positive integer option once, with its path in the message. */
export function positiveInt(value: unknown, fallback: number, path: string): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw new TypeError(`${path} must be a positive integer`)
  }
  return value
}

/** Validates a non-negative integer option once (0 usually means "off"). */
export function nonNegativeInt(value: unknown, fallback: number, path: string): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new TypeError(`${path} must be a non-negative integer`)
  }
  return value
}

/**
 * Starts `server` listening on `host:port`; a port taken by another process rejects with
 * `DD_ERR_ADDRESS_IN_USE`, any other failure with `DD_ERR_TRANSPORT`. `address` is the route's bind address, for
 * the message.
 */
export function listen(server: Server, host: string, port: number, address: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'EADDRINUSE'
          ? new AddressInUseError(`${address} is already in use`, err)
          : new TransportError(`cannot listen on ${address}: ${err.message}`, err),
      )
    server.once('error', onError)
    server.listen(port, host, () => {
      server.off('error', onError)
      resolve()
    })
  })
}
