import { ensureJars } from './jars.ts'
import { kafkaVersion } from './paths.ts'
import { ensureApicurio } from './registry.ts'

/**
 * The Kafka jars and the Apicurio registry the tests and the demo run, fetched if missing
 * (scripts/prepare-machine.sh). Loads only what it needs (no harness CLI), so a machine that has
 * everything pays one Node start-up; prints only when it downloads.
 */
ensureJars(kafkaVersion())
ensureApicurio()
