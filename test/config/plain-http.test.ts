import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { generateIdentity } from '../../src/crypto/keys.ts';
import { parseConfig } from '../../src/config/load.ts';
import { plainHttpSites } from '../../src/config/plain-http.ts';

const recipient = generateIdentity().recipient;

function sitesAt(endpoints: Record<string, string>): ReturnType<typeof parseConfig> {
  const sites = Object.entries(endpoints).map(([name, e]) => `  ${name}: { type: s3, endpoint: "${e}", region: r, bucket: b${name}, accessKeyId: "\${env:K}", secretAccessKey: "\${env:S}" }\n`);
  const text = `encryption:\n  recipients: [${recipient}]\nsites:\n${sites.join('')}jobs:\n  docs:\n    source: { type: files, paths: [./data] }\n`;
  return parseConfig(text, join(tmpdir(), 'lifeboat.yaml'), { env: { K: 'AKIAEXAMPLE', S: 'example-secret' } });
}

describe('S3 sites over plain HTTP', () => {
  it('warns of another host reached over http, naming the site and the host', () => {
    const warnings = plainHttpSites(sitesAt({ dc2: 'http://10.0.0.5:7480', tls: 'https://s3.example.net' }));
    expect(warnings).toEqual([
      'site "dc2" reaches 10.0.0.5:7480 over plain HTTP: anyone on the way sees its requests (bucket, keys, access key id) and can answer in its place; use https (caFile for a private CA)',
    ]);
  });

  it('says nothing of a gateway on this host', () => {
    expect(plainHttpSites(sitesAt({ a: 'http://127.0.0.1:7480', b: 'http://localhost:9000', c: 'http://[::1]:7480' }))).toEqual([]);
  });
});
