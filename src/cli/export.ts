import path from 'node:path';
import { parseArgs } from 'node:util';
import { connectionNameSchema } from '../config/connections';
import { EXPORT_FORMATS, exportCurrentState, exportFileNames, type ExportFormat } from '../store/export';
import { exportChanges, parseSince } from '../store/export-changes';
import { openCliStore, runCommand } from './cli-store';

const USAGE = `npm run export -- --connection NAME --out DIR [--format jsonl|ocsf]
npm run export -- --connection NAME --out DIR --changes [--since RUN_KEY|TIME] [--format jsonl|ocsf]

Writes the connection's current state in the store, removed assets and closed findings included (with
their status), one record per line in key order:
  --format jsonl (default)  DIR/assets.jsonl and DIR/findings.jsonl, following schema/exposure-model.schema.json
  --format ocsf             DIR/devices.ocsf.jsonl (OCSF 1.8.0 Device Inventory Info, class 5001) and
                            DIR/vulnerability-findings.ocsf.jsonl (OCSF 1.8.0 Vulnerability Finding, class 2002)
In both formats DIR/rejected_records.jsonl holds the records Qualys sent that the connection's current
run could not read (run, page, api, path, reason, xml).

With --changes, writes the change feed instead: what each committed run changed, in commit order, after
the run --since names (the last one a consumer applied) or from the ISO 8601 time --since gives
(runs committed then or later); without --since, every change the feed still keeps:
  --format jsonl (default)  DIR/changes.jsonl: runKey, committedAt, entity, key, change, record (after the
                            change), followsAsset (findings), and one "run" line per committed run
  --format ocsf             DIR/changes.ocsf.jsonl: asset changes as Device Inventory Info events, finding
                            changes as Vulnerability Finding events (activity Create, Update or Close)
It prints the last run key written: the next --since.
Uses DATABASE_URL, else the embedded PostgreSQL under ./data.`;

function isFormat(value: string): value is ExportFormat {
  return (EXPORT_FORMATS as readonly string[]).includes(value);
}

runCommand(async () => {
  const { values } = parseArgs({
    options: {
      connection: { type: 'string' },
      out: { type: 'string' },
      format: { type: 'string', default: 'jsonl' },
      changes: { type: 'boolean', default: false },
      since: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (!values.connection || !values.out) throw new Error(`--connection and --out are both needed.\n\n${USAGE}`);
  if (!isFormat(values.format)) throw new Error(`--format ${values.format} is not one this command writes: use ${EXPORT_FORMATS.join(' or ')}.\n\n${USAGE}`);
  if (values.since !== undefined && !values.changes) throw new Error(`--since goes with --changes.\n\n${USAGE}`);
  const connection = connectionNameSchema.parse(values.connection);
  const since = values.changes ? parseSince(values.since) : undefined;
  const opened = await openCliStore();
  try {
    if (values.changes) {
      const written = await exportChanges(opened.store.pool, connection, since, values.out, values.format);
      console.log(
        `Wrote ${written.lines} changes of connection "${connection}" to ${path.join(path.resolve(values.out), written.file)}; ` +
          (written.lastRunKey ? `the last run is ${written.lastRunKey} (next time: --since ${written.lastRunKey}).` : 'no run committed since.'),
      );
      return;
    }
    const state = await opened.store.readState(connection);
    if (!state.runKey) console.error(`Connection "${connection}" has no committed run in ${opened.location}; the files will be empty.`);
    const counts = await exportCurrentState(opened.store.pool, connection, values.out, values.format);
    const files = exportFileNames(values.format);
    console.log(
      `Wrote ${counts.assets} assets (${files.assets}), ${counts.findings} findings (${files.findings}) and ${counts.rejected_records} rejected records (${files.rejected_records}) of connection "${connection}" to ${path.resolve(values.out)}`,
    );
  } finally {
    await opened.close();
  }
});
