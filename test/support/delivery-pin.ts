import { YAMLMap, YAMLSeq, parseDocument } from 'yaml'

/**
 * Exactly-once is the default delivery; most of this suite asserts at-least-once arithmetic (target
 * offsets equal to source offsets, end offsets as record counts, replays after a kill), and under
 * exactly-once a commit marker takes a target offset. So a link that names no delivery is pinned to
 * at-least-once where spawned and in-process replicators get their config (writeConfig,
 * startReplicator) and in tests that compare end offsets (http.test.ts). Tests that parse their
 * config themselves (offsets, failover, failback, schemas, dashboard, topologies) run the default,
 * exactly-once, as do exactly-once.test.ts, kill-loop-exactly-once, security and the demo.
 */
export function pinAtLeastOnce(yaml: string): string {
  const doc = parseDocument(yaml)
  const links = doc.get('links')
  if (!(links instanceof YAMLSeq)) return yaml
  let changed = false
  for (const link of links.items) {
    if (link instanceof YAMLMap && !link.has('delivery')) {
      link.set('delivery', 'at-least-once')
      changed = true
    }
  }
  return changed ? doc.toString() : yaml
}
