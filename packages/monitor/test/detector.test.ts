import { describe, expect, it } from 'vitest'
import { fillDetector, judge } from '../src/collector/detector.js'
import { newInstanceState, recordGap } from '../src/collector/instance-state.js'

describe('k-missed-intervals detector', () => {
  const o = fillDetector()

  it('suspects after 2 and downs after 4 missed intervals on a steady instance', () => {
    expect(judge(499, 250, o, 260)).toBe('up')
    expect(judge(500, 250, o, 260)).toBe('suspect')
    expect(judge(1000, 250, o, 260)).toBe('down')
  })

  it('raises both thresholds when recent gaps were long (a saturated machine), and forgets them', () => {
    const s = newInstanceState(
      { instance: 'i', role: 'r', host: 'h', pid: 1, startedAt: 1, status: 'up', lastSeen: 0 },
      0,
    )
    for (let i = 0; i < 10; i++) recordGap(s, 250, 2000)
    recordGap(s, 800, 2000)
    expect(s.longestGap).toBe(800)
    // 2 x 800 = 1,600 ms before down, suspect scaled alike.
    expect(judge(1000, 250, o, s.longestGap)).toBe('suspect')
    expect(judge(1599, 250, o, s.longestGap)).toBe('suspect')
    expect(judge(1600, 250, o, s.longestGap)).toBe('down')
    // 32 steady gaps later the long one is out of the window.
    for (let i = 0; i < 32; i++) recordGap(s, 250, 2000)
    expect(s.longestGap).toBe(250)
    expect(judge(1000, 250, o, s.longestGap)).toBe('down')
    // One outage cannot blind the detector: gaps are capped.
    recordGap(s, 60_000, 2000)
    expect(s.longestGap).toBe(2000)
  })

  it('jitterFactor 0 turns the adaptive floor off', () => {
    expect(judge(1000, 250, fillDetector({ jitterFactor: 0 }), 5000)).toBe('down')
    expect(() => fillDetector({ jitterFactor: -1 })).toThrow(/jitterFactor/)
  })
})
