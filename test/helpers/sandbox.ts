import { after } from 'node:test';
import { generateKeyPairs, writeKeyFiles, type KeyFiles, type KeyPairs } from '../../pipeline/sandbox/keys.js';
import { SandboxGateway, type SandboxOptions } from '../../pipeline/sandbox/server.js';
import { AlipayClient, type ClientOptions } from '../../pipeline/alipay/client.js';
import { tempDir } from './tmp.js';

let shared: { keys: KeyPairs; files: KeyFiles } | null = null;

/** Real RSA keys made once per test file (per process), written the way merchants hold them. */
export function testKeys(): { keys: KeyPairs; files: KeyFiles } {
  if (!shared) {
    const keys = generateKeyPairs();
    shared = { keys, files: writeKeyFiles(tempDir('alipay-sync-keys-'), keys) };
  }
  return shared;
}

export interface TestSandbox {
  gateway: SandboxGateway;
  url: string;
  keys: KeyPairs;
  files: KeyFiles;
  /** CLI flags that point a spawned alipay-sync at this sandbox */
  flags: string[];
  client(options?: Partial<ClientOptions>): AlipayClient;
  stop(): Promise<void>;
}

/** A real sandbox gateway on a loopback port; stopped when the test file ends (or earlier by stop()). */
export async function startSandbox(options: Partial<SandboxOptions> = {}): Promise<TestSandbox> {
  const { keys, files } = testKeys();
  const gateway = new SandboxGateway({ appPublicKey: keys.appPublicKey, alipayPrivateKey: keys.alipayPrivateKey, ...options });
  const url = await gateway.start();
  const clients: AlipayClient[] = [];
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await Promise.all(clients.map((c) => c.close()));
    await gateway.stop();
  };
  after(stop);
  return {
    gateway, url, keys, files, stop,
    flags: ['--gateway', url, '--app-id', gateway.appId, '--private-key', files.appPrivateKey, '--alipay-public-key', files.alipayPublicKey],
    client(o = {}) {
      const c = new AlipayClient({ gateway: url, appId: gateway.appId, privateKey: keys.appPrivateKey, alipayPublicKey: keys.alipayPublicKey, ...o });
      clients.push(c);
      return c;
    },
  };
}
