import { KafkaAdmin } from '../src/kafka/index.ts'
import { up } from '../tools/harness/harness.ts'

/**
 * `npm run demo`: starts two local KRaft clusters (dc1, dc2) and shows them answering.
 * The replication engine (next milestone) will make this demo replicate dc1 -> dc2.
 */
const started = Date.now()
const clusters = await up({ clusters: 2 })
console.log(`\ntwo clusters up in ${((Date.now() - started) / 1000).toFixed(1)} s\n`)

for (const c of clusters) {
  const alias = `dc${c.index}`
  const admin = new KafkaAdmin({ alias, bootstrap: [c.bootstrap] })
  try {
    const info = await admin.describeCluster()
    const topics = await admin.listTopics()
    const rss = c.rssKiB === null ? '?' : `${Math.round(c.rssKiB / 1024)} MiB`
    console.log(
      `${alias}: ${c.bootstrap}  cluster id ${info.clusterId}  brokers ${info.brokers.length}  topics ${topics.length}  Kafka ${c.kafkaVersion}  RSS ${rss}`
    )
  } finally {
    await admin.close()
  }
}

console.log(`
try:   kcat -b 127.0.0.1:19092 -L
       npm run kafka-dr -- cluster-info --bootstrap 127.0.0.1:29092
stop:  npm run kafka -- down`)
