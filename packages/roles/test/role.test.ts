// role(): a real child process learns who it is from the DRIPDROP_* environment, follows address updates sent
// over IPC, resolves from a topology file when not supervised, and refuses clearly when it can tell nothing.
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { type ResolvedInstance, resolveTopology, loadTopology, roleEnv } from '../src/index.js'
import { FIXTURES, spawnNode } from './helpers.js'

const CHILD = join(FIXTURES, 'role-child.mjs')
// The child must not inherit a role from whoever runs the tests.
const CLEAN = { DRIPDROP_ROLE: '', DRIPDROP_INSTANCE: '', DRIPDROP_ADDRESSES: '', DRIPDROP_APP: '' }

async function worker2(): Promise<ResolvedInstance> {
  const all = resolveTopology(await loadTopology(join(FIXTURES, 'shop.yaml')))
  return all.find((i) => i.instance === 'worker-2')!
}

describe('role()', () => {
  it('reads the DRIPDROP_* environment a supervisor sets', async () => {
    const me = await worker2()
    const { lines, exit } = spawnNode(CHILD, { env: { ...CLEAN, ...roleEnv(me), NOW: '1' } })
    expect(await lines.json()).toEqual({
      app: 'shop',
      role: 'worker',
      instance: 'worker-2',
      host: 'local',
      control: 'tcp://127.0.0.1:7200',
      addresses: me.addresses,
    })
    expect(await exit).toEqual({ code: 0, signal: null })
  })

  it('emits change with the addresses an IPC { $dripdrop: "addresses" } message carries, ignores other messages', async () => {
    const me = await worker2()
    const { child, lines, exit } = spawnNode(CHILD, {
      env: { ...CLEAN, ...roleEnv(me), CHANGES: '2', KEEP: '1' },
      ipc: true,
    })
    await lines.json()
    const moved = { bind: {}, connect: { ...me.addresses.connect, work: ['tcp://127.0.0.1:7399'] } }
    child.send({ hello: 1 })
    child.send({ $dripdrop: 'addresses', addresses: { bind: 'nope' } })
    child.send({ $dripdrop: 'addresses', addresses: moved })
    expect(await lines.json()).toEqual({ change: moved, now: moved })
    const again = { bind: {}, connect: { work: [] } }
    child.send({ $dripdrop: 'addresses', addresses: again })
    expect(await lines.json()).toEqual({ change: again, now: again })
    // After close() the IPC channel no longer holds the process: it exits by itself.
    expect(await exit).toEqual({ code: 0, signal: null })
  })

  it('an IPC channel alone does not keep a role process alive', async () => {
    const me = await worker2()
    const { lines, exit } = spawnNode(CHILD, { env: { ...CLEAN, ...roleEnv(me), CHANGES: '5' }, ipc: true })
    await lines.json()
    expect(await exit).toEqual({ code: 0, signal: null })
  })

  it('outside a supervisor: resolves { role, topology } from the file, or rejects with DD_ERR_ROLE saying how to run it', async () => {
    const options = { role: 'worker', topology: join(FIXTURES, 'shop.yaml'), instance: 'worker-2' }
    const resolved = spawnNode(CHILD, { env: { ...CLEAN, NOW: '1', ROLE_OPTIONS: JSON.stringify(options) } })
    expect(await resolved.lines.json()).toMatchObject({ role: 'worker', instance: 'worker-2', host: 'local' })
    expect((await resolved.exit).code).toBe(0)

    const none = spawnNode(CHILD, { env: CLEAN })
    const out = await none.lines.json()
    expect(out.error).toBe('DD_ERR_ROLE')
    expect(out.message).toMatch(/DRIPDROP_ROLE is not set.*dripdrop start <topology> --role <role>/)
    expect((await none.exit).code).toBe(3)

    const broken = spawnNode(CHILD, {
      env: {
        ...CLEAN,
        DRIPDROP_ROLE: 'w',
        DRIPDROP_INSTANCE: 'w-1',
        DRIPDROP_APP: 'a',
        DRIPDROP_ADDRESSES: '{',
      },
    })
    expect(await broken.lines.json()).toMatchObject({
      error: 'DD_ERR_ROLE',
      message: expect.stringMatching(/DRIPDROP_ADDRESSES is not JSON/),
    })

    const unknown = { role: 'worker', topology: join(FIXTURES, 'shop.yaml'), instance: 'worker-9' }
    const nine = spawnNode(CHILD, { env: { ...CLEAN, ROLE_OPTIONS: JSON.stringify(unknown) } })
    expect(await nine.lines.json()).toMatchObject({
      error: 'DD_ERR_TOPOLOGY',
      message: expect.stringMatching(/role "worker" has no instance worker-9.*instances: worker-1, worker-2/),
    })
  })
})
