export { DestroyedError, DripdropError, ScenarioError, ThresholdError } from './errors.js'
export {
  type EngineState,
  LoadEngine,
  type LoadEngineEventMap,
  LoadEngineEvents,
  type RunResult,
} from './engine/load-engine.js'
export type { LoadEngineOptions } from './engine/options.js'
export { ArrivalSchedule, type Stage } from './engine/schedule.js'
export { loadScenario, parseScenario, SCENARIO_SCHEMA } from './scenario/scenario-file.js'
export { seededRandom } from './scenario/request-source.js'
export type {
  DynamicRequest,
  RequestContext,
  RequestFactory,
  RequestSpec,
  Scenario,
  ScenarioDocument,
} from './scenario/types.js'
export {
  addCounters,
  type Counters,
  ERROR_KINDS,
  type ErrorKind,
  emptyCounters,
  errorCount,
  errorKindOf,
} from './stats/counters.js'
export {
  createHistogram,
  decodeHistogram,
  encodeHistogram,
  type Histogram,
  type LatencySummary,
  PERCENTILES,
  summarize,
} from './stats/histogram.js'
export {
  emptyInterval,
  type IntervalStats,
  mergeIntervals,
  type NameInterval,
  StatsAccumulator,
} from './stats/interval.js'
export { type SeriesPoint, seriesPoint } from './stats/series.js'
export { htmlReport } from './report/html-report.js'
export { buildReport, type NameReport, type Report, reportOf, type RunSettings } from './report/report.js'
export { formatMs, summaryText } from './report/summary-text.js'
export {
  checkThresholds,
  metricValue,
  parseThreshold,
  type Threshold,
  type ThresholdResult,
} from './report/thresholds.js'
export { AgentAuthError, AgentProtocolError, NoAgentsError } from './errors.js'
export { Agent, type AgentEventMap, type AgentOptions } from './distributed/agent.js'
export {
  type AddedPart,
  type AgentInfo,
  type AgentLoss,
  type AgentShare,
  Coordinator,
  type CoordinatorEventMap,
  type CoordinatorOptions,
  type DistributedResult,
  type DistributedRunOptions,
  split,
} from './distributed/coordinator.js'
export { type LocalAgents, startLocalAgents } from './distributed/local-agents.js'
export { JOB_ENGINE_KEYS, type JobScenario, type JobShare } from './distributed/messages.js'
