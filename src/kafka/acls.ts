import {
  type Acl,
  type AclFilter,
  AclOperations,
  AclPermissionTypes,
  ResourcePatternTypes,
  ResourceTypes
} from '@platformatic/kafka'

/**
 * ACL bindings as kafka-dr speaks of them (labels, not the protocol's numbers), and their conversion
 * to and from the client library's types. The library's DescribeAcls, CreateAcls and DeleteAcls do
 * the protocol; KafkaAdmin (admin.ts) labels each call with its operation and cluster.
 */

export type AclResourceTypeName = 'TOPIC' | 'GROUP' | 'CLUSTER' | 'TRANSACTIONAL_ID' | 'DELEGATION_TOKEN' | 'USER'
export type AclPatternTypeName = 'LITERAL' | 'PREFIXED'
export type AclOperationName = Exclude<keyof typeof AclOperations, 'UNKNOWN' | 'ANY'>
export type AclPermissionName = 'ALLOW' | 'DENY'

/** One binding: a resource pattern and an access entry. The same shape as core/acl-transform.ts's. */
export interface AclBinding {
  resourceType: AclResourceTypeName
  patternType: AclPatternTypeName
  name: string
  principal: string
  host: string
  operation: AclOperationName
  permission: AclPermissionName
}

/** Every binding of every resource type and pattern type. */
export const ALL_ACLS: AclFilter = {
  resourceType: ResourceTypes.ANY,
  resourceName: null,
  resourcePatternType: ResourcePatternTypes.ANY,
  principal: null,
  host: null,
  operation: AclOperations.ANY,
  permissionType: AclPermissionTypes.ANY
}

export function toLibraryAcl(b: AclBinding): Acl {
  return {
    resourceType: ResourceTypes[b.resourceType],
    resourceName: b.name,
    resourcePatternType: ResourcePatternTypes[b.patternType],
    principal: b.principal,
    host: b.host,
    operation: AclOperations[b.operation],
    permissionType: AclPermissionTypes[b.permission]
  }
}

/** A filter matching exactly this binding (DeleteAcls deletes what its filters match). */
export function exactFilter(b: AclBinding): AclFilter {
  return toLibraryAcl(b)
}

const resourceTypeNames = labels(ResourceTypes, [
  'TOPIC',
  'GROUP',
  'CLUSTER',
  'TRANSACTIONAL_ID',
  'DELEGATION_TOKEN',
  'USER'
])
const patternTypeNames = labels(ResourcePatternTypes, ['LITERAL', 'PREFIXED'])
const permissionNames = labels(AclPermissionTypes, ['ALLOW', 'DENY'])
const operationNames = labels(
  AclOperations,
  (Object.keys(AclOperations) as (keyof typeof AclOperations)[]).filter(
    (k): k is AclOperationName => k !== 'UNKNOWN' && k !== 'ANY'
  )
)

/** A binding a broker described; null for one with a value this version has no name for (never guessed). */
export function fromLibraryAcl(acl: Acl): AclBinding | null {
  const resourceType = resourceTypeNames.get(acl.resourceType)
  const patternType = patternTypeNames.get(acl.resourcePatternType)
  const operation = operationNames.get(acl.operation)
  const permission = permissionNames.get(acl.permissionType)
  if (resourceType === undefined || patternType === undefined || operation === undefined || permission === undefined) {
    return null
  }
  return {
    resourceType,
    patternType,
    name: acl.resourceName,
    principal: acl.principal,
    host: acl.host,
    operation,
    permission
  }
}

function labels<const K extends string>(values: Record<string, number>, names: readonly K[]): Map<number, K> {
  return new Map(names.map(name => [values[name]!, name]))
}
