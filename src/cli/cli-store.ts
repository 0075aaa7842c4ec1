import { defaultDataDir } from '../config/project-paths';
import { SecretMasker, environmentSecrets } from '../config/secrets';
import { openStore, type OpenedStore } from '../store/open-store';

/** The store a project command uses: DATABASE_URL, else the embedded server under ./data (started on demand). */
export function openCliStore(): Promise<OpenedStore> {
  return openStore({ databaseUrl: process.env.DATABASE_URL || undefined, dataDir: defaultDataDir() });
}

/** Runs a command's body and exits: 0 when it succeeded, 1 with its one-line reason when it failed. */
export function runCommand(body: () => Promise<void>): void {
  body().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(new SecretMasker(environmentSecrets(process.env)).mask(err instanceof Error ? err.message : String(err)));
      process.exit(1);
    },
  );
}
