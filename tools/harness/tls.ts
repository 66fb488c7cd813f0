import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

/**
 * Test certificates for a harness cluster's TLS listener, made with openssl: a CA of its own per
 * cluster (so a client trusting another cluster's CA fails, as it should) and a broker certificate
 * for 127.0.0.1 and localhost. The broker reads them as one PEM keystore (key first, then the chain),
 * which Kafka supports since KIP-651; clients get the CA file. Never committed: they live in the
 * cluster's run folder.
 */

export interface ClusterTls {
  dir: string
  /** The CA certificate clients trust (PEM). */
  caFile: string
  /** Private key and certificate chain for the broker (PEM keystore). */
  keystoreFile: string
}

function openssl(args: string[], cwd: string): void {
  try {
    execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] })
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? ''
    throw new Error(`openssl ${args[0]} failed: ${stderr.trim()}`, { cause: error })
  }
}

/** Creates the certificates in `dir` unless they exist; returns where they are. */
export function ensureClusterTls(dir: string, name: string): ClusterTls {
  const result = { dir, caFile: join(dir, 'ca.crt'), keystoreFile: join(dir, 'broker-keystore.pem') }
  if (existsSync(result.keystoreFile) && existsSync(result.caFile)) return result
  mkdirSync(dir, { recursive: true })
  openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
      '-days',
      '30',
      '-subj',
      `/CN=kafka-dr harness CA ${name}`
    ],
    dir
  )
  openssl(
    ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'broker.key', '-out', 'broker.csr', '-subj', '/CN=127.0.0.1'],
    dir
  )
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n')
  openssl(
    [
      'x509',
      '-req',
      '-in',
      'broker.csr',
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      'broker.crt',
      '-days',
      '30',
      '-extfile',
      'san.ext'
    ],
    dir
  )
  // OpenSSL 3 writes unencrypted PKCS#8 keys, the form Kafka's PEM keystore reads.
  openssl(['pkcs8', '-topk8', '-nocrypt', '-in', 'broker.key', '-out', 'broker.pk8'], dir)
  const pem = ['broker.pk8', 'broker.crt', 'ca.crt'].map(f => readFileSync(join(dir, f), 'utf8').trim()).join('\n')
  writeFileSync(result.keystoreFile, `${pem}\n`)
  return result
}
