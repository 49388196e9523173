import { EnvReader, PLACEHOLDER_SECRETS } from './env';

/** The `metrics` namespace: who may read GET /metrics. */
export interface MetricsNamespace {
  /** Bearer token of GET /metrics; undefined: the route answers 404. */
  token?: string;
}

/** METRICS_TOKEN. */
export function parseMetrics(read: EnvReader): MetricsNamespace {
  // Metrics tell traffic, refusal reasons and pool use: not for the internet at large.
  const token = read.str('METRICS_TOKEN');
  if (token !== undefined && (token.length < 24 || PLACEHOLDER_SECRETS.has(token.toLowerCase()))) {
    read.problems.push('METRICS_TOKEN: must be at least 24 characters (openssl rand -hex 24)');
  }
  return { token };
}
