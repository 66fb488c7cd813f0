import { YAMLMap, YAMLSeq, parseDocument } from 'yaml'

/**
 * The default delivery became exactly-once after most of this suite was written. Its tests assert
 * at-least-once arithmetic (target offsets equal to source offsets, end offsets as record counts,
 * replays after a kill); a commit marker takes a target offset under exactly-once. So every link that
 * names no delivery is pinned to at-least-once here, where test configs are written; tests of
 * exactly-once (exactly-once.test.ts, kill-loop-exactly-once, security, the demo) name it or run the
 * default outside this helper.
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
