// The dashboard: one WebSocket (the dripdrop browser client) pushes the live view once a second and every
// instance event as it happens; nothing here polls.
import { connect } from '/vendor/dripdrop-client.js'

const HISTORY = 300 // seconds kept per chart scope
const PAGE_SIZE = 50
const MAX_DRAWN_PER_ROLE = 24
const $ = (id) => document.getElementById(id)
const state = { live: undefined, page: 1, selected: undefined, events: [], history: new Map() }
window.ddDashboard = state // for tests and the curious

const fmt = (n) =>
  n >= 1e6
    ? `${(n / 1e6).toFixed(1)}M`
    : n >= 1e4
      ? `${(n / 1e3).toFixed(1)}k`
      : n >= 10
        ? n.toFixed(0)
        : n.toFixed(1)
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

// ---- charts (uPlot) ----
function makeChart(el, title, series) {
  return new uPlot(
    {
      title,
      width: Math.max(300, el.clientWidth || 560),
      height: 130,
      series: [
        {},
        ...series.map((label, i) => ({
          label,
          stroke: ['#4a6fa5', '#2a7d3b', '#b3261e', '#b26a00'][i],
          width: 1.5,
        })),
      ],
      axes: [{}, { size: 64 }],
    },
    [[], ...series.map(() => [])],
    el,
  )
}
const charts = {
  msgs: makeChart($('chart-msgs'), 'messages/s', ['in', 'out']),
  bytes: makeChart($('chart-bytes'), 'bytes/s', ['in', 'out']),
  errors: makeChart($('chart-errors'), 'errors/s', ['errors']),
  queue: makeChart($('chart-queue'), 'queue depth (handlers in flight, pending requests)', [
    'inflight',
    'pending',
  ]),
  latency: makeChart($('chart-latency'), 'handler latency (µs)', ['p50', 'p99']),
}

function scopeOf(row) {
  return ['all', `role:${row.role}`, `inst:${row.instance}`]
}
function record(live) {
  const t = Math.floor(live.at / 1000)
  const sums = new Map()
  for (const r of live.instances) {
    if (r.status === 'left' || r.status === 'down') continue
    for (const s of scopeOf(r)) {
      if (s.startsWith('inst:') && s !== state.selected) continue
      let v = sums.get(s)
      if (!v)
        sums.set(
          s,
          (v = {
            msgIn: 0,
            msgOut: 0,
            bytesIn: 0,
            bytesOut: 0,
            errors: 0,
            inflight: 0,
            pending: 0,
            role: r.role,
          }),
        )
      for (const k of ['msgIn', 'msgOut', 'bytesIn', 'bytesOut', 'errors', 'inflight', 'pending'])
        v[k] += r[k]
    }
  }
  for (const [scope, v] of sums) {
    let h = state.history.get(scope)
    if (!h) state.history.set(scope, (h = []))
    const lat = live.latency.filter((l) => scope === 'all' || l.role === v.role)
    v.p50 = lat.length ? Math.max(...lat.map((l) => l.p50Us)) : null
    v.p99 = lat.length ? Math.max(...lat.map((l) => l.p99Us)) : null
    h.push({ t, ...v })
    if (h.length > HISTORY) h.shift()
  }
}
function drawCharts() {
  const scope = state.selected ?? 'all'
  $('chart-scope').textContent = scope === 'all' ? 'all instances' : scope.replace(':', ' ')
  const h = state.history.get(scope) ?? []
  const t = h.map((p) => p.t)
  const col = (k) => h.map((p) => p[k])
  charts.msgs.setData([t, col('msgIn'), col('msgOut')])
  charts.bytes.setData([t, col('bytesIn'), col('bytesOut')])
  charts.errors.setData([t, col('errors')])
  charts.queue.setData([t, col('inflight'), col('pending')])
  charts.latency.setData([t, col('p50'), col('p99')])
}

// ---- topology (SVG: roles as columns, instances as nodes, links with rates) ----
function drawTopology(live) {
  const svg = $('topology')
  const width = svg.clientWidth || 600
  const roles = [...new Set(live.instances.map((r) => r.role))].sort()
  const pos = new Map()
  const colW = width / Math.max(1, roles.length)
  let height = 120
  const nodes = []
  roles.forEach((role, ci) => {
    const members = live.instances.filter((r) => r.role === role)
    const x = colW * ci + colW / 2
    nodes.push(
      `<text x="${x}" y="16" text-anchor="middle" font-weight="bold">${esc(role)} (${members.length})</text>`,
    )
    if (members.length > MAX_DRAWN_PER_ROLE) {
      const c = { up: 0, suspect: 0, down: 0, left: 0 }
      for (const m of members) c[m.status]++
      const worst = c.down ? 'down' : c.suspect ? 'suspect' : 'up'
      pos.set(`role:${role}`, { x, y: 60 })
      nodes.push(
        `<g class="node ${worst}" data-scope="role:${esc(role)}"><circle cx="${x}" cy="60" r="16"/><text x="${x}" y="92" text-anchor="middle">up ${c.up} · suspect ${c.suspect} · down ${c.down}</text></g>`,
      )
      for (const m of members) pos.set(m.instance, { x, y: 60, aggregated: true })
      return
    }
    members.forEach((m, i) => {
      const y = 40 + i * 34
      height = Math.max(height, y + 30)
      pos.set(m.instance, { x, y })
      const sel = state.selected === `inst:${m.instance}` ? ' selected' : ''
      nodes.push(
        `<g class="node ${m.status}${sel}" data-scope="inst:${esc(m.instance)}" data-instance="${esc(m.instance)}" data-status="${m.status}"><circle cx="${x}" cy="${y}" r="9"/><text x="${x + 13}" y="${y + 4}">${esc(m.instance)}${m.status === 'up' ? '' : ` [${m.status.toUpperCase()}]`}</text></g>`,
      )
    })
  })
  const edges = []
  const drawn = new Set()
  for (const l of live.links) {
    const a = pos.get(l.from.instance)
    const b = pos.get(l.to.instance)
    if (!a || !b || a.aggregated || b.aggregated) continue
    drawn.add(`${l.from.instance}>${l.to.instance}`)
    const rate = l.outPerSecond + l.inPerSecond
    // A link is clickable (a wide transparent line over it): it drills down to its connecting instance.
    edges.push(
      `<g class="edge" data-scope="inst:${esc(l.from.instance)}" data-from="${esc(l.from.instance)}" data-to="${esc(l.to.instance)}"><line class="link" x1="${a.x}" y1="${a.y}" x2="${b.x}" y2="${b.y}" marker-end="url(#arrow)"/><line x1="${a.x}" y1="${a.y}" x2="${b.x}" y2="${b.y}" stroke="transparent" stroke-width="12"/><text class="rate link-rate" x="${(a.x + b.x) / 2}" y="${(a.y + b.y) / 2 - 4}" text-anchor="middle">${fmt(rate)}/s</text><title>${esc(l.from.instance)} ${esc(l.from.route)} → ${esc(l.to.instance)} ${esc(l.to.route)}: ${fmt(rate)}/s</title></g>`,
    )
  }
  if (
    !live.links.length ||
    roles.some((r) => live.instances.filter((m) => m.role === r).length > MAX_DRAWN_PER_ROLE)
  ) {
    for (const l of live.roleLinks) {
      const a = pos.get(`role:${l.from}`) ?? [...pos.values()].find((p) => p.role === l.from)
      const b = pos.get(`role:${l.to}`)
      if (!a || !b) continue
      edges.push(
        `<line class="link" x1="${a.x}" y1="${a.y}" x2="${b.x}" y2="${b.y}" marker-end="url(#arrow)"/><text class="rate" x="${(a.x + b.x) / 2}" y="${(a.y + b.y) / 2 - 4}" text-anchor="middle">${l.links} links · ${fmt(l.perSecond)}/s</text>`,
      )
    }
  }
  svg.setAttribute('height', String(height))
  svg.innerHTML = `<defs><marker id="arrow" viewBox="0 0 10 10" refX="18" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="#4a6fa5"/></marker></defs>${edges.join('')}${nodes.join('')}`
}
$('topology').addEventListener('click', (e) => {
  const g = e.target.closest('.node, .edge')
  if (g) select(g.dataset.scope)
})

// ---- instances table: search, group (role), status, pages ----
function drawTable(live) {
  const q = $('search').value.trim().toLowerCase()
  const role = $('role-filter').value
  const status = $('status-filter').value
  const roles = [...new Set(live.instances.map((r) => r.role))].sort()
  const sel = $('role-filter')
  if (sel.options.length - 1 !== roles.length) {
    sel.innerHTML = `<option value="">all roles</option>${roles.map((r) => `<option>${esc(r)}</option>`).join('')}`
    sel.value = role
  }
  const rows = live.instances
    .filter(
      (r) =>
        (!q ||
          r.instance.toLowerCase().includes(q) ||
          r.role.toLowerCase().includes(q) ||
          r.host.toLowerCase().includes(q)) &&
        (!role || r.role === role) &&
        (!status || r.status === status),
    )
    .sort((a, b) => a.role.localeCompare(b.role) || a.instance.localeCompare(b.instance))
  const pages = Math.max(1, Math.ceil(rows.length / PAGE_SIZE))
  state.page = Math.min(state.page, pages)
  $('page').textContent = `${state.page} / ${pages} (${rows.length})`
  const slice = rows.slice((state.page - 1) * PAGE_SIZE, state.page * PAGE_SIZE)
  $('instances').tBodies[0].innerHTML = slice
    .map(
      (r) =>
        `<tr data-instance="${esc(r.instance)}" class="${state.selected === `inst:${r.instance}` ? 'selected' : ''}"><td>${esc(r.instance)}</td><td>${esc(r.role)}</td><td class="status-${r.status}">${r.status}</td><td class="num msg-in">${fmt(r.msgIn)}</td><td class="num msg-out">${fmt(r.msgOut)}</td><td class="num">${fmt(r.bytesIn)}</td><td class="num">${fmt(r.errors)}</td><td class="num">${r.inflight}</td><td class="num">${(r.elu * 100).toFixed(0)}%</td></tr>`,
    )
    .join('')
}
$('instances').addEventListener('click', (e) => {
  const tr = e.target.closest('tr[data-instance]')
  if (tr) select(`inst:${tr.dataset.instance}`)
})
for (const id of ['search', 'role-filter', 'status-filter'])
  $(id).addEventListener('input', () => {
    state.page = 1
    redraw()
  })
$('prev').onclick = () => {
  state.page = Math.max(1, state.page - 1)
  redraw()
}
$('next').onclick = () => {
  state.page++
  redraw()
}

function select(scope) {
  state.selected = state.selected === scope ? undefined : scope
  if (state.selected?.startsWith('inst:') && !state.history.has(state.selected)) backfill(state.selected)
  redraw()
}

// An instance selected for the first time gets its last 2 minutes from the API (summed over its routes), so its
// charts do not start empty; later points come from the pushes.
async function backfill(scope) {
  const instance = scope.slice(5)
  const row = state.live?.instances.find((r) => r.instance === instance)
  const opts = { credentials: 'same-origin' }
  try {
    const routes = await (await fetch(`/api/routes?instance=${encodeURIComponent(instance)}`, opts)).json()
    const metrics = {
      msgIn: 'messagesIn',
      msgOut: 'messagesOut',
      bytesIn: 'bytesIn',
      bytesOut: 'bytesOut',
      errors: 'errors',
    }
    const points = new Map()
    for (const r of routes.slice(0, 20)) {
      for (const [k, metric] of Object.entries(metrics)) {
        const q = new URLSearchParams({ instance, route: r.route, metric, windowSeconds: '120' })
        const s = await (await fetch(`/api/series?${q}`, opts)).json()
        s.values.forEach((v, i) => {
          const t = s.fromSecond + i
          let p = points.get(t)
          if (!p)
            points.set(
              t,
              (p = {
                t,
                msgIn: 0,
                msgOut: 0,
                bytesIn: 0,
                bytesOut: 0,
                errors: 0,
                inflight: null,
                pending: null,
                p50: null,
                p99: null,
                role: row?.role,
              }),
            )
          p[k] += v
        })
      }
    }
    const now = state.history.get(scope) ?? []
    const first = now[0]?.t ?? Number.POSITIVE_INFINITY
    // The current second is still being counted: leave it to the pushes.
    const past = [...points.values()]
      .filter((p) => p.t < first && p.t < Math.floor(Date.now() / 1000))
      .sort((a, b) => a.t - b.t)
    state.history.set(scope, [...past, ...now])
    redraw()
  } catch {
    // no backfill: the pushes fill the charts
  }
}

// ---- events log and alert ----
function addEvent(ev) {
  state.events.push(ev)
  if (state.events.length > 500) state.events.shift()
  const li = document.createElement('li')
  li.className = `ev-${ev.type.split(':')[1]}`
  li.textContent = `${new Date(ev.at).toLocaleTimeString()}  ${ev.type}  ${ev.instance} (${ev.role})${ev.previous ? ` was ${ev.previous}` : ''}`
  $('events').prepend(li)
  while ($('events').children.length > 500) $('events').lastChild.remove()
  if (ev.type === 'instance:down') {
    const a = $('alert')
    a.hidden = false
    a.textContent = `⚠ ${ev.instance} (${ev.role}) is DOWN since ${new Date(ev.lastSeen ?? ev.at).toLocaleTimeString()}`
    a.dataset.instance = ev.instance
  }
}

// ---- roles (a control server started with --topology) ----
function drawRoles(roles) {
  $('roles-panel').hidden = roles === undefined
  if (roles === undefined) return
  $('roles-app').textContent = `${roles.app} · assignment ${roles.generation}`
  $('roles-hosts').innerHTML = roles.hosts
    .map(
      (h) =>
        `<span class="pill host-${esc(h.state)}">${esc(h.host)} ${esc(h.address)} · ${esc(h.state)} · ${h.instances.length}</span>`,
    )
    .join(' ')
  $('roles').tBodies[0].innerHTML = roles.instances
    .map(
      (i) =>
        `<tr><td>${esc(i.instance)}</td><td>${esc(i.role)}</td><td>${esc(i.host)}${i.host === i.home ? '' : ` <small>(home ${esc(i.home)})</small>`}</td><td class="state-${esc(i.state)}">${esc(i.state)}</td><td class="num">${i.pid ?? '-'}</td><td class="num">${i.restarts}</td><td><button type="button" data-op="restart" data-instance="${esc(i.instance)}">restart</button> <button type="button" data-op="${i.state === 'stopped' || i.state === 'failed' ? 'start' : 'stop'}" data-instance="${esc(i.instance)}">${i.state === 'stopped' || i.state === 'failed' ? 'start' : 'stop'}</button></td></tr>`,
    )
    .join('')
  const names = [...new Set(roles.instances.map((i) => i.role))].sort()
  const sel = $('scale-role')
  if (sel.options.length !== names.length) {
    const was = sel.value
    sel.innerHTML = names.map((r) => `<option>${esc(r)}</option>`).join('')
    if (names.includes(was)) sel.value = was
  }
}

// Commands go to the API with the page's cookie (set from ?token=…); the result shows beside the buttons.
async function rolesCall(path, body) {
  const out = $('roles-result')
  try {
    const res = await fetch(path, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body ?? {}),
    })
    const json = await res.json().catch(() => ({}))
    out.textContent = res.ok
      ? `ok ${path.split('/').pop()}`
      : `${res.status} ${json.error?.code ?? ''} ${json.error?.message ?? ''}`
  } catch (err) {
    out.textContent = String(err)
  }
}
$('roles').addEventListener('click', (e) => {
  const b = e.target.closest('button[data-op]')
  if (b) rolesCall('/api/roles/command', { op: b.dataset.op, instance: b.dataset.instance })
})
$('scale').onclick = () =>
  rolesCall('/api/roles/scale', { role: $('scale-role').value, instances: Number($('scale-n').value) })
$('rebalance').onclick = () => rolesCall('/api/roles/rebalance')

function redraw() {
  if (!state.live) return
  drawRoles(state.live.roles)
  const c = state.live.counts
  $('counts').textContent = `up ${c.up} · suspect ${c.suspect} · down ${c.down} · left ${c.left}`
  drawTopology(state.live)
  drawTable(state.live)
  drawCharts()
  if (!c.down && !c.suspect) $('alert').hidden = true
}

// ---- the WebSocket ----
const token = new URLSearchParams(location.search).get('token') ?? undefined
const dd = connect(window.DD_WS_URL, token ? { token } : {})
dd.on('live', (live) => {
  $('conn').textContent = 'live'
  $('conn').className = 'pill live'
  state.live = live
  state.updatedAt = Date.now()
  state.liveAt = live.at
  record(live)
  requestAnimationFrame(redraw)
})
dd.on('event', addEvent)
dd.on('events', (list) => {
  for (const ev of list) addEvent(ev)
})
