import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** PEM material for one test: a CA, a server certificate it signed for 127.0.0.1/localhost, a client one. */
export interface TestCerts {
  ca: string
  serverKey: string
  serverCert: string
  clientKey: string
  clientCert: string
  /** Another CA that signed nothing here: pinning it must refuse the server. */
  otherCa: string
  /** A self-signed server certificate (no CA): refused by clients with default settings. */
  selfSignedKey: string
  selfSignedCert: string
}

/**
 * Makes certificates with `openssl` from PATH (Debian ships it; node's crypto cannot make X.509 certificates,
 * and the `selfsigned` package would add a dependency for the tests alone). EC P-256 keys: fast to make.
 */
export function makeCerts(): TestCerts {
  const dir = mkdtempSync(join(tmpdir(), 'dd-certs-'))
  const f = (name: string) => join(dir, name)
  const ssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe', timeout: 20_000 })
  const key = (name: string) => ssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', f(name))
  try {
    for (const k of ['ca.key', 'other.key', 'server.key', 'client.key', 'self.key']) key(k)
    const ca = (k: string, out: string, cn: string) =>
      ssl('req', '-x509', '-new', '-key', f(k), '-sha256', '-days', '2', '-subj', `/CN=${cn}`, '-out', f(out))
    ca('ca.key', 'ca.pem', 'dripdrop test CA')
    ca('other.key', 'other.pem', 'other CA')
    writeFileSync(f('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n')
    writeFileSync(f('client.ext'), 'extendedKeyUsage=clientAuth\n')
    for (const [who, ext] of [
      ['server', 'server.ext'],
      ['client', 'client.ext'],
    ]) {
      ssl('req', '-new', '-key', f(`${who}.key`), '-subj', `/CN=${who}`, '-out', f(`${who}.csr`))
      ssl(
        'x509',
        '-req',
        '-in',
        f(`${who}.csr`),
        '-CA',
        f('ca.pem'),
        '-CAkey',
        f('ca.key'),
        '-CAcreateserial',
        '-days',
        '2',
        '-sha256',
        '-extfile',
        f(ext),
        '-out',
        f(`${who}.pem`),
      )
    }
    ssl(
      'req',
      '-x509',
      '-new',
      '-key',
      f('self.key'),
      '-sha256',
      '-days',
      '2',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-out',
      f('self.pem'),
    )
    const r = (name: string) => readFileSync(f(name), 'utf8')
    return {
      ca: r('ca.pem'),
      serverKey: r('server.key'),
      serverCert: r('server.pem'),
      clientKey: r('client.key'),
      clientCert: r('client.pem'),
      otherCa: r('other.pem'),
      selfSignedKey: r('self.key'),
      selfSignedCert: r('self.pem'),
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
