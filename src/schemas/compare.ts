import { type TopicFilter } from '../core/topic-filter.ts'
import { describeCause } from '../errors.ts'
import { type RegistryClient } from './registry-client.ts'
import { type SchemaIdMode, type SubjectSyncState } from '../engine-events/index.ts'

/**
 * The schema side of `status`, read from both registries now (the replicator may be down): per
 * selected source subject, how many live versions the target holds the same schema for (under
 * keep-ids: also under the same id), how many are pending, which are soft-deleted on the source.
 * Read-only: nothing is registered.
 */

export interface RegistryComparison {
  compared: boolean
  error: string | null
  subjects: SubjectSyncState[]
  totals: { subjects: number; versions: number; inSync: number; pending: number; softDeleted: number }
}

export async function compareRegistries(
  source: RegistryClient,
  target: RegistryClient,
  filter: TopicFilter,
  mode: SchemaIdMode
): Promise<RegistryComparison> {
  const result: RegistryComparison = {
    compared: false,
    error: null,
    subjects: [],
    totals: { subjects: 0, versions: 0, inSync: 0, pending: 0, softDeleted: 0 }
  }
  try {
    const subjects = (await source.subjects()).filter(s => filter.matches(s)).sort()
    for (const subject of subjects) {
      const { live, softDeleted } = await source.liveAndDeleted(subject)
      const state: SubjectSyncState = {
        subject,
        versions: live.length,
        inSync: 0,
        pending: 0,
        failed: null,
        softDeleted,
        compatibility: await source.compatibility(subject)
      }
      for (const v of live) {
        const version = await source.version(subject, v)
        const found = await target.lookup(subject, version)
        if (found !== null && (mode === 'translate-ids' || found.id === version.id)) state.inSync++
        else state.pending++
      }
      result.subjects.push(state)
      result.totals.subjects++
      result.totals.versions += state.versions
      result.totals.inSync += state.inSync
      result.totals.pending += state.pending
      result.totals.softDeleted += state.softDeleted.length
    }
    result.compared = true
  } catch (error) {
    result.error = describeCause(error)
  }
  return result
}
