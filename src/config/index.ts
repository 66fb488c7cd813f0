/** Config loading: YAML -> secret references resolved -> validated -> compiled for the engine. */
export {
  ConfigError,
  defaultWorkersConfig,
  isLoopbackHost,
  loadConfig,
  parseConfig,
  redactedConfig,
  type ConfigIssue,
  type HttpConfig,
  type KafkaDrConfig,
  type LinkConfig,
  type NamingPolicy,
  type SchemasConfig,
  type TopicSelection,
  type WorkersConfig
} from './load.ts'
export { configSchema, isLegalTopicName, isLiteralTopicEntry, topicEntryRegExp } from './schema.ts'
export { scrubSecrets } from './secrets.ts'
