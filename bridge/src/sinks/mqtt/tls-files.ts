/**
 * The MQTT sink's TLS files checked for what they hold, before start: a CA file with no
 * certificate in it, a certificate or key that is not PEM, or a key that does not belong
 * to the certificate would otherwise fail every connection attempt, forever, after a
 * "successful" start. Whether the files exist and can be read is config/host-checks.ts's.
 */
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import tls from 'node:tls';
import type { BridgeConfig } from '../../config/schema';
import type { ConfigProblem } from '../../core/feature';

function readOrNull(file: string): Buffer | null {
  try {
    return fs.readFileSync(file);
  } catch {
    return null; // reported by the host checks, with the reason
  }
}

function firstLine(e: unknown): string {
  return (e as Error).message.split('\n')[0];
}

export function tlsFileProblems(c: Readonly<BridgeConfig['mqtt']['tls']>): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  const ca = c.ca ? readOrNull(c.ca) : null;
  if (ca) {
    // createSecureContext takes a CA file without a certificate in it silently.
    if (!ca.includes('-----BEGIN CERTIFICATE-----')) out.push({ key: 'mqtt.tls.ca', problem: `${c.ca} holds no PEM certificate (-----BEGIN CERTIFICATE-----)` });
    else {
      try {
        new X509Certificate(ca);
        tls.createSecureContext({ ca });
      } catch (e) {
        out.push({ key: 'mqtt.tls.ca', problem: `${c.ca} is not a usable CA certificate: ${firstLine(e)}` });
      }
    }
  }
  const cert = c.cert ? readOrNull(c.cert) : null;
  const key = c.key ? readOrNull(c.key) : null;
  let certOk = false;
  let keyOk = false;
  if (cert) {
    try {
      tls.createSecureContext({ cert });
      certOk = true;
    } catch (e) {
      out.push({ key: 'mqtt.tls.cert', problem: `${c.cert} is not a usable PEM certificate: ${firstLine(e)}` });
    }
  }
  if (key) {
    try {
      tls.createSecureContext({ key });
      keyOk = true;
    } catch (e) {
      out.push({ key: 'mqtt.tls.key', problem: `${c.key} is not a usable PEM private key (an encrypted key is not supported): ${firstLine(e)}` });
    }
  }
  if (certOk && keyOk) {
    try {
      tls.createSecureContext({ cert: cert!, key: key! });
    } catch (e) {
      out.push({ key: 'mqtt.tls.key', problem: `${c.key} does not belong to the certificate ${c.cert}: ${firstLine(e)}` });
    }
  }
  return out;
}
