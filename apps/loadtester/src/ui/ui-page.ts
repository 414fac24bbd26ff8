/** The UI's single page: a form, live uPlot charts (rate, latency), the agents table. `ws` is the live endpoint. */
export function uiPage(ws: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>dripdrop-load</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/uplot.css">
<style>
  body { font: 14px system-ui, sans-serif; margin: 0; background: #f6f7f9; color: #1d232b }
  header { background: #1d232b; color: #fff; padding: 10px 20px; display: flex; gap: 16px; align-items: center }
  header h1 { font-size: 18px; margin: 0 }
  #status { margin-left: auto; padding: 2px 10px; border-radius: 10px; background: #4a5563 }
  #status.running { background: #1f883d }
  main { padding: 16px 20px; display: grid; grid-template-columns: 1fr 1fr; gap: 16px }
  section { background: #fff; border: 1px solid #d8dde3; border-radius: 6px; padding: 12px }
  form { display: flex; gap: 8px; flex-wrap: wrap; align-items: end; grid-column: 1 / 3 }
  label { display: flex; flex-direction: column; font-size: 12px; color: #4a5563 }
  input { padding: 5px; font: inherit; border: 1px solid #c4cad2; border-radius: 4px }
  button { padding: 6px 16px; font: inherit; border-radius: 4px; border: 0; cursor: pointer; color: #fff }
  #start { background: #1f883d } #stop { background: #cf222e }
  .stats { grid-column: 1 / 3; display: flex; gap: 32px; font-size: 13px }
  .stats b { display: block; font-size: 22px }
  table { border-collapse: collapse; width: 100%; font-size: 13px }
  td, th { text-align: left; padding: 4px 8px; border-bottom: 1px solid #eceff2 }
  .bad { color: #cf222e; font-weight: 600 } .ok { color: #1f883d } .moved { color: #9a6700; font-weight: 600 }
  #losses { margin: 8px 0 0; padding-left: 18px; color: #cf222e; font-size: 13px }
  h2 { font-size: 14px; margin: 0 0 8px }
</style></head>
<body>
<header><h1>dripdrop-load</h1><span>distributed HTTP load testing</span><span id="status">idle</span></header>
<main>
<form id="form">
  <label>Target URL<input id="url" size="40" value="http://127.0.0.1:8080/"></label>
  <label>Rate (req/s)<input id="rate" type="number" value="200" min="1"></label>
  <label>Duration (s)<input id="duration" type="number" value="30" min="1"></label>
  <button id="start" type="submit">Start</button>
  <button id="stop" type="button">Stop</button>
  <span id="message"></span>
</form>
<div class="stats">
  <div>responses/s<b id="s-rate">-</b></div><div>p50<b id="s-p50">-</b></div>
  <div>p99<b id="s-p99">-</b></div><div>errors<b id="s-errors">0</b></div><div>responses<b id="s-total">0</b></div>
</div>
<section><h2>Throughput (responses/s)</h2><div id="chart-rate"></div></section>
<section><h2>Latency from intended send (ms)</h2><div id="chart-latency"></div></section>
<section style="grid-column: 1 / 3"><h2>Agents</h2>
<table><thead><tr><th>agent</th><th>kind</th><th>host</th><th>status</th><th>CPU</th><th>health</th></tr></thead>
<tbody id="agents"></tbody></table>
<ul id="losses"></ul></section>
</main>
<script src="/uplot.js"></script>
<script type="module">
import { connect } from '${ws.replace(/^ws/, 'http')}/dripdrop-client.js'
const dd = connect('${ws}')
const $ = (id) => document.getElementById(id)
const data = { t: [], rate: [], p50: [], p90: [], p99: [] }
let total = 0, errors = 0
const opts = (series) => ({ width: 560, height: 240, scales: { x: { time: false } }, axes: [{ label: 's' }, {}], series: [{}, ...series] })
const rateChart = new uPlot(opts([{ label: 'responses/s', stroke: '#1f6feb', width: 2 }]), [[], []], $('chart-rate'))
const latChart = new uPlot(opts([
  { label: 'p50', stroke: '#1f883d', width: 2 }, { label: 'p90', stroke: '#bf8700', width: 2 }, { label: 'p99', stroke: '#cf222e', width: 2 },
]), [[], [], [], []], $('chart-latency'))
const ms = (us) => (us / 1000).toFixed(us < 10000 ? 2 : 1) + ' ms'
function reset() { for (const k in data) data[k] = []; total = 0; errors = 0; t0 = 0; $('losses').innerHTML = ''; draw() }
function draw() {
  rateChart.setData([data.t, data.rate]); latChart.setData([data.t, data.p50, data.p90, data.p99])
  $('s-total').textContent = total; $('s-errors').textContent = errors
}
function agents(list) {
  $('agents').innerHTML = list.map((a) => {
    const health = a.status === 'lost' ? '<span class="bad">LOST</span>' : a.overloaded ? '<span class="bad">CPU &gt; 90%: figures suspect</span>' : '<span class="ok">healthy</span>'
    return '<tr class="' + esc(a.status) + '"><td>' + esc(a.agentId) + '</td><td>' + esc(a.kind) + '</td><td>' + esc(a.hostname) + '</td><td>' + esc(a.status) + '</td><td>' + Math.round(a.cpu * 100) + '%</td><td>' + health + '</td></tr>'
  }).join('')
}
const esc = (v) => String(v).replace(/[&<>"']/g, (c) => '&#' + c.charCodeAt(0) + ';')
let t0 = 0
const rel = (ms) => t0 === 0 ? '' : ' at +' + ((ms - t0) / 1000).toFixed(1) + ' s'
function loss(l) {
  const share = l.rate !== undefined ? l.rate.toFixed(1) + ' req/s' : l.connections + ' connections'
  const fate = l.redistributed ? 'its share (' + share + ') redistributed to ' + l.to.map(esc).join(', ') + rel(l.redistributedAtMs) : 'its share (' + share + ') is MISSING from the results'
  const gap = l.gapScheduled === undefined ? '' : '; ' + l.gapScheduled + ' scheduled requests unaccounted for in the gap'
  const li = document.createElement('li')
  li.className = 'loss'
  li.innerHTML = 'agent <b>' + esc(l.agentId) + '</b> (' + esc(l.hostname) + ') lost' + rel(l.lastSeenMs) + ': ' + fate + gap
  $('losses').appendChild(li)
  document.body.dataset.losses = $('losses').children.length
}
function point(p) {
  if (t0 === 0) t0 = p.startMs - p.index * 1000
  data.t.push(p.index + 1); data.rate.push(p.rate)
  data.p50.push(p.latency.p50 / 1000); data.p90.push(p.latency.p90 / 1000); data.p99.push(p.latency.p99 / 1000)
  total += p.responses; errors += p.errors
  $('s-rate').textContent = Math.round(p.rate); $('s-p50').textContent = ms(p.latency.p50); $('s-p99').textContent = ms(p.latency.p99)
  draw()
  document.body.dataset.points = data.t.length
}
function status(running) { $('status').textContent = running ? 'running' : 'idle'; $('status').className = running ? 'running' : '' }
dd.on('ui.agents', agents)
dd.on('ui.loss', loss)
dd.on('ui.point', (b) => { point(b.point); agents(b.agents); status(true) })
dd.on('ui.end', (b) => { status(false); $('message').textContent = b.error ? 'failed: ' + b.error : 'done: ' + b.responses + ' responses, p99 ' + ms(b.p99) + (b.lostRate > 0 ? ', LOST ' + b.lostRate + ' req/s with its agents' : '') + (b.losses && b.losses.some((l) => l.redistributed) ? ', shares of lost agents redistributed' : ''); document.body.dataset.ended = '1' })
const state = (await dd.request('run.state', null, { timeoutMs: 5000 })).body
agents(state.agents); status(state.running); for (const p of state.points) point(p); for (const l of state.losses) loss(l)
$('form').addEventListener('submit', async (e) => {
  e.preventDefault(); reset(); document.body.dataset.ended = ''
  const r = (await dd.request('run.start', { url: $('url').value, rate: Number($('rate').value), durationMs: Number($('duration').value) * 1000 }, { timeoutMs: 5000 })).body
  $('message').textContent = r.started ? '' : r.reason; status(r.started)
})
$('stop').addEventListener('click', () => dd.request('run.stop', null, { timeoutMs: 5000 }))
window.uiReady = true
</script>
</body></html>
`
}
