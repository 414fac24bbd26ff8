import { availableParallelism } from 'node:os'
import { describe, expect, it } from 'vitest'
import { fillPoolOptions } from '../src/options.js'

describe('pool options', () => {
  it('fills defaults', () => {
    expect(fillPoolOptions({ tasks: '/tmp/tasks.js' })).toEqual({
      tasksUrl: 'file:///tmp/tasks.js',
      threads: availableParallelism(),
      concurrencyPerThread: 32,
      listen: undefined,
      maxQueue: 10_000,
      maxRetries: 2,
      timeoutMs: undefined,
      queueTimeoutMs: Number.POSITIVE_INFINITY,
      heartbeatIntervalMs: 1000,
      heartbeatMisses: 3,
      maxMessageBytes: 16 * 1024 * 1024,
      maxWorkerConcurrency: 256,
      maxPeerQueueBytes: 32 * 1024 * 1024,
    })
  })

  it('names the offending option', () => {
    const bad: [object, string][] = [
      [{ tasks: 'x', threads: 1.5 }, 'options.threads'],
      [{ threads: 1 }, 'options.tasks'],
      [{ tasks: 3 }, 'options.tasks'],
      [{ tasks: 'x', maxQueue: 0 }, 'options.maxQueue'],
      [{ tasks: 'x', maxRetries: -1 }, 'options.maxRetries'],
      [{ tasks: 'x', timeoutMs: 0 }, 'options.timeoutMs'],
      [{ tasks: 'x', heartbeatIntervalMs: -5 }, 'options.heartbeatIntervalMs'],
      [{ tasks: 'x', listen: 'localhost' }, 'options.listen'],
      [{ threads: 0 }, 'no worker'],
      [{ tasks: 'x', maxWorkerConcurrency: 0 }, 'options.maxWorkerConcurrency'],
      [{ tasks: 'x', maxPeerQueueBytes: 0 }, 'options.maxPeerQueueBytes'],
      [{ tasks: 'x', concurrencyPerThread: 0 }, 'options.concurrencyPerThread'],
      [{ tasks: 'x', slotsPerThread: 4 }, 'renamed options.concurrencyPerThread'],
      [{ tasks: 'x', maxQeueu: 4 }, 'options.maxQeueu is not a pool option'],
    ]
    for (const [options, message] of bad) expect(() => fillPoolOptions(options)).toThrow(message)
  })

  it('accepts a remote-only pool', () => {
    expect(fillPoolOptions({ threads: 0, listen: 'tcp://127.0.0.1:*' })).toMatchObject({
      threads: 0,
      tasksUrl: undefined,
    })
  })
})
