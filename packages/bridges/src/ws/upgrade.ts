import type { IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import type { HeadValue } from '@dripdrop/codec'

/** What the `authorize` hook of a `ws-server` route sees of an upgrade request. */
export interface UpgradeInfo {
  /** The `Origin` header ('' when absent). */
  origin: string
  /** The `token` query parameter, or the bearer token of an `Authorization` header ('' when absent). */
  token: string
  /** The raw request, for anything else (cookies, IP). */
  req: IncomingMessage
}

/** What `authorize` may return: `false` refuses (401), `true` accepts, an object accepts and becomes `head.$auth`. */
export type AuthorizeVerdict = boolean | { [key: string]: HeadValue }

/** The `authorize` option of a `ws-server` route. */
export type AuthorizeHook = (info: UpgradeInfo) => AuthorizeVerdict | Promise<AuthorizeVerdict>

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  503: 'Service Unavailable',
}

/**
 * Decides an upgrade before any WebSocket frame: the URL, the path, then the `Origin` against `origins`, then
 * the `authorize` hook. Resolves with an HTTP status to refuse with, or with the accepted connection's `auth`.
 * Never rejects: a request line that is no URL (`GET //[`) refuses with 400, a hook that throws or rejects
 * with 401.
 */
export async function judgeUpgrade(
  req: IncomingMessage,
  path: string,
  origins: ReadonlySet<string> | undefined,
  authorize: AuthorizeHook | undefined,
): Promise<number | { auth: { [key: string]: HeadValue } | undefined }> {
  // `new URL` throws on request targets node:http accepts (`//[`): parsed before anything else, such a throw
  // once ended the whole server process (issue 8).
  let url: URL
  try {
    url = new URL(req.url ?? '/', 'http://localhost')
  } catch {
    return 400
  }
  if (path !== '/' && url.pathname !== path) return 404
  const origin = req.headers.origin ?? ''
  if (origins && !origins.has(origin)) return 403
  if (!authorize) return { auth: undefined }
  const bearer = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')
  const token = url.searchParams.get('token') ?? bearer?.[1] ?? ''
  let verdict: AuthorizeVerdict
  try {
    verdict = await authorize({ origin, token, req })
  } catch {
    return 401
  }
  if (verdict === true) return { auth: undefined }
  if (verdict !== null && typeof verdict === 'object') return { auth: verdict }
  return 401
}

/** Answers a refused upgrade with a bare HTTP response and closes the socket. */
export function refuse(socket: Socket, status: number): void {
  if (socket.writable) {
    socket.end(
      `HTTP/1.1 ${status} ${REASONS[status] ?? 'Error'}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`,
    )
  } else socket.destroy()
}
