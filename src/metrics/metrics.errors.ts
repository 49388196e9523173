/** Every error code the metrics endpoint can answer with (the `error` of the JSON answer). */
export enum MetricsError {
  /** METRICS_TOKEN is not set: the endpoint does not exist (404). */
  MetricsDisabled = 'not_found',
  Unauthorized = 'unauthorized',
}
