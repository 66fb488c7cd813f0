import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
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

function openssl(args: string[], cwd: string, env?: NodeJS.ProcessEnv): void {
  try {
    execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } })
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

export interface ClientCertificate {
  /** The client's certificate (PEM), signed by the cluster's CA. */
  certFile: string
  /** Its private key (PKCS#8 PEM), encrypted with the passphrase when one was given. */
  keyFile: string
}

/**
 * A client certificate for mutual TLS, signed by the CA of `tls` (a cluster's, from ensureClusterTls):
 * subject CN=`name`, so the broker's principal is "User:CN=<name>". Made anew on every call.
 */
export function createClientCertificate(tls: ClusterTls, name: string, passphrase?: string): ClientCertificate {
  if (!/^[A-Za-z0-9_-]+$/.test(name)) throw new Error(`client certificate name ${name} must be [A-Za-z0-9_-]`)
  const dir = tls.dir
  const result = { certFile: join(dir, `client-${name}.crt`), keyFile: join(dir, `client-${name}.key`) }
  const plainKey = `client-${name}.plain.key`
  openssl(
    ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', plainKey, '-out', `client-${name}.csr`, '-subj', `/CN=${name}`],
    dir
  )
  writeFileSync(join(dir, `client-${name}.ext`), 'extendedKeyUsage=clientAuth\n')
  openssl(
    [
      'x509',
      '-req',
      '-in',
      `client-${name}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      result.certFile,
      '-days',
      '30',
      '-extfile',
      `client-${name}.ext`
    ],
    dir
  )
  // The passphrase travels in the environment, never on a command line other processes can read.
  openssl(
    passphrase === undefined
      ? ['pkcs8', '-topk8', '-nocrypt', '-in', plainKey, '-out', result.keyFile]
      : [
          'pkcs8',
          '-topk8',
          '-v2',
          'aes-256-cbc',
          '-in',
          plainKey,
          '-out',
          result.keyFile,
          '-passout',
          'env:KDR_KEY_PASS'
        ],
    dir,
    passphrase === undefined ? undefined : { KDR_KEY_PASS: passphrase }
  )
  rmSync(join(dir, plainKey))
  return result
}
