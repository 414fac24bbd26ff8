import { describe, expect, it } from 'vitest'
import { Samples } from '../src/stats.js'

describe('Samples', () => {
  it('reports zeros before any sample', () => {
    expect(new Samples().percentiles()).toEqual({ p50: 0, p90: 0, p99: 0 })
  })

  it('computes percentiles over the last 1024 samples only', () => {
    const s = new Samples()
    for (let i = 0; i < 1024; i++) s.add(1000)
    for (let i = 1; i <= 1024; i++) s.add(i)
    expect(s.percentiles()).toEqual({ p50: 513, p90: 922, p99: 1014 })
  })
})
