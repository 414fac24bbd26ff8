import type { InstanceRow } from './views.js'

/** Options of `dripdrop-control top`. */
export interface TopOptions {
  /** The control server's HTTP base URL. @default 'http://127.0.0.1:7180' */
  url: string
  /** Bearer token, if the server has one. */
  token?: string
  /** Refresh period, ms. @default 1000 */
  intervalMs: number
  /** Stop after this many screens (0 = until Ctrl-C). @default 0 */
  iterations: number
  /** Rows shown. @default 30 */
  limit: number
  /** Where to write. @default process.stdout */
  out?: NodeJS.WritableStream
}

interface RouteRow {
  instance: string
  role: string
  route: string
  type: string
  rates: Record<string, number>
}

const fmt = (n: number) =>
  n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : n >= 1e4 ? `${(n / 1e3).toFixed(1)}k` : n.toFixed(n < 10 ? 1 : 0)

/** One screen of `top`: instances (busiest first) and routes, as plain text. */
export function renderTop(
  instances: { total: number; items: InstanceRow[] },
  routes: RouteRow[],
  limit: number,
): string {
  const rows = [...instances.items].sort((a, b) => b.msgIn + b.msgOut - (a.msgIn + a.msgOut)).slice(0, limit)
  const counts: Record<string, number> = {}
  for (const r of instances.items) counts[r.status] = (counts[r.status] ?? 0) + 1
  const lines = [
    `dripdrop-control top  ${new Date().toISOString()}  instances ${instances.total}  ${Object.entries(counts)
      .map(([k, v]) => `${k} ${v}`)
      .join('  ')}`,
    '',
    `${'INSTANCE'.padEnd(28)} ${'ROLE'.padEnd(14)} ${'STATUS'.padEnd(8)} ${'IN/s'.padStart(8)} ${'OUT/s'.padStart(8)} ${'ERR/s'.padStart(7)} ${'INFLIGHT'.padStart(8)}`,
    ...rows.map(
      (r) =>
        `${r.instance.slice(0, 28).padEnd(28)} ${r.role.slice(0, 14).padEnd(14)} ${r.status.padEnd(8)} ${fmt(r.msgIn).padStart(8)} ${fmt(r.msgOut).padStart(8)} ${fmt(r.errors).padStart(7)} ${String(r.inflight).padStart(8)}`,
    ),
    '',
    `${'ROUTE'.padEnd(36)} ${'INSTANCE'.padEnd(28)} ${'TYPE'.padEnd(12)} ${'IN/s'.padStart(8)} ${'OUT/s'.padStart(8)}`,
    ...[...routes]
      .sort(
        (a, b) =>
          (b.rates.messagesIn ?? 0) +
          (b.rates.messagesOut ?? 0) -
          (a.rates.messagesIn ?? 0) -
          (a.rates.messagesOut ?? 0),
      )
      .slice(0, limit)
      .map(
        (r) =>
          `${r.route.slice(0, 36).padEnd(36)} ${r.instance.slice(0, 28).padEnd(28)} ${r.type.padEnd(12)} ${fmt(r.rates.messagesIn ?? 0).padStart(8)} ${fmt(r.rates.messagesOut ?? 0).padStart(8)}`,
      ),
  ]
  return `${lines.join('\n')}\n`
}

/** Polls the API (`/api/instances`, `/api/routes`) and redraws a table until `iterations` screens were drawn. */
export async function runTop(options: TopOptions): Promise<void> {
  const out = options.out ?? process.stdout
  const headers: Record<string, string> = options.token ? { authorization: `Bearer ${options.token}` } : {}
  const get = async (path: string): Promise<any> => {
    const res = await fetch(new URL(path, options.url), { headers })
    if (!res.ok) throw new Error(`${path}: HTTP ${res.status} ${await res.text()}`)
    return res.json()
  }
  for (let i = 0; options.iterations === 0 || i < options.iterations; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, options.intervalMs))
    const [instances, routes] = await Promise.all([get('/api/instances?pageSize=1000'), get('/api/routes')])
    const screen = renderTop(instances, routes, options.limit)
    // Clear the screen only on a terminal; a pipe gets plain successive tables.
    out.write((out as { isTTY?: boolean }).isTTY ? `\x1b[2J\x1b[H${screen}` : screen)
  }
}
