// The arithmetic of moving a lost agent's share onto the survivors: a run's open-model schedule as
// piecewise-linear stages, cut at a point in time, scaled, and integrated over a gap. Pure functions, no I/O.
import type { Stage } from '../engine/schedule.js'

/** An open-model schedule: the rate ramps linearly from `startRate` through each stage's `rate` (req/s). */
export interface RatePlan {
  startRate: number
  stages: Stage[]
}

/** The plan of a run: `stages` (from `startRate`, default 0) or a constant `rate` over `durationMs`. */
export function ratePlan(o: {
  rate?: number
  stages?: readonly Stage[]
  startRate?: number
  durationMs: number
}): RatePlan {
  if (o.stages !== undefined) return { startRate: o.startRate ?? 0, stages: o.stages.map((s) => ({ ...s })) }
  const rate = o.rate ?? 0
  return { startRate: rate, stages: [{ rate, durationMs: o.durationMs }] }
}

/** Total length of a plan, ms. */
export function planDurationMs(p: RatePlan): number {
  return p.stages.reduce((s, st) => s + st.durationMs, 0)
}

/** The rate (req/s) of a plan at `t` ms from its start (0 past its end). */
export function rateAt(p: RatePlan, t: number): number {
  let at = 0
  let previous = p.startRate
  for (const s of p.stages) {
    if (t < at + s.durationMs) return previous + ((s.rate - previous) * Math.max(0, t - at)) / s.durationMs
    at += s.durationMs
    previous = s.rate
  }
  return 0
}

/** The part of a plan from `fromMs` to its end, as a plan of its own (its t = 0 is `fromMs`). */
export function planFrom(p: RatePlan, fromMs: number): RatePlan {
  const stages: Stage[] = []
  let at = 0
  for (const s of p.stages) {
    const end = at + s.durationMs
    if (end > fromMs) {
      const d = Math.round(end - Math.max(at, fromMs))
      if (d > 0) stages.push({ rate: s.rate, durationMs: d })
    }
    at = end
  }
  return { startRate: rateAt(p, fromMs), stages }
}

/** A plan with every rate multiplied by `k`. */
export function scalePlan(p: RatePlan, k: number): RatePlan {
  return {
    startRate: p.startRate * k,
    stages: p.stages.map((s) => ({ rate: s.rate * k, durationMs: s.durationMs })),
  }
}

/** Arrivals a plan calls for between `t0` and `t1` ms (the integral of its rate). */
export function arrivalsBetween(p: RatePlan, t0: number, t1: number): number {
  if (!(t1 > t0)) return 0
  let total = 0
  let at = 0
  let previous = p.startRate
  for (const s of p.stages) {
    const end = at + s.durationMs
    const a = Math.max(at, t0)
    const b = Math.min(end, t1)
    if (b > a) {
      const ra = previous + ((s.rate - previous) * (a - at)) / s.durationMs
      const rb = previous + ((s.rate - previous) * (b - at)) / s.durationMs
      total += (((ra + rb) / 2) * (b - a)) / 1000
    }
    at = end
    previous = s.rate
  }
  return total
}
