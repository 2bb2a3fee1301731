// The dev debug page (bk-plugin-http/assets/debug.html), driven in headless Chromium the way a
// user drives it, against the real example server (examples/sops-exec).
//
//   node --test debug_page.mjs        (tests/browser/run.sh builds the example and runs this)
//
// Environment:
//   SOPS_EXEC_BIN        the example server binary (default ../../target/debug/examples/sops-exec)
//   CHROMIUM             the browser (default /usr/bin/chromium)
//   SCREENSHOT           where to save the screenshot (default out/debug-page.png)

import { after, before, test as nodeTest } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const BIN = process.env.SOPS_EXEC_BIN || path.join(repo, 'target/debug/examples/sops-exec');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const SCREENSHOT = process.env.SCREENSHOT || path.join(here, 'out/debug-page.png');
// Flags known to work on these machines (closed network, root, no GPU).
const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

let server; // {child, base, dir, stderr()}
let browser;
let page;
const pageErrors = [];
let failed = false;

/** node:test's `test`, remembering a failure so that `after` can print the server's log. */
function test(name, fn) {
  nodeTest(name, async (t) => {
    try { await fn(t); } catch (e) { failed = true; throw e; }
  });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Starts the example server on a free port with a fresh SQLite file; waits until meta answers. */
async function startServer() {
  if (!fs.existsSync(BIN)) throw new Error(`${BIN} is missing: cargo build -p sops-exec --example sops-exec`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bk-plugin-debug-page-'));
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const env = { ...process.env, BKPAAS_ENVIRONMENT: 'dev', BK_PLUGIN_LISTEN: `127.0.0.1:${port}`,
      DATABASE_URL: `sqlite://${path.join(dir, `schedules-${attempt}.db`)}`, RUST_LOG: 'info' };
    delete env.PORT;
    const out = fs.openSync(path.join(dir, `server-${attempt}.log`), 'w');
    const child = spawn(BIN, [], { env, stdio: ['ignore', out, out] });
    fs.closeSync(out);
    let exited = null;
    child.on('exit', (code, signal) => { exited = { code, signal }; });
    const base = `http://127.0.0.1:${port}`;
    const log = () => fs.readFileSync(path.join(dir, `server-${attempt}.log`), 'utf8');
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && !exited) {
      try {
        const r = await fetch(`${base}/bk_plugin/meta/`);
        if (r.ok) return { child, base, dir, log };
      } catch (_) { /* not listening yet */ }
      await new Promise((r) => setTimeout(r, 100));
    }
    if (!exited) { child.kill('SIGKILL'); throw new Error(`server did not answer in 30 s:\n${log()}`); }
    if (!/cannot listen/.test(log())) throw new Error(`server exited ${JSON.stringify(exited)}:\n${log()}`);
    // The port was taken between probing and binding: try another.
  }
  throw new Error('no free port after 5 attempts');
}

/** Stops exactly the process this test started: SIGTERM, then SIGKILL after 5 s. */
async function stopServer() {
  if (!server) return;
  const { child } = server;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  process.kill(child.pid, 'SIGTERM');
  const timer = setTimeout(() => { try { process.kill(child.pid, 'SIGKILL'); } catch (_) { /* gone */ } }, 5000);
  await gone;
  clearTimeout(timer);
}

before(async () => {
  try {
    server = await startServer();
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    page.setDefaultTimeout(10_000);
    page.on('pageerror', (e) => pageErrors.push(String(e)));
  } catch (e) { failed = true; throw e; }
});

after(async () => {
  try { if (browser) await browser.close(); } finally {
    await stopServer();
    if (server && failed) {
      console.error(`--- server log (kept in ${server.dir}) ---\n${server.log()}`);
    } else if (server) {
      fs.rmSync(server.dir, { recursive: true, force: true });
    }
  }
});

const state = () => page.locator('#run-state');
const text = async (sel) => (await page.locator(sel).textContent()) ?? '';

async function pickVersion(v) {
  await page.getByTestId(`version-${v}`).click();
  await page.locator(`#version-panel[data-version="${v}"]`).waitFor();
  assert.equal(await page.getByTestId(`version-${v}`).getAttribute('aria-selected'), 'true');
}

async function fillSopsForm(taskName) {
  await page.locator('#f-inputs-template_id').fill('3');
  await page.locator('#f-inputs-task_name').fill(taskName);
  await page.locator('#f-inputs-options-name').fill('env');
  await page.locator('#f-inputs-options-value').fill('prod');
  await page.locator('#f-context-biz_cc_id').fill('2');
  await page.locator('#f-context-executor').fill('admin');
}

test('the page is served in dev as self-contained HTML and lists the versions', async () => {
  const r = await fetch(`${server.base}/`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^text\/html/);
  const html = await r.text();
  assert.doesNotMatch(html, /<script[^>]+src=|<link[^>]+stylesheet|https?:\/\/(?!127\.)/i, 'no external resources');

  await page.goto(`${server.base}/`);
  await page.locator('#versions .version').first().waitFor();
  const versions = await page.locator('#versions .version').evaluateAll((bs) => bs.map((b) => b.dataset.version));
  // Every served version, the deprecated 0.9.0 too (meta offers only the other three).
  assert.deepEqual(versions, ['1.3.0', '1.2.0', '1.1.0', '1.0.0', '0.9.0']);
  const badge = page.getByTestId('deprecated-0.9.0');
  assert.equal(await badge.textContent(), 'deprecated');
  assert.match(await badge.getAttribute('title'), /^use 1\.0\.0: /);
  assert.equal(await page.getByTestId('deprecated-1.0.0').count(), 0);
  assert.equal(await text('#plugin-code'), 'sops-exec');
});

test('a deprecated version: its detail says so, a released one does not', async () => {
  await pickVersion('0.9.0');
  const flag = page.getByTestId('version-deprecated');
  assert.ok(await flag.isVisible());
  assert.match(await flag.textContent(), /^deprecated: use 1\.0\.0: /);
  assert.match(await text('#raw-detail'), /"deprecated": "use 1\.0\.0: /);
  await pickVersion('1.2.0');
  assert.ok(!(await flag.isVisible()));
});

test('compare versions: the diff of 1.0.0 -> 1.1.0 is shown, classified', async () => {
  // The pickers start at the oldest and the newest version offered (not the deprecated 0.9.0).
  assert.equal(await page.getByTestId('diff-old').inputValue(), '1.0.0');
  assert.equal(await page.getByTestId('diff-new').inputValue(), '1.3.0');
  await page.getByTestId('diff-new').selectOption('1.1.0');
  await page.getByTestId('diff-btn').click();
  const out = page.getByTestId('diff-output');
  await out.waitFor();
  const report = (await out.textContent()) ?? '';
  assert.match(report, /^1\.0\.0 -> 1\.1\.0: \d+ change/);
  assert.match(report, /BREAKING/);
  assert.match(report, /suggested version after 1\.0\.0: 2\.0\.0 or later \(1\.1\.0: too small a step\)/);
});

test('1.1.0: schemas, form, invoke, CALLBACK, deliver the callback, SUCCESS', async () => {
  await pickVersion('1.1.0');

  // Schemas: a table per schema, the nested model expanded, the raw JSON, renderform not run.
  const row = page.getByTestId('schema-row-inputs-options.name');
  assert.match(await row.textContent(), /options\.name.*Name.*string.*yes/);
  assert.match(await page.getByTestId('schema-row-inputs-template_id').textContent(), /Template Id.*integer.*yes.*Template to instantiate/);
  assert.match(await page.getByTestId('schema-row-inputs-constants').textContent(), /object.*no.*\{\}/);
  await page.getByTestId('schema-tab-context_inputs').click();
  assert.ok(await page.getByTestId('schema-row-context_inputs-plugin_callback_info.url').isVisible());
  await page.getByTestId('schema-tab-outputs').click();
  assert.match(await page.getByTestId('schema-row-outputs-task_url').textContent(), /标准运维任务 URL/);
  await page.getByTestId('schema-tab-inputs').click();
  assert.match(await text('#raw-detail'), /"enable_plugin_callback": true/);
  assert.ok(await page.locator('#renderform-box').isVisible());
  assert.match(await text('#renderform'), /\$\.atoms\["sops-exec"\]/);

  // The generated form: nested model as a fieldset, the free object as a JSON textarea.
  assert.equal(await page.locator('fieldset#f-inputs-options').count(), 1);
  assert.equal(await page.locator('textarea#f-inputs-constants').inputValue(), '{}');
  await fillSopsForm('deploy-web');
  await page.locator('#preview-box summary').click();
  await page.waitForFunction(() => document.getElementById('request-preview').textContent.includes('"executor": "admin"'));
  const preview = JSON.parse(await text('#request-preview'));
  assert.deepEqual(preview, {
    inputs: { template_id: 3, task_name: 'deploy-web', constants: {}, options: { name: 'env', value: 'prod' } },
    context: { biz_cc_id: 2, executor: 'admin' },
  });

  await page.getByTestId('invoke-btn').click();
  await page.locator('#run-state[data-state="3"]').waitFor();
  assert.equal(await state().textContent(), 'CALLBACK (3)');
  const trace = await text('#run-trace-id');
  assert.match(trace, /^[0-9a-f]{32}$/);
  assert.equal(await page.locator('#run-polling').getAttribute('data-polling'), 'true');

  // The callback URL in the outputs is relative (/dev/callback/<token>/); the page posts to
  // /bk_plugin/callback/<token>/ on this origin.
  await page.getByTestId('callback-panel').waitFor();
  const target = await page.getByTestId('callback-target').textContent();
  assert.match(target, /^\/bk_plugin\/callback\/[A-Za-z0-9_=-]+\/$/);
  assert.ok((await text('#callback-url')).endsWith(target.slice('/bk_plugin'.length)));

  await page.getByTestId('callback-body').fill('{"task_id": 7}');
  await page.getByTestId('callback-send').click();
  await page.locator('#callback-answer[data-status="200"]').waitFor();
  assert.match(await text('#callback-answer'), /callback success/);

  await page.locator('#run-state[data-state="4"]').waitFor();
  assert.equal(await state().textContent(), 'SUCCESS (4)');
  await page.waitForFunction(() => document.getElementById('run-polling').dataset.polling === 'false');
  const outputs = JSON.parse(await text('#run-outputs'));
  assert.equal(outputs.task_id, 7);
  assert.match(outputs.task_url, /\/taskflow\/execute\/7\//);
  assert.match(await text('#run-finish-at'), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
  assert.match(await text('#run-created-at'), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
  assert.equal(await text('#run-err'), '—');
  const seen = await page.locator('#state-history li').evaluateAll((ls) => ls.map((l) => l.dataset.state));
  assert.deepEqual(seen, ['3', '4']);

  // What the page shows is what the server has.
  const sched = await (await fetch(`${server.base}/bk_plugin/schedule/${trace}`)).json();
  assert.equal(sched.data.state, 4);
  assert.equal(sched.data.outputs.task_url, outputs.task_url);

  // Logs: the panel either shows the run's lines or says the endpoint is missing.
  await page.waitForFunction(() => document.getElementById('logs-status').textContent !== '');
  const logsStatus = await text('#logs-status');
  if (!/HTTP 404/.test(logsStatus)) {
    assert.match(logsStatus, /line\(s\)/);
  }

  // Long callback tokens wrap: the page never scrolls sideways.
  for (const width of [1280, 390]) {
    await page.setViewportSize({ width, height: 900 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `at ${width}px the page is ${overflow}px wider than the viewport`);
  }
  await page.setViewportSize({ width: 1280, height: 900 });

  fs.mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: SCREENSHOT, fullPage: true });
});

test('1.0.0: the state moves POLL -> SUCCESS live (poll interval 5 s)', async () => {
  await pickVersion('1.0.0');
  assert.equal(await page.locator('#renderform-box').isVisible(), true);
  await fillSopsForm('poll-task');
  await page.getByTestId('invoke-btn').click();

  await page.locator('#run-state[data-state="2"]').waitFor();
  const pollSeenAt = Date.now();
  assert.equal(await state().textContent(), 'POLL (2)');
  assert.equal(await page.getByTestId('callback-panel').isVisible(), false);
  assert.equal(await text('#run-finish-at'), '—');

  await page.locator('#run-state[data-state="4"]').waitFor({ timeout: 20_000 });
  const waited = Date.now() - pollSeenAt;
  assert.ok(waited > 2500, `SUCCESS came ${waited} ms after POLL: expected the 5 s poll interval`);
  assert.equal(await state().textContent(), 'SUCCESS (4)');
  const polls = Number(await text('#run-polls'));
  assert.ok(polls >= 4, `only ${polls} schedule polls while waiting ${waited} ms`);
  const seen = await page.locator('#state-history li').evaluateAll((ls) => ls.map((l) => l.dataset.state));
  assert.deepEqual(seen, ['2', '4']);
  const outputs = JSON.parse(await text('#run-outputs'));
  assert.deepEqual(outputs, { task_id: 42, task_url: 'poll-task' });
  assert.match(await text('#run-finish-at'), /^\d{4}-/);
});

test('the invocations list shows the stored runs, filtered; a row is tracked on click', async () => {
  const rows = () => page.locator('#inv-rows tr[data-trace]');
  const states = () => rows().evaluateAll((rs) => rs.map((r) => r.dataset.state));
  await page.getByTestId('inv-refresh').click();
  await page.waitForFunction(() => document.querySelectorAll('#inv-rows tr[data-trace]').length >= 2);
  // The 1.1.0 run (CALLBACK -> SUCCESS) and the 1.0.0 one (POLL -> SUCCESS), newest first.
  assert.deepEqual((await states()).slice(0, 2), ['4', '4']);
  const versions = await rows().evaluateAll((rs) => rs.map((r) => r.children[1].textContent));
  assert.deepEqual(versions.slice(0, 2), ['1.0.0', '1.1.0']);

  await page.getByTestId('inv-state').selectOption('waiting');
  await page.waitForFunction(() => document.querySelector('#inv-rows td.muted')?.textContent === 'none');
  await page.getByTestId('inv-state').selectOption('finished');
  await page.getByTestId('inv-version').fill('1.1.0');
  await page.getByTestId('inv-refresh').click();
  await page.waitForFunction(() => [...document.querySelectorAll('#inv-rows tr[data-trace]')]
    .every((r) => r.children[1].textContent === '1.1.0'));
  const trace = await rows().first().getAttribute('data-trace');
  await rows().first().locator('button').click();
  await page.waitForFunction((t) => document.getElementById('run-trace-id').textContent === t, trace);
  await page.locator('#run-state[data-state="4"]').waitFor();

  await page.getByTestId('inv-age').fill('soon');
  await page.getByTestId('inv-refresh').click();
  await page.getByTestId('inv-error').waitFor();
  assert.match(await text('#inv-error'), /older_than: "soon" is not an age/);
  await page.getByTestId('inv-age').fill('');
  await page.getByTestId('inv-version').fill('');
  await page.getByTestId('inv-state').selectOption('');
});

test('a run that fails inside invoke shows FAIL with the error and the invoke answer', async () => {
  await pickVersion('1.0.0');
  await page.locator('#f-inputs-template_id').fill('');
  await page.getByTestId('invoke-btn').click();
  await page.locator('#run-state[data-state="5"]').waitFor();
  assert.equal(await state().textContent(), 'FAIL (5)');
  assert.match(await text('#run-err'), /template_id/);
  assert.match(await text('#run-note'), /Finished inside invoke/);
  assert.equal(await page.locator('#run-polling').getAttribute('data-polling'), 'false');
});

test('JSON mode sends the edited body; a phone-sized viewport does not scroll sideways', async () => {
  await pickVersion('1.0.0');
  await page.locator('#mode-json').click();
  const body = JSON.parse(await page.getByTestId('request-json').inputValue());
  body.inputs.task_name = 'from-json';
  body.inputs.template_id = 5;
  await page.getByTestId('request-json').fill(JSON.stringify(body));
  await page.locator('#mode-form').click();
  assert.equal(await page.locator('#f-inputs-task_name').inputValue(), 'from-json');
  assert.equal(await page.locator('#f-inputs-template_id').inputValue(), '5');

  await page.setViewportSize({ width: 390, height: 844 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `page is ${overflow}px wider than the viewport`);
  await page.setViewportSize({ width: 1280, height: 900 });

  assert.deepEqual(pageErrors, [], 'no uncaught errors in the page');
});
