import { ERROR_KINDS } from '../stats/counters.js'
import type { Report } from './report.js'
import type { ThresholdResult } from './thresholds.js'

const ms = (us: number): string => `${(us / 1000).toFixed(us < 10_000 ? 2 : 1)}ms`

/** Formats a latency in µs as milliseconds for terminals (`12.34ms`). */
export const formatMs = ms

/**
 * The end-of-run summary as k6 prints it: one dotted line per metric, then the thresholds with ✓ or ✗.
 *
 * @example
 * ```
 * http_req_duration.........: p50=1.02ms p90=1.80ms p99=4.10ms p99.9=9.80ms max=12.0ms
 * ```
 */
export function summaryText(report: Report, thresholds: readonly ThresholdResult[] = []): string {
  const c = report.counters
  const line = (name: string, value: string): string => `  ${name.padEnd(28, '.')}: ${value}`
  const lat = (l: Report['latency']): string =>
    `avg=${ms(l.mean)} min=${ms(l.min)} p50=${ms(l.percentiles['50'] ?? 0)} p90=${ms(l.percentiles['90'] ?? 0)} p99=${ms(l.percentiles['99'] ?? 0)} p99.9=${ms(l.percentiles['99.9'] ?? 0)} max=${ms(l.max)}`
  const out: string[] = []
  out.push(
    `\n  ${report.settings.model} model, ${(report.durationMs / 1000).toFixed(1)}s${report.settings.target === undefined ? '' : `, ${report.settings.target}`}\n`,
  )
  out.push(line('latency (from intended)', lat(report.latency)))
  out.push(line('service time (from send)', lat(report.service)))
  if (report.settings.model === 'open')
    out.push(
      line(
        'schedule lag',
        `p50=${ms(report.lag.percentiles['50'] ?? 0)} p99=${ms(report.lag.percentiles['99'] ?? 0)} max=${ms(report.lag.max)}`,
      ),
    )
  out.push(line('requests sent', `${c.sent} (${report.sendRate.toFixed(1)}/s)`))
  out.push(line('responses', `${c.responses} (${report.rate.toFixed(1)}/s)`))
  out.push(
    line(
      'status codes',
      Object.entries(c.statuses)
        .map(([s, n]) => `${s}=${n}`)
        .join(' ') || '-',
    ),
  )
  out.push(
    line(
      'errors',
      `${report.errors} (${(report.errorRate * 100).toFixed(2)}%)${
        report.errors > 0
          ? ` ${ERROR_KINDS.filter((k) => c.errors[k] > 0)
              .map((k) => `${k}=${c.errors[k]}`)
              .join(' ')}`
          : ''
      }`,
    ),
  )
  if (report.settings.model === 'open') out.push(line('scheduled, not sent', String(c.notSent)))
  if (report.abandoned > 0) out.push(line('abandoned at the end', String(report.abandoned)))
  const names = Object.entries(report.names)
  if (names.length > 1) {
    out.push('\n  by name:')
    for (const [name, n] of names)
      out.push(
        line(
          `  ${name}`,
          `${n.counters.responses} resp, ${(n.errorRate * 100).toFixed(2)}% err, p50=${ms(n.latency.percentiles['50'] ?? 0)} p99=${ms(n.latency.percentiles['99'] ?? 0)}`,
        ),
      )
  }
  if (thresholds.length > 0) {
    out.push('\n  thresholds:')
    for (const r of thresholds) {
      const unitless = /^(errors|notSent|rate)$/.test(r.threshold.metric)
      const actual = r.threshold.metric.endsWith('%')
        ? `${(r.actual * 100).toFixed(3)}%`
        : unitless
          ? r.actual.toFixed(r.threshold.metric === 'rate' ? 1 : 0)
          : ms(r.actual)
      out.push(
        `    ${r.ok ? '✓' : '✗'} ${r.threshold.expression.padEnd(24)} actual ${actual}${r.ok ? '' : '  BROKEN'}`,
      )
    }
  }
  return `${out.join('\n')}\n`
}
