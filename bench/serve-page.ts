/**
 * How fast the simulator serves one Host List Detection page of 1000 hosts with RESULTS, over HTTP,
 * as the connector asks for it (POST, form body, Accept-Encoding gzip). Not run in CI:
 *   npx tsc -p tsconfig.build.json && node lib/bench/serve-page.js [--profile realistic|minimal] [--rounds 5] [--results 0|1]
 * Prints the median time to the last byte and the body size, compressed and not.
 */
import { request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { startSimulator } from '../simulator';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { profile: { type: 'string' }, rounds: { type: 'string' }, results: { type: 'string' } } });
  const showResults = values.results ?? '1';
  const rounds = Number(values.rounds ?? 5);
  const profileOption = values.profile === undefined ? {} : { profile: values.profile };
  const sim = await startSimulator({
    hosts: 1000,
    seed: 42,
    rateLimit: { calls: 1_000_000, windowSeconds: 3600 },
    ...(profileOption as { profile?: 'realistic' | 'minimal' }),
  });
  const authorization = `Basic ${Buffer.from(`${sim.username}:${sim.password}`).toString('base64')}`;
  const form = `action=list&output_format=XML&status=New,Active,Re-Opened,Fixed&show_results=${showResults}&show_qds=1&show_asset_id=1&truncation_limit=1000`;
  const times: number[] = [];
  let wire = 0;
  let text = 0;
  for (let round = 0; round < rounds; round++) {
    const started = performance.now();
    // node:http rather than fetch: the raw bytes as they travelled, not decompressed on the way.
    const { raw, encoding } = await new Promise<{ raw: Buffer; encoding: string | undefined }>((resolve, reject) => {
      const req = request(
        `${sim.url}/api/2.0/fo/asset/host/vm/detection/`,
        {
          method: 'POST',
          headers: {
            authorization,
            'x-requested-with': 'bench',
            'content-type': 'application/x-www-form-urlencoded',
            'accept-encoding': 'gzip, deflate',
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => resolve({ raw: Buffer.concat(chunks), encoding: res.headers['content-encoding'] }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(form);
    });
    times.push(performance.now() - started);
    wire = raw.length;
    text = encoding === 'gzip' ? gunzipSync(raw).length : raw.length;
  }
  await sim.close();
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)] ?? 0;
  process.stdout.write(
    `1000-host detection page ${showResults === '1' ? 'with' : 'without'} results (${values.profile ?? 'default'} profile): median ${median.toFixed(0)} ms over ${rounds} rounds ` +
      `(min ${times[0]?.toFixed(0)} ms, max ${times.at(-1)?.toFixed(0)} ms); ` +
      `${(text / 1024 / 1024).toFixed(1)} MiB of XML, ${(wire / 1024 / 1024).toFixed(1)} MiB on the wire\n`,
  );
}

void main();
