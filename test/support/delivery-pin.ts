import { YAMLMap, YAMLSeq, parseDocument } from 'yaml'

/**
 * The default delivery became exactly-once after most of this suite was written. Its tests assert
 * at-least-once arithmetic (target offsets equal to source offsets, end offsets as record counts,
 * replays after a kill); a commit marker takes a target offset under exactly-once. So a link that
 * names no delivery is pinned to at-least-once where spawned and in-process replicators get their
 * config (writeConfig, startReplicator) and in tests that compare end offsets (http.test.ts). Tests
 * that parse their config themselves (offsets, failover, failback, schemas, dashboard, topologies)
 * run the default, exactly-once, as do exactly-once.test.ts, kill-loop-exactly-once, security and the demo.
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
