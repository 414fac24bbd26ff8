import {
  createServer as createHttpServer,
  type RequestListener,
  type Server,
  type ServerOptions,
} from 'node:http'
import { createServer as createHttpsServer } from 'node:https'

type Pem = string | Buffer

/**
 * TLS for a server route (`http-server` on `https://`, `ws-server` on `wss://`): the certificate and its key
 * in PEM. With `requestCert`, clients must present a certificate that chains to `ca` (mutual TLS); the peer
 * certificate is then in `info.req.socket.getPeerCertificate()` for the `authorize` hook.
 */
export interface TlsServerOptions {
  /** The private key, PEM. Never printed. */
  key: Pem
  /** The certificate chain, PEM. */
  cert: Pem
  /** CAs trusted for client certificates (`requestCert`). */
  ca?: Pem | readonly Pem[]
  /** Ask for and require a client certificate that chains to `ca`. @default false */
  requestCert?: boolean
}

/**
 * TLS for a client route (`http-client` to `https://`, `ws-client` to `wss://`). `ca` pins the CAs the
 * server's certificate must chain to, replacing the system's; without it the system CAs are used, and a
 * self-signed or unknown certificate is refused either way (verification is never turned off).
 */
export interface TlsClientOptions {
  /** CAs the server certificate must chain to, PEM. @default the system's CAs */
  ca?: Pem | readonly Pem[]
  /** A client certificate, PEM, for servers that require one (`requestCert`). */
  cert?: Pem
  /** The client certificate's key, PEM. Never printed. */
  key?: Pem
  /** The name the server certificate must carry. @default the host of the URL */
  servername?: string
}

const isPem = (v: unknown): v is Pem => typeof v === 'string' || Buffer.isBuffer(v)
const isPems = (v: unknown): boolean => isPem(v) || (Array.isArray(v) && v.length > 0 && v.every(isPem))

function checkKeys(o: Record<string, unknown>, allowed: readonly string[], path: string): void {
  if (o === null || typeof o !== 'object') throw new TypeError(`${path} must be an object`)
  for (const k of Object.keys(o))
    if (!allowed.includes(k)) throw new TypeError(`${path}.${k} is not a TLS option`)
}

/** Validates a server route's `tls` option once; `scheme` is the bind address's (`https`/`wss` need it). */
export function serverTls(
  value: unknown,
  scheme: string,
  secure: string,
  path: string,
): TlsServerOptions | undefined {
  if (value === undefined) {
    if (scheme === secure)
      throw new TypeError(`${path}.tls ({ key, cert }) is required to bind a ${secure}:// address`)
    return undefined
  }
  if (scheme !== secure) throw new TypeError(`${path}.tls is given: bind a ${secure}:// address`)
  const o = value as Record<string, unknown>
  checkKeys(o, ['key', 'cert', 'ca', 'requestCert'], `${path}.tls`)
  if (!isPem(o.key)) throw new TypeError(`${path}.tls.key must be a PEM string or Buffer`)
  if (!isPem(o.cert)) throw new TypeError(`${path}.tls.cert must be a PEM string or Buffer`)
  if (o.ca !== undefined && !isPems(o.ca))
    throw new TypeError(`${path}.tls.ca must be PEM (or an array of PEM)`)
  if (o.requestCert !== undefined && typeof o.requestCert !== 'boolean')
    throw new TypeError(`${path}.tls.requestCert must be a boolean`)
  if (o.requestCert === true && o.ca === undefined)
    throw new TypeError(`${path}.tls.ca is required with requestCert (the CAs client certificates chain to)`)
  return o as unknown as TlsServerOptions
}

/** Validates a client route's `tls` option once. */
export function clientTls(
  value: unknown,
  scheme: string,
  secure: string,
  path: string,
): TlsClientOptions | undefined {
  if (value === undefined) return undefined
  if (scheme !== secure) throw new TypeError(`${path}.tls is given: connect to a ${secure}:// address`)
  const o = value as Record<string, unknown>
  checkKeys(o, ['ca', 'cert', 'key', 'servername'], `${path}.tls`)
  if (o.ca !== undefined && !isPems(o.ca))
    throw new TypeError(`${path}.tls.ca must be PEM (or an array of PEM)`)
  if (o.cert !== undefined && !isPem(o.cert)) throw new TypeError(`${path}.tls.cert must be PEM`)
  if (o.key !== undefined && !isPem(o.key)) throw new TypeError(`${path}.tls.key must be PEM`)
  if ((o.cert === undefined) !== (o.key === undefined))
    throw new TypeError(`${path}.tls.cert and ${path}.tls.key go together`)
  if (o.servername !== undefined && typeof o.servername !== 'string')
    throw new TypeError(`${path}.tls.servername must be a string`)
  return o as unknown as TlsClientOptions
}

/** An http server, or an https one with `tls`; both are driven the same way (listen, close, events). */
export function createServer(
  tls: TlsServerOptions | undefined,
  options: ServerOptions,
  onRequest: RequestListener,
): Server {
  if (tls === undefined) return createHttpServer(options, onRequest)
  return createHttpsServer(
    {
      ...options,
      key: tls.key,
      cert: tls.cert,
      ca: tls.ca as Pem[] | Pem | undefined,
      requestCert: tls.requestCert === true,
      rejectUnauthorized: tls.requestCert === true,
    },
    onRequest,
  ) as unknown as Server
}

/** The scheme of an address: `https://x` → `https`. */
export function schemeOf(address: string): string {
  return address.slice(0, Math.max(0, address.indexOf('://')))
}
