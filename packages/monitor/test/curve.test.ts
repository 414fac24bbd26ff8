// CURVE on the monitor backchannel (issue 10): a reporter with no keys, with a wrong collector key, or with a
// valid but unlisted key is refused at the handshake and counted; its reports never reach the collector.
import { generateKeyPair, HandshakeError } from '@dripdrop/zmq'
import { describe, expect, it, onTestFinished } from 'vitest'
import { optionsFromEnv, Reporter, type ReporterOptions } from '../src/index.js'
import { startApp, startCollector, until } from './helpers.js'

async function reporter(options: ReporterOptions): Promise<Reporter> {
  const r = new Reporter({ intervalMs: 50, heartbeatIntervalMs: 20, ...options })
  onTestFinished(() => {
    r.destroy()
  })
  const { node } = await startApp(options.instance)
  r.add(node)
  await r.start()
  return r
}

describe('monitor backchannel over CURVE', () => {
  it('only reporters with a listed key are heard; the others are refused and counted', async () => {
    const server = generateKeyPair()
    const member = generateKeyPair()
    const outsider = generateKeyPair()
    const collector = await startCollector({ curve: { ...server, allow: [member.publicKey] } })
    const failures: HandshakeError[] = []
    collector.events.on('report:error', ({ error }) => {
      if (error instanceof HandshakeError) failures.push(error)
    })
    const cause = (code: string) => failures.some((e) => (e.cause as { code?: string }).code === code)
    const at = collector.endpoint
    await reporter({ collector: at, role: 'x', instance: 'plain' })
    await until(() => cause('ERR_ZMTP_MECHANISM_MISMATCH'), 'the NULL reporter refused')
    const wrong = { ...member, serverKey: outsider.publicKey }
    await reporter({ collector: at, role: 'x', instance: 'wrong', curve: wrong })
    await until(() => cause('ERR_ZMTP_CRYPTOGRAPHIC'), 'the wrong-server-key reporter refused')
    const unlisted = { ...outsider, serverKey: server.publicKey }
    await reporter({ collector: at, role: 'x', instance: 'outsider', curve: unlisted })
    await until(
      () => failures.some((e) => e.reason === 'auth' && e.clientKey === outsider.publicKey),
      'the unlisted reporter refused',
    )
    await reporter({
      collector: at,
      role: 'x',
      instance: 'member',
      curve: { ...member, serverKey: server.publicKey },
    })
    await until(() => collector.instance('member')?.report, 'the member report')
    expect(collector.instances().map((i) => i.instance)).toEqual(['member'])
    expect(collector.stats.refused.DD_ERR_HANDSHAKE).toBe(failures.length)
    expect(failures.length).toBeGreaterThanOrEqual(3)
  })

  it('optionsFromEnv takes CURVE keys from DRIPDROP_CURVE_*', () => {
    const pair = generateKeyPair()
    const server = generateKeyPair()
    expect(
      optionsFromEnv({
        DRIPDROP_COLLECTOR: 'tcp://control:7100',
        DRIPDROP_CURVE_SECRET_KEY: pair.secretKey,
        DRIPDROP_CURVE_SERVER_KEY: server.publicKey,
      })?.curve,
    ).toEqual({ ...pair, serverKey: server.publicKey })
  })
})
