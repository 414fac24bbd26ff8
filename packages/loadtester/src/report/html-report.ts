import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { ERROR_KINDS } from '../stats/counters.js'
import type { Report } from './report.js'

let uplot: { js: string; css: string } | undefined

/** uPlot's minified script and stylesheet, read once from the installed package and inlined in every report. */
function uplotAssets(): { js: string; css: string } {
  if (uplot === undefined) {
    const require = createRequire(import.meta.url)
    const main = require.resolve('uplot') // dist/uPlot.cjs.js; the package has no exports map
    const dir = main.slice(0, main.lastIndexOf('/'))
    uplot = {
      js: readFileSync(`${dir}/uPlot.iife.min.js`, 'utf8'),
      css: readFileSync(`${dir}/uPlot.min.css`, 'utf8'),
    }
  }
  return uplot
}

const escapeHtml = (s: string): string =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  )

/** JSON that is safe inside a <script> element (no `</script>`, no `<!--`). */
const scriptJson = (v: unknown): string => JSON.stringify(v).replace(/</g, '\\u003c')

const ms = (us: number): string => (us / 1000).toFixed(us < 10_000 ? 2 : 1)

/**
 * A self-contained HTML report: summary tables and four uPlot charts (latency percentiles over time,
 * throughput, errors, status codes), with uPlot's JS and CSS inlined, so the file opens offline.
 *
 * @example
 * ```ts
 * await writeFile('report.html', htmlReport(report, { title: 'checkout' }))
 * ```
 */
export function htmlReport(report: Report, options: { title?: string } = {}): string {
  const { js, css } = uplotAssets()
  const title = options.title ?? `dripdrop-load report ${report.startedAt}`
  const pct = Object.entries(report.latency.percentiles)
  const rows = Object.entries(report.names)
    .map(
      ([name, n]) =>
        `<tr><td>${escapeHtml(name)}</td><td>${n.counters.sent}</td><td>${n.counters.responses}</td><td>${n.rate.toFixed(1)}</td><td>${(n.errorRate * 100).toFixed(2)}%</td><td>${ms(n.latency.percentiles['50'] ?? 0)}</td><td>${ms(n.latency.percentiles['99'] ?? 0)}</td><td>${ms(n.latency.max)}</td><td>${ms(n.service.percentiles['99'] ?? 0)}</td></tr>`,
    )
    .join('')
  const c = report.counters
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>${css}</style>
<style>
body{font:14px system-ui,sans-serif;margin:24px;color:#222}h1{font-size:20px}h2{font-size:16px;margin-top:28px}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}
td:first-child,th:first-child{text-align:left}.chart{margin:8px 0 24px}.bad{color:#b00}
</style></head><body>
<h1>${escapeHtml(title)}</h1>
<p>${escapeHtml(report.settings.model)} model${report.settings.target === undefined ? '' : ` against ${escapeHtml(report.settings.target)}`},
${(report.durationMs / 1000).toFixed(1)} s, started ${escapeHtml(report.startedAt)}.
Latency is measured from each request's intended send time (coordinated-omission corrected); service time from its actual send.</p>
<table id="totals"><tr><th>sent</th><th>responses</th><th>rate (req/s)</th><th>errors</th><th>not sent</th><th>abandoned</th></tr>
<tr><td>${c.sent}</td><td>${c.responses}</td><td>${report.rate.toFixed(1)}</td><td class="${report.errors > 0 ? 'bad' : ''}">${report.errors} (${(report.errorRate * 100).toFixed(2)}%)</td><td>${c.notSent}</td><td>${report.abandoned}</td></tr></table>
<table id="percentiles"><tr><th>ms</th>${pct.map(([p]) => `<th>p${p}</th>`).join('')}<th>max</th></tr>
<tr><td>latency</td>${pct.map(([, v]) => `<td>${ms(v)}</td>`).join('')}<td>${ms(report.latency.max)}</td></tr>
<tr><td>service</td>${Object.values(report.service.percentiles)
    .map((v) => `<td>${ms(v)}</td>`)
    .join('')}<td>${ms(report.service.max)}</td></tr></table>
<table id="errors"><tr><th>errors</th>${ERROR_KINDS.map((k) => `<th>${k}</th>`).join('')}</tr><tr><td>count</td>${ERROR_KINDS.map((k) => `<td>${c.errors[k]}</td>`).join('')}</tr></table>
<table id="statuses"><tr><th>status</th>${Object.keys(c.statuses)
    .map((s) => `<th>${escapeHtml(s)}</th>`)
    .join('')}</tr><tr><td>responses</td>${Object.values(c.statuses)
    .map((n) => `<td>${n}</td>`)
    .join('')}</tr></table>
<h2>Latency over time (ms)</h2><div class="chart" id="chart-latency"></div>
<h2>Throughput (req/s)</h2><div class="chart" id="chart-throughput"></div>
<h2>Errors per second</h2><div class="chart" id="chart-errors"></div>
<h2>Status codes per second</h2><div class="chart" id="chart-statuses"></div>
<h2>Requests by name</h2>
<table id="names"><tr><th>name</th><th>sent</th><th>responses</th><th>req/s</th><th>errors</th><th>p50 ms</th><th>p99 ms</th><th>max ms</th><th>service p99 ms</th></tr>${rows}</table>
<script id="report-data" type="application/json">${scriptJson(report)}</script>
<script>${js}</script>
<script>
(function () {
  var report = JSON.parse(document.getElementById('report-data').textContent);
  var s = report.series;
  var t = s.map(function (p) { return (p.startMs + p.durationMs) / 1000; });
  var width = Math.min(1100, document.body.clientWidth - 20);
  var colors = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f'];
  function chart(id, names, columns) {
    var series = [{}].concat(names.map(function (n, i) { return { label: n, stroke: colors[i % colors.length], width: 1.5 }; }));
    return new uPlot({ width: width, height: 260, series: series, axes: [{}, {}] }, [t].concat(columns), document.getElementById(id));
  }
  var ms = function (k, sub) { return s.map(function (p) { return p[k][sub] / 1000; }); };
  chart('chart-latency', ['p50', 'p90', 'p99', 'p99.9', 'max', 'service p99'],
    [ms('latency', 'p50'), ms('latency', 'p90'), ms('latency', 'p99'), ms('latency', 'p999'), ms('latency', 'max'), ms('service', 'p99')]);
  chart('chart-throughput', ['responses/s', 'sent/s'],
    [s.map(function (p) { return p.rate; }), s.map(function (p) { return p.durationMs > 0 ? p.sent * 1000 / p.durationMs : 0; })]);
  var kinds = ${scriptJson(ERROR_KINDS)};
  chart('chart-errors', kinds.concat(['not sent']),
    kinds.map(function (k) { return s.map(function (p) { return p.errorsByKind[k]; }); }).concat([s.map(function (p) { return p.notSent; })]));
  var codes = Object.keys(report.counters.statuses);
  if (codes.length === 0) codes = ['200'];
  chart('chart-statuses', codes, codes.map(function (c) { return s.map(function (p) { return p.statuses[c] || 0; }); }));
  window.reportRendered = true;
})();
</script>
</body></html>
`
}
