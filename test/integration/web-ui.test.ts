import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startSimulator, type RunningSimulator } from '../../simulator';
import { ConnectionProfiles } from '../../src/config/connections';
import { projectRoot } from '../../src/config/project-paths';
import { openActivityDeps } from '../../src/worker/activity-deps';
import { freshDatabase } from '../harness/database';
import { progressQuery } from '../../src/workflows/progress';
import { connectToTestServer, createTestWorker, freshTaskQueue } from '../harness/temporal';

// Debian's chromium (apt-get install chromium), driven by playwright-core: no browser download.
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env.CI) {
  throw new Error(`No Chromium at ${CHROMIUM}: CI must install it (apt-get install chromium); see .ci/run`);
}
if (!haveChromium) {
  console.warn(`SKIPPED the Web UI browser test: no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`);
}
const describeWithBrowser = haveChromium ? describe : describe.skip;

/** Waits until all the patterns appear in the text of the page and its frames; returns that text. */
async function waitForText(page: Page, patterns: Array<string | RegExp>, timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let text = '';
  while (Date.now() < deadline) {
    const texts = await Promise.all(page.frames().map((f) => f.locator('body').innerText().catch(() => '')));
    text = texts.join('\n');
    if (patterns.every((p) => (typeof p === 'string' ? text.includes(p) : p.test(text)))) return text;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`the Web UI never showed ${patterns.map(String).join(', ')}; it showed:\n${text.slice(0, 2000)}`);
}

/**
 * Opens the workflow list at `url` and reloads it until the link named `name` shows, as a user would:
 * on a loaded machine the visibility store can index a new run after the list was first drawn.
 */
async function openListUntilLinked(page: Page, url: string, name: string, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  await page.goto(url);
  for (;;) {
    const link = page.getByRole('link', { name }).first();
    try {
      await link.waitFor({ timeout: 10_000 });
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await page.reload();
    }
  }
}

describeWithBrowser('the Temporal Web UI in a real browser', () => {
  let env: Awaited<ReturnType<typeof connectToTestServer>>;
  let simulator: RunningSimulator;
  let browser: Browser;
  beforeAll(async () => {
    env = await connectToTestServer();
    // 20 pages, 0.4 s per call; the test slows detection pages further while the browser looks.
    simulator = await startSimulator({ hosts: 200, seed: 23, latencyMs: 400 });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await simulator?.close();
    await env?.close();
  });

  it('finds a run by its connection, opens it, and shows its summary and moving current details while it runs', async () => {
    const uiUrl = process.env.TEST_TEMPORAL_UI_URL;
    expect(uiUrl).toBeTruthy();
    const connection = `webui-${Date.now()}`;
    const taskQueue = freshTaskQueue('webui');
    const deps = await openActivityDeps({
      databaseUrl: await freshDatabase(),
      profiles: ConnectionProfiles.of({ name: connection, apiUrl: simulator.url, username: simulator.username, password: simulator.password }),
    });
    const worker = await createTestWorker(env.nativeConnection, env.namespace, taskQueue, deps);
    const screenshot = path.join(projectRoot(), 'test-output', 'web-ui-run.png');
    mkdirSync(path.dirname(screenshot), { recursive: true });

    await worker.runUntil(async () => {
      // Detection pages held slow (about 100 s of them) while the browser looks, however slow a loaded
      // machine makes the browser; back to normal once it has seen what it must.
      simulator.setFaults({ endpoint: 'hostDetection', latencyMs: 5000 });
      const handle = await env.client.workflow.start('qualysSync', {
        taskQueue,
        workflowId: `${connection}-run`,
        args: [{ connection, pageSize: 10 }],
        staticSummary: `Qualys sync of connection ${connection} (full)`,
      });
      const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      try {
        // The workflow list, filtered by the connection search attribute, as a user would filter it.
        const query = encodeURIComponent(`QualysConnection="${connection}"`);
        await openListUntilLinked(page, `${uiUrl}/namespaces/${env.namespace}/workflows?query=${query}`, handle.workflowId);
        await page.getByRole('link', { name: handle.workflowId }).first().click();

        // The run page: each step on the timeline with its summary; then, in the "User Metadata" tab,
        // the static summary and the current details, while the run is still going.
        await page.getByText(/fetchDetections • fetch hosts/).first().waitFor({ timeout: 30_000 });
        await page.getByRole('tab', { name: /User Metadata/ }).click();
        // The UI renders summary and details (Markdown) in sandboxed frames: read every frame's text.
        const shown = await waitForText(page, [`Qualys sync of connection ${connection} (full)`, /Phase: (fetching|applying) pages/, /Pages: \d+ of 20 fetched, \d+ applied/]);
        expect(shown).toMatch(/Hosts: 200/);
        const progress = await handle.query(progressQuery);
        expect(progress.phase).not.toBe('done');
        await page.screenshot({ path: screenshot, fullPage: true });
      } finally {
        simulator.clearFaults();
        await page.close();
      }
      await handle.result();
    });
    await deps.close();
    expect(existsSync(screenshot)).toBe(true);
  }, 300_000);
});
