import assert from 'node:assert/strict'
import { test } from 'node:test'
import { bootstrapOf, brokerPort, newClusterId, serverProperties } from '../../../tools/harness/harness.ts'

test('cluster n listens on n*10000+9092 and its controller one port above', () => {
  assert.equal(bootstrapOf(1), '127.0.0.1:19092')
  assert.equal(bootstrapOf(3), '127.0.0.1:39092')
  const text = serverProperties(
    {
      index: 2,
      clusterId: 'x',
      kafkaVersion: '4.1.2',
      brokerPort: brokerPort(2),
      controllerPort: brokerPort(2) + 1,
      bootstrap: bootstrapOf(2),
      overrides: { 'log.message.timestamp.type': 'LogAppendTime', 'num.partitions': '4' },
      heap: '512m'
    },
    '/tmp/data'
  )
  assert.match(text, /^listeners=PLAINTEXT:\/\/127\.0\.0\.1:29092,CONTROLLER:\/\/127\.0\.0\.1:29093$/m)
  assert.match(text, /^controller\.quorum\.voters=1@127\.0\.0\.1:29093$/m)
  assert.match(text, /^log\.dirs=\/tmp\/data$/m)
  assert.match(text, /^log\.message\.timestamp\.type=LogAppendTime$/m)
  assert.match(text, /^num\.partitions=4$/m, 'overrides replace defaults')
  assert.equal(text.match(/^num\.partitions=/gm)?.length, 1)
})

test('cluster ids are Kafka Uuids: 22 URL-safe base64 characters, never starting with "-"', () => {
  for (let i = 0; i < 200; i++) {
    const id = newClusterId()
    assert.match(id, /^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/)
  }
})

test('an extra listener is bound on its port and advertised at the port given (a proxy in front)', () => {
  const text = serverProperties(
    {
      index: 3,
      clusterId: 'x',
      kafkaVersion: '4.1.2',
      brokerPort: brokerPort(3),
      controllerPort: brokerPort(3) + 1,
      bootstrap: bootstrapOf(3),
      overrides: {},
      heap: '512m',
      listeners: [{ name: 'DELAYED', port: 39094, advertisedPort: 39095 }]
    },
    '/tmp/data'
  )
  assert.match(
    text,
    /^listeners=PLAINTEXT:\/\/127\.0\.0\.1:39092,CONTROLLER:\/\/127\.0\.0\.1:39093,DELAYED:\/\/127\.0\.0\.1:39094$/m
  )
  assert.match(text, /^advertised\.listeners=PLAINTEXT:\/\/127\.0\.0\.1:39092,DELAYED:\/\/127\.0\.0\.1:39095$/m)
  assert.match(text, /^listener\.security\.protocol\.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,DELAYED:PLAINTEXT$/m)
})

test('secure listeners: SASL mechanisms with their JAAS configs, and mutual TLS with the CA as truststore', () => {
  const tls = { dir: '/tls', caFile: '/tls/ca.crt', keystoreFile: '/tls/broker-keystore.pem' }
  const text = serverProperties(
    {
      index: 3,
      clusterId: 'x',
      kafkaVersion: '4.1.2',
      brokerPort: brokerPort(3),
      controllerPort: brokerPort(3) + 1,
      bootstrap: bootstrapOf(3),
      overrides: {},
      heap: '512m',
      listeners: [
        { name: 'OAUTH', port: 39094, protocol: 'SASL_SSL', mechanisms: ['OAUTHBEARER', 'PLAIN'] },
        { name: 'MTLS', port: 39095, protocol: 'SSL', clientAuth: 'required' }
      ],
      security: { plainUsers: [{ name: 'dr', password: 'pw' }] }
    },
    '/tmp/data',
    tls
  )
  assert.match(text, /^listener\.security\.protocol\.map=.*OAUTH:SASL_SSL,MTLS:SSL$/m)
  assert.match(text, /^listener\.name\.oauth\.sasl\.enabled\.mechanisms=OAUTHBEARER,PLAIN$/m)
  assert.match(text, /^listener\.name\.oauth\.oauthbearer\.sasl\.jaas\.config=.*OAuthBearerLoginModule required/m)
  assert.match(text, /^listener\.name\.oauth\.plain\.sasl\.jaas\.config=.*PlainLoginModule required user_dr="pw";$/m)
  assert.match(text, /^listener\.name\.mtls\.ssl\.client\.auth=required$/m)
  assert.match(text, /^listener\.name\.mtls\.ssl\.truststore\.location=\/tls\/ca\.crt$/m)
  assert.match(text, /^listener\.name\.mtls\.ssl\.keystore\.location=\/tls\/broker-keystore\.pem$/m)
  assert.doesNotMatch(text, /listener\.name\.mtls\.sasl/)
})
