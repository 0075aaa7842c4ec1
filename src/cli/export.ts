import path from 'node:path';
import { parseArgs } from 'node:util';
import { connectionNameSchema } from '../config/connections';
import { exportCurrentState } from '../store/export';
import { openCliStore, runCommand } from './cli-store';

const USAGE = `npm run export -- --connection NAME --out DIR

Writes DIR/assets.jsonl and DIR/findings.jsonl: the connection's current state in the store, removed
assets and closed findings included (with their status), one record per line in key order, following
schema/exposure-model.schema.json; and DIR/rejected_records.jsonl: the records Qualys sent that its
current run could not read (run, page, api, path, reason, xml). Uses DATABASE_URL, else the embedded PostgreSQL under ./data.`;

runCommand(async () => {
  const { values } = parseArgs({ options: { connection: { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean', default: false } } });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (!values.connection || !values.out) throw new Error(`--connection and --out are both needed.\n\n${USAGE}`);
  const connection = connectionNameSchema.parse(values.connection);
  const opened = await openCliStore();
  try {
    const state = await opened.store.readState(connection);
    if (!state.runKey) console.error(`Connection "${connection}" has no committed run in ${opened.location}; the files will be empty.`);
    const counts = await exportCurrentState(opened.store.pool, connection, values.out);
    console.log(
      `Wrote ${counts.assets} assets, ${counts.findings} findings and ${counts.rejected_records} rejected records of connection "${connection}" to ${path.resolve(values.out)}`,
    );
  } finally {
    await opened.close();
  }
});
