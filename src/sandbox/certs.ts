import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import forge from 'node-forge';

export interface CaBundle {
  caPem: string;
  certPem: string;
  keyPem: string;
}

const FILES = { ca: 'ca.pem', caKey: 'ca-key.pem', cert: 'server.pem', key: 'server-key.pem' } as const;

/**
 * The sandbox CA and the emulator's server certificate (127.0.0.1 + localhost), created once and
 * reused so a client that trusted `ca.pem` keeps trusting the emulator across restarts.
 */
export function ensureCa(dir: string): CaBundle {
  mkdirSync(dir, { recursive: true });
  const path = (name: string) => join(dir, name);
  if (Object.values(FILES).every((f) => existsSync(path(f)))) {
    return {
      caPem: readFileSync(path(FILES.ca), 'utf8'),
      certPem: readFileSync(path(FILES.cert), 'utf8'),
      keyPem: readFileSync(path(FILES.key), 'utf8'),
    };
  }
  const caKeys = rsaKeys();
  const ca = certificate(caKeys.publicKey, 3650);
  const caAttrs = [
    { name: 'commonName', value: 'FluentEdge Sandbox CA' },
    { name: 'organizationName', value: 'FluentEdge Runbooks' },
  ];
  ca.setSubject(caAttrs);
  ca.setIssuer(caAttrs);
  ca.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  ca.sign(caKeys.privateKey, forge.md.sha256.create());

  const serverKeys = rsaKeys();
  const server = certificate(serverKeys.publicKey, 825);
  server.setSubject([{ name: 'commonName', value: '127.0.0.1' }]);
  server.setIssuer(caAttrs);
  server.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    {
      name: 'subjectAltName',
      altNames: [
        { type: 7, ip: '127.0.0.1' },
        { type: 2, value: 'localhost' },
      ],
    },
  ]);
  server.sign(caKeys.privateKey, forge.md.sha256.create());

  const bundle: CaBundle = {
    caPem: forge.pki.certificateToPem(ca),
    certPem: forge.pki.certificateToPem(server),
    keyPem: forge.pki.privateKeyToPem(serverKeys.privateKey),
  };
  // Keys first and the CA last: the presence check above then never sees a half-written set.
  write(path(FILES.caKey), forge.pki.privateKeyToPem(caKeys.privateKey), 0o600);
  write(path(FILES.key), bundle.keyPem, 0o600);
  write(path(FILES.cert), bundle.certPem, 0o644);
  write(path(FILES.ca), bundle.caPem, 0o644);
  return bundle;
}

// node-forge's pure-JS RSA generation takes seconds; node's native one takes milliseconds.
function rsaKeys(): forge.pki.rsa.KeyPair {
  const { privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const key = forge.pki.privateKeyFromPem(privateKey) as forge.pki.rsa.PrivateKey;
  return { privateKey: key, publicKey: forge.pki.setRsaPublicKey(key.n, key.e) };
}

function certificate(publicKey: forge.pki.PublicKey, days: number): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  // A leading 0x01 keeps the DER integer positive, as RFC 5280 requires.
  cert.serialNumber = `01${randomBytes(15).toString('hex')}`;
  const now = Date.now();
  cert.validity.notBefore = new Date(now - 24 * 3600e3);
  cert.validity.notAfter = new Date(now + days * 24 * 3600e3);
  return cert;
}

function write(file: string, content: string, mode: number): void {
  writeFileSync(`${file}.tmp`, content, { mode });
  renameSync(`${file}.tmp`, file);
}
