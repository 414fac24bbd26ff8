import { Redis } from 'ioredis'
import { describe, expect, it, onTestFinished } from 'vitest'
import { Collector, RedisStore } from '../src/index.js'
import { makeReport, makeRoute, rawSender, until } from './helpers.js'
import { privateRedis, redisUrl, testPrefix } from './redis.js'

async function collectorOn(
  url: string,
  keyPrefix: string,
  extra: Partial<ConstructorParameters<typeof RedisStore>[0]> = {},
) {
  const store = new RedisStore({ url, keyPrefix, ...extra })
  const collector = new Collector({ bind: 'tcp://127.0.0.1:*', store })
  onTestFinished(() => {
    collector.destroy()
  })
  await collector.start()
  return { collector, store }
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0)

describe('RedisStore', () => {
  it('a collector restarted on the same Redis finds the members, snapshots and history', async () => {
    const url = await redisUrl()
    const prefix = testPrefix(url)
    const first = await collectorOn(url, prefix)
    const sim = await rawSender(first.collector.endpoint)
    const t = Date.now()
    await sim.send(
      'dd.mon.report',
      makeReport({ instance: 'a', seq: 1, at: t, routes: [makeRoute('r', { messagesIn: 10 })] }),
    )
    await sim.send(
      'dd.mon.report',
      makeReport({ instance: 'a', seq: 2, at: t + 1000, routes: [makeRoute('r', { messagesIn: 30 })] }),
    )
    await until(() => first.collector.stats.reports === 2, 'reports')
    await first.collector.close()

    const second = await collectorOn(url, prefix)
    const info = second.collector.instance('a')
    expect(info).toMatchObject({ instance: 'a', role: 'sim', startedAt: 1000 })
    expect(info?.report?.routes[0].counters.messagesIn).toBe(30)
    expect(sum(second.collector.series({ instance: 'a', route: 'n/r', metric: 'messagesIn' }).values)).toBe(
      30,
    )
    // Keys live under the prefix, with a TTL.
    const r = new Redis(url)
    onTestFinished(() => {
      r.disconnect()
    })
    const keys: string[] = []
    let cursor = '0'
    do {
      const [next, found] = await r.scan(cursor, 'MATCH', `${prefix}s:*`, 'COUNT', 1000)
      cursor = next
      keys.push(...found)
    } while (cursor !== '0')
    expect(keys.length).toBeGreaterThan(0)
    expect(await r.ttl(keys[0])).toBeGreaterThan(0)
    expect(await r.zscore(`${prefix}members`, 'a')).not.toBeNull()
  })

  it('Redis going away: keeps serving from memory, buffers (bounded), writes back, reports the gap', async () => {
    const redis = await privateRedis()
    const prefix = testPrefix(redis.url)
    const { collector, store } = await collectorOn(redis.url, prefix, { maxBufferedSeconds: 2 })
    const sim = await rawSender(collector.endpoint)
    let seq = 0
    let total = 0
    const report = async () => {
      seq++
      total += 10
      await sim.send(
        'dd.mon.report',
        makeReport({ instance: 'a', seq, routes: [makeRoute('r', { messagesIn: total })] }),
      )
      await until(() => collector.stats.reports === seq, `report ${seq}`)
    }
    await report()
    await redis.stop()
    await until(() => !collector.storeHealth().connected, 'the store to notice the outage')
    // Reports in five distinct seconds while Redis is down: more than the 2 buffered seconds.
    const seconds = new Set<number>()
    while (seconds.size < 5) {
      const s = Math.floor(Date.now() / 1000)
      if (!seconds.has(s)) {
        seconds.add(s)
        await report()
      }
      await new Promise((r) => setTimeout(r, 50))
    }
    // Served from memory all along.
    expect(collector.instance('a')?.report?.seq).toBe(seq)
    expect(sum(collector.series({ instance: 'a', route: 'n/r', metric: 'messagesIn' }).values)).toBe(total)
    const down = collector.storeHealth()
    expect(down.bufferedSeconds).toBeLessThanOrEqual(2)
    expect(down.gaps.length).toBeGreaterThan(0)
    expect(down.outages.at(-1)?.to).toBeUndefined()

    await redis.start()
    await until(() => {
      const h = collector.storeHealth()
      return h.connected && h.bufferedSeconds === 0 && h
    }, 'write-back after Redis returned')
    expect(collector.storeHealth().outages.at(-1)?.to).toBeGreaterThan(0)
    // What was buffered is in Redis now: the latest snapshot and the last seconds of the outage.
    const r = new Redis(redis.url)
    onTestFinished(() => {
      r.disconnect()
    })
    const snap = JSON.parse((await r.get(`${prefix}snap:a`)) ?? '{}')
    expect(snap.seq).toBe(seq)
    const last = Math.max(...seconds)
    expect(await r.hget(`${prefix}s:${last}`, 'a|n/r|messagesIn')).toBe('10')
    expect(store.health().kind).toBe('redis')
  })

  it('start() rejects with DD_ERR_MONITOR_STORE when Redis cannot be reached', async () => {
    const redis = await privateRedis()
    await redis.stop()
    const collector = new Collector({
      bind: 'tcp://127.0.0.1:*',
      store: new RedisStore({ url: redis.url, redis: { retryStrategy: () => null } }),
    })
    onTestFinished(() => {
      collector.destroy()
    })
    await expect(collector.start()).rejects.toMatchObject({ code: 'DD_ERR_MONITOR_STORE' })
  })
})
