// The parts of the API's JSON the console reads (lowerCamelCase, as the
// gateway's protojson writes it; 64-bit integers arrive as strings).

export type Scope = "SCOPE_READ" | "SCOPE_WRITE" | "SCOPE_ADMIN";

export interface Principal {
  accountId: string;
  tokenId: string;
  scopes?: Scope[];
}

export interface Project {
  id: string;
  name: string;
  description?: string;
  settings?: { statsMethod?: string; confidenceLevel?: number };
}

export interface Environment {
  id: string;
  key: string;
  name: string;
  sdkKey: string;
}

export interface FlagVariable {
  key: string;
  type?: string;
  defaultValue?: string;
}

export interface Flag {
  id: string;
  key: string;
  name: string;
  description?: string;
  variables?: FlagVariable[];
  etag?: string;
}

export interface Variation {
  id?: string;
  key: string;
  name: string;
  weight: number;
  baseline?: boolean;
  featureEnabled?: boolean;
  /** variables are the flag variable overrides, kept as the API sent them. */
  variables?: Record<string, unknown>;
}

export interface Metric {
  eventKey: string;
  primary?: boolean;
  /** kind, direction, role and capping are kept as the API sent them. */
  kind?: string;
  direction?: string;
  role?: string;
  capping?: unknown;
}

export interface Experiment {
  id: string;
  key: string;
  name: string;
  description?: string;
  status?: string;
  flagId?: string;
  trafficAllocation?: number;
  variations?: Variation[];
  metrics?: Metric[];
  environmentKeys?: string[];
  startTime?: string;
  endTime?: string;
  etag?: string;
}

export interface EventType {
  id: string;
  key: string;
  name: string;
}

export interface Interval {
  lower?: number;
  upper?: number;
}

export interface Lift {
  value?: number;
  confidenceInterval?: Interval;
  relativeAvailable?: boolean;
  significance?: number;
  isSignificant?: boolean;
  liftStatus?: string;
  chanceToBeatBaseline?: number;
  expectedLoss?: number;
  baselineExpectedLoss?: number;
  credibleInterval?: Interval;
  /** cuped is the CUPED-adjusted comparison, when requested and applied. */
  cuped?: { value?: number; interval?: Interval; relativeAvailable?: boolean; varianceReduction?: number };
  visitorsRemaining?: string;
  visitorsRemainingKnown?: boolean;
  insufficientData?: boolean;
}

/** DailyLift is a variation's cumulative lift at the end of one day. */
export interface DailyLift {
  value?: number;
  interval?: Interval;
  relativeAvailable?: boolean;
  insufficientData?: boolean;
}

export interface DailyPoint {
  day: string;
  samples?: string;
  conversions?: string;
  value?: number;
  rate?: number;
  lift?: DailyLift;
}

export interface VariationResult {
  variationId: string;
  variationKey: string;
  isBaseline?: boolean;
  samples?: string;
  converters?: string;
  conversions?: string;
  value?: number;
  rate?: number;
  lift?: Lift;
  series?: DailyPoint[];
}

export interface MetricResults {
  eventKey: string;
  aggregator?: string;
  primary?: boolean;
  cappedAt?: number;
  cupedStatus?: string;
  results?: VariationResult[];
}

export interface Results {
  experimentId: string;
  reach?: { totalCount?: string; variations?: { variationKey: string; count?: string; variationReach?: number; expectedWeight?: number }[] };
  sampleRatioMismatch?: { tested?: boolean; pValue?: number; mismatch?: boolean; unexpectedTraffic?: boolean };
  statsConfig?: { statsMethod?: string; confidenceLevel?: number };
  metrics?: MetricResults[];
  computeTime?: string;
}

/** RuleVariation is what a delivery or the everyone-else rule serves. */
export interface RuleVariation {
  id?: string;
  key: string;
  featureEnabled?: boolean;
  variables?: Record<string, string>;
}

/** FlagRuleset is how a flag is decided in one environment. */
export interface FlagRuleset {
  flagId?: string;
  environmentKey?: string;
  enabled?: boolean;
  experimentRules?: { experimentId: string; experimentKey?: string; status?: string; allowlist?: Record<string, string> }[];
  deliveries?: { id?: string; key: string; audienceIds?: string[]; percentage?: number; variation?: RuleVariation }[];
  everyoneElse?: { percentage?: number; variation?: RuleVariation };
  etag?: string;
}
