import { type LinkConfig } from '../config/index.ts'
import { TopicFilter } from '../core/topic-filter.ts'
import { KdrError } from '../errors.ts'
import { type Logger } from '../observability/logger.ts'
import { RegistryClient, type RegistryConnection } from '../schemas/registry-client.ts'
import { SchemaSync } from '../schemas/schema-sync.ts'
import { type CopierSchemas } from './copier-types.ts'

/**
 * Schema replication of a link (link-replicator.ts): both registries must answer (and keep ids,
 * under keep-ids) before any record moves; a first full pass runs before the copiers start. Returns
 * the sync (later passes every schemas.intervalMs) and what the copiers use of it, or null when the
 * link does not replicate schemas.
 */
export async function startSchemaSync(
  config: LinkConfig,
  registries: ReadonlyMap<string, RegistryConnection>,
  log: Logger
): Promise<{ sync: SchemaSync; copierSchemas: CopierSchemas } | null> {
  const schemas = config.schemas
  if (schemas === null) return null
  const source = registries.get(config.source)
  const target = registries.get(config.target)
  if (source === undefined || target === undefined) {
    throw new KdrError(
      'KDR_ERR_CONFIG',
      `link ${config.name}: schemas needs a schemaRegistry on clusters ${config.source} and ${config.target}`
    )
  }
  const sync = new SchemaSync(
    {
      link: config.name,
      mode: schemas.mode,
      subjects: new TopicFilter(schemas.subjects.include, schemas.subjects.exclude, () => false),
      retryMs: schemas.intervalMs,
      keySubjects: schemas.keySubjects.length === 0 ? null : new TopicFilter(schemas.keySubjects, [], () => false)
    },
    new RegistryClient(source),
    new RegistryClient(target),
    log
  )
  await sync.preflight()
  const state = await sync.syncAll()
  log.info(
    { mode: state.mode, ...state.totals, ids: state.ids },
    'schema registries compared: subjects replicated to the target'
  )
  return {
    sync,
    copierSchemas: {
      keys: schemas.keys,
      values: schemas.values,
      rewrite: schemas.mode === 'translate-ids',
      onError: schemas.onError,
      targetId: id => sync.targetId(id),
      ensureIds: ids => sync.ensureIds(ids),
      keyIsWire: (topic, id) => sync.keyIsWire(topic, id),
      decideKeys: (topic, ids) => sync.decideKeys(topic, ids)
    }
  }
}
