/** What the engine reports as it happens (observability/metrics.ts counts it); a no-op serves when nothing is scraped. */
export interface EngineEvents {
  /** One produce request for one partition, acknowledged after `seconds`. */
  produced(link: string, seconds: number): void
  /** An error that stopped or skipped something; `kind` is the KDR_ERR_* code. */
  error(link: string, kind: string): void
  /** A retried operation: fetch, produce, schema-registry, commit. */
  retry(link: string, operation: string): void
}

export const NO_EVENTS: EngineEvents = {
  produced: () => {},
  error: () => {},
  retry: () => {}
}
