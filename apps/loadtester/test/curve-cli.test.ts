// dripdrop-load over CURVE with real processes (issue 10): `run --curve-keys/--curve-allow` (the coordinator)
// and `agent --curve-keys/--curve-server-key`. An agent runs jobs only from the coordinator whose key it
// trusts: an untrusted coordinator gets nothing run (its target sees zero requests) and the refusal is said on
// both sides; agents with no keys, the wrong coordinator key or an unlisted key are refused and reported while
// the listed agent's run completes. Secret keys never reach any output.
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { target, freePort, outputs, start, keys } from './support/curve-cli.js'

const count = (text: string, re: RegExp) => text.split('\n').filter((l) => re.test(l)).length

describe('dripdrop-load over CURVE', () => {
  it('run --curve-keys/--curve-allow: no keys, a wrong coordinator key and an unlisted key are refused and reported; the listed agent runs the test', async () => {
    const { dir, pairs } = keys()
    const t = await target()
    const endpoint = `tcp://127.0.0.1:${await freePort()}`
    const run = start([
      'run',
      '--url',
      t.url,
      '--rate',
      '20',
      '-d',
      '1s',
      '--listen',
      endpoint,
      '--agents',
      '1',
      '-q',
      '--json',
      '--curve-keys',
      join(dir, 'coord'),
      '--curve-allow',
      join(dir, 'agents'),
    ])
    await run.line(/waiting for 1 agent/)
    expect(run.output()).toContain(`CURVE, public key ${pairs.coord.publicKey}`)
    const refusals = () => count(run.output(), /^agent refused at the CURVE handshake/)

    // One intruder at a time: each refusal is said by the coordinator (the 1st of its kind).
    const plain = start(['agent', '--connect', endpoint])
    await run.line(/agent refused at the CURVE handshake/)
    plain.child.kill('SIGKILL')
    await plain.exit
    let seen = refusals()
    const wrong = start([
      'agent',
      '--connect',
      endpoint,
      '--curve-keys',
      join(dir, 'agent'),
      '--curve-server-key',
      join(dir, 'rogue.pub'),
    ])
    await run.line(/agent refused at the CURVE handshake \[CRYPTOGRAPHIC\]/)
    await wrong.line(/CURVE handshake with the coordinator failed/)
    wrong.child.kill('SIGKILL')
    await wrong.exit
    expect(refusals()).toBeGreaterThan(seen)
    seen = refusals()
    const outsider = start([
      'agent',
      '--connect',
      endpoint,
      '--curve-keys',
      join(dir, 'outsider'),
      '--curve-server-key',
      pairs.coord.publicKey,
    ])
    await run.line(
      new RegExp(`not on the allow-list \\(client key ${escapeRegExp(pairs.outsider.publicKey)}`),
    )
    expect(refusals()).toBeGreaterThan(seen)

    // The listed agent (keys from the environment this time) runs the whole test.
    const member = start(['agent', '--connect', endpoint], {
      DRIPDROP_LOAD_CURVE_KEYS: join(dir, 'agent.key'),
      DRIPDROP_LOAD_CURVE_SERVER_KEY: join(dir, 'coord.pub'),
    })
    expect(await run.exit).toBe(0)
    const report = JSON.parse(
      run
        .output()
        .split('\n')
        .find((l) => l.startsWith('{')) as string,
    )
    expect(report.agents).toHaveLength(1)
    expect(report.counters.responses).toBe(20)
    expect(t.count()).toBe(20)
    await member.line(/job \w+ done/)
    expect(outsider.output()).not.toMatch(/job \w+ started/)
    for (const p of [plain, wrong, outsider]) expect(p.output()).not.toMatch(/joined|job \w+ started/)
    member.child.kill('SIGINT')
    expect(await member.exit).toBe(0)
    for (const out of outputs)
      for (const pair of Object.values(pairs)) expect(out()).not.toContain(pair.secretKey)
  })

  it('agent --curve-server-key: an untrusted coordinator gets nothing run (its target sees zero requests), refused on both sides', async () => {
    const { dir, pairs } = keys()
    const t = await target()
    const endpoint = `tcp://127.0.0.1:${await freePort()}`
    // A coordinator with its own keys and no allow-list: it would take any agent.
    const rogue = start([
      'run',
      '--url',
      t.url,
      '--rate',
      '20',
      '-d',
      '1s',
      '--listen',
      endpoint,
      '--agents',
      '1',
      '-q',
      '--curve-keys',
      join(dir, 'rogue'),
    ])
    await rogue.line(/waiting for 1 agent/)
    // The agent trusts only `coord`.
    const agent = start([
      'agent',
      '--connect',
      endpoint,
      '--curve-keys',
      join(dir, 'agent'),
      '--curve-server-key',
      join(dir, 'coord.pub'),
    ])
    await agent.line(/CURVE handshake with the coordinator failed/)
    await rogue.line(/agent refused at the CURVE handshake/)
    // Ten more attempts (libzmq retries every ~100 ms) and still nothing: the agent says the 10th too.
    await agent.line(/CURVE handshake with the coordinator failed \(10 times\)/)
    expect(agent.output()).not.toMatch(/joined|job \w+ started/)
    expect(rogue.output()).toMatch(/waiting for 1 agent/)
    rogue.child.kill('SIGKILL')
    await rogue.exit
    expect(t.count()).toBe(0)
    agent.child.kill('SIGINT')
    expect(await agent.exit).toBe(0)
    for (const out of outputs)
      for (const pair of Object.values(pairs)) expect(out()).not.toContain(pair.secretKey)
  })
})

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}
