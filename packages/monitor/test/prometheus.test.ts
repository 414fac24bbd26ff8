import parsePrometheusTextFormat from 'parse-prometheus-text-format'
import { describe, expect, it } from 'vitest'
import { makeReport, makeRoute, rawSender, startCollector, until } from './helpers.js'

describe('Prometheus exposition', () => {
  it('exports _total counters, gauges and role/instance/route labels that a real parser reads', async () => {
    const collector = await startCollector()
    const sim = await rawSender(collector.endpoint)
    await sim.send(
      'dd.mon.report',
      makeReport({
        instance: 'api-1',
        role: 'api',
        routes: [makeRoute('users', { messagesIn: 42, bytesIn: 4200, errors: 1, expired: 2 })],
      }),
    )
    await sim.send('dd.mon.report', makeReport({ instance: 'bad', v: 9 as 1 }))
    await until(
      () => collector.stats.reports === 1 && collector.stats.refused.DD_ERR_MONITOR_VERSION === 1,
      'reports',
    )
    const { url } = await collector.serveMetrics()
    const res = await fetch(url)
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/)
    const text = await res.text()
    expect((await fetch(url.replace('/metrics', '/other'))).status).toBe(404)
    const families = parsePrometheusTextFormat(text) as {
      name: string
      type: string
      metrics: { value: string; labels: Record<string, string> }[]
    }[]
    const family = (name: string) => families.find((f) => f.name === name)
    const received = family('dripdrop_route_messages_received_total')
    expect(received?.type).toBe('COUNTER')
    expect(received?.metrics).toEqual([
      { value: '42', labels: { role: 'api', instance: 'api-1', route: 'n/users' } },
    ])
    expect(family('dripdrop_route_received_bytes_total')?.metrics[0].value).toBe('4200')
    expect(family('dripdrop_route_expired_total')?.metrics[0].value).toBe('2')
    expect(family('dripdrop_instance_up')?.metrics).toEqual([
      { value: '1', labels: { role: 'api', instance: 'api-1', status: 'up' } },
    ])
    expect(family('dripdrop_process_resident_memory_bytes')?.type).toBe('GAUGE')
    expect(family('dripdrop_collector_refused_total')?.metrics).toEqual([
      { value: '1', labels: { code: 'DD_ERR_MONITOR_VERSION' } },
    ])
  })
})
