// End-to-end tests of the review app in a real browser against a real
// `baton serve` (fresh SQLite database, offline model). Baton serves the
// built app itself (BATON_WEB_DIR=web/dist) next to /graphql, so the
// browser loads everything from baton's address, as in production.
//
//   npm run e2e            (builds dist/ first, then runs this file)
//
// Environment:
//   BATON_BIN        the baton binary (default ../target/debug/baton; built
//                    with `cargo build -p baton` when missing)
//   CHROMIUM         the browser (default /usr/bin/chromium, Debian's package)
//   E2E_ONLY=word    run only the scenarios whose name contains `word`
//
// Baton requires sign-in: on its empty database it creates the user
// `admin` and prints a single-use `sign in:` link after `baton listening on
// …`. The runner opens that link in a browser (the admin context, kept for
// all scenarios) and makes an admin API token there for its own GraphQL
// calls; every scenario signs its browsers in with links of users it
// creates, as an admin would.
//
// Declared workflow types run in external workers: the scenario that needs
// one makes a service token with the CLI on the run's database (`baton
// token create --service …`, as an operator would) and drives the worker
// protocol (claimWorkflows, completeWorkflow) over fetch itself.
//
// Baton sends its notification email to an SMTP sink in this process
// (BATON_SMTP_URL=smtp://127.0.0.1:PORT, for the whole run), which keeps
// every message for the email scenario to read.
//
// Each scenario saves screenshots to e2e/screenshots/. The last line is
// "N passed, N failed".

import { spawn, spawnSync } from 'node:child_process';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const webDir = path.resolve(here, '..');
const repoDir = path.resolve(webDir, '..');
const distDir = path.join(webDir, 'dist');
const shotsDir = path.join(here, 'screenshots');
const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const TIMEOUT = 15_000;
const axePath = path.join(webDir, 'node_modules', 'axe-core', 'axe.min.js');

// ---------- the server under test ----------

function ensureBinary() {
  const bin = process.env.BATON_BIN ?? path.join(repoDir, 'target', 'debug', 'baton');
  if (existsSync(bin)) return bin;
  if (process.env.BATON_BIN) throw new Error(`BATON_BIN=${bin} does not exist`);
  console.log(`${bin} is missing: cargo build -p baton (this can take a while)`);
  const r = spawnSync('cargo', ['build', '-p', 'baton'], { cwd: repoDir, stdio: 'inherit' });
  if (r.status !== 0 || !existsSync(bin)) throw new Error('cargo build -p baton failed');
  return bin;
}

/** The run's database: a fresh SQLite file in the temp dir (the server and the CLI both use it). */
const databaseUrl = (tmp) => `sqlite://${tmp}/baton.db?mode=rwc`;

/**
 * The `baton` CLI on the run's database, as an operator runs it beside the
 * server (e.g. `token create`); answers its stdout, throws on failure.
 */
function runCli(bin, tmp, args) {
  const env = { ...process.env, BATON_DATABASE_URL: databaseUrl(tmp), BATON_LOG: 'warn' };
  delete env.DATABASE_URL;
  const r = spawnSync(bin, args, { env, encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) throw new Error(`baton ${args.join(' ')} exited with ${r.status}:\n${r.stderr}`);
  return r.stdout;
}

async function startBaton(bin, tmp, smtpPort) {
  const env = { ...process.env };
  // The offline model, whatever the caller's shell says.
  for (const k of ['BATON_LLM_BASE_URL', 'BATON_LLM_API_KEY', 'DATABASE_URL', 'BATON_PUBLIC_URL']) delete env[k];
  Object.assign(env, {
    BATON_DATABASE_URL: databaseUrl(tmp),
    BATON_LISTEN: '127.0.0.1:0',
    BATON_WEB_DIR: distDir,
    BATON_POLL_MS: '200',
    BATON_LOG: process.env.BATON_LOG ?? 'warn',
    // Notification email, to the runner's SMTP sink.
    BATON_SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
    BATON_MAIL_FROM: 'Baton e2e <baton@e2e.test>',
  });
  const child = spawn(bin, ['serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const stderr = [];
  child.stderr.on('data', (d) => stderr.push(d));
  const lines = createInterface({ input: child.stdout });
  // `baton listening on URL`, then (on an empty database) `sign in: URL`.
  const { url, signInUrl } = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('baton did not print its address and sign-in link within 60 s')), 60_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`baton exited with ${code}:\n${Buffer.concat(stderr).toString()}`));
    });
    let address;
    const onLine = (line) => {
      if (address === undefined) {
        const m = /baton listening on (http:\/\/\S+)/.exec(line);
        if (m) address = m[1];
        else {
          clearTimeout(timer);
          reject(new Error(`unexpected first line from baton: ${line}`));
        }
        return;
      }
      clearTimeout(timer);
      lines.off('line', onLine);
      const m = /^sign in: (http:\/\/\S+\/signin#code=\S+)$/.exec(line);
      if (m) resolve({ url: address, signInUrl: m[1] });
      else reject(new Error(`expected "sign in: URL" after "baton listening on", got: ${line}`));
    };
    lines.on('line', onLine);
  });
  lines.on('line', () => {}); // keep draining stdout
  return {
    url,
    signInUrl,
    logs: () => Buffer.concat(stderr).toString(),
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 5000).unref();
      }),
  };
}

/** Baton must answer the app for `/` and for a client route (index.html fallback). */
async function checkServesApp(base) {
  for (const route of ['/', '/workflows/some-client-route', '/signin']) {
    const res = await fetch(`${base}${route}`);
    const body = await res.text();
    if (!res.ok || !body.includes('<div id="root">')) {
      throw new Error(`baton does not serve the app at ${route} (HTTP ${res.status}); is BATON_WEB_DIR honoured?`);
    }
  }
}

// ---------- helpers ----------

/** GraphQL as the runner's admin API token (`service:e2e`). */
function makeApi(batonUrl, token) {
  return async function gql(query, variables = {}) {
    const res = await fetch(`${batonUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables }),
    });
    const body = await res.json();
    if (body.errors) throw new Error(`GraphQL error: ${JSON.stringify(body.errors)}`);
    return body.data;
  };
}

/**
 * GraphQL as an external worker sends it (its own service token), answering
 * the whole reply, errors included, so a scenario can check refusals.
 */
function makeWorker(batonUrl, token) {
  return async function call(query, variables = {}) {
    const res = await fetch(`${batonUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables }),
    });
    return res.json();
  };
}

/** The data of a worker call that must succeed. */
function dataOf(reply, what) {
  if (reply.errors) throw new Error(`${what}: ${JSON.stringify(reply.errors)}`);
  return reply.data;
}

async function newDraft(gql, prompt) {
  const data = await gql(
    `mutation($input: RunWorkflowInput!) { runWorkflow(input: $input) { workflow { id status } approval { id } } }`,
    { input: { type: 'generate_draft', input: { prompt, story_id: 'lighthouse' }, wait: true } },
  );
  const approval = data.runWorkflow.approval;
  if (!approval) throw new Error(`generate_draft opened no approval: ${JSON.stringify(data)}`);
  return approval.id;
}

/** Creates a user (as the runner's admin token) and answers their single-use sign-in link. */
async function createUser(gql, name, role) {
  const data = await gql(
    `mutation($input: CreateUserInput!) { createUser(input: $input) { user { id name role } signInLink { url } } }`,
    { input: { name, role } },
  );
  return data.createUser.signInLink.url;
}

/** Opens a sign-in link in a page and waits until the app shows who is signed in. */
async function signIn(page, link, name) {
  await page.goto(link);
  await page.getByTestId('identity-name').getByText(name, { exact: true }).waitFor();
  assert(new URL(page.url()).pathname === '/' && !page.url().includes('code='), `the link's code left the address: ${page.url()}`);
}

function assert(cond, message) {
  if (!cond) throw new Error(`assertion failed: ${message}`);
}

/**
 * Runs axe-core (WCAG 2.1 A/AA and best practices) on the page as it is and
 * fails on any serious or critical violation (contrast, labels, names, …).
 */
async function checkA11y(page, where) {
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ path: axePath });
  const violations = await page.evaluate(async () => {
    const result = await window.axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
    });
    return result.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`);
  });
  if (violations.length) throw new Error(`accessibility problems on ${where}:\n  ${violations.join('\n  ')}`);
}

/**
 * A webhook receiver on 127.0.0.1 (a free port): answers 200 to any POST
 * and keeps each request's headers and raw body.
 */
async function startReceiver() {
  const requests = [];
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      requests.push({ method: req.method, path: req.url, headers: req.headers, body: Buffer.concat(chunks) });
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
    });
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}/hooks/baton`,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        // Baton's HTTP client keeps connections alive.
        server.closeAllConnections();
      }),
  };
}

/**
 * An SMTP sink on 127.0.0.1 (a free port) that accepts every message and
 * keeps it: `{ from, to: [addresses], raw }` (the DATA, dot-unstuffed, its
 * bytes as a latin1 string). Enough SMTP for one client: a 220 greeting,
 * 250 to EHLO/HELO (with 8BITMIME), MAIL and RCPT, 354 to DATA up to the
 * line ".", 221 to QUIT.
 */
async function startSmtpSink() {
  const messages = [];
  const sockets = new Set();
  const server = createTcpServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    const reply = (line) => socket.write(`${line}\r\n`);
    let pending = '';
    let data = null; // the DATA lines, while reading them
    let envelope = { from: '', to: [] };
    reply('220 e2e-sink ESMTP');
    socket.on('data', (chunk) => {
      pending += chunk.toString('latin1');
      let end;
      while ((end = pending.indexOf('\r\n')) >= 0) {
        const line = pending.slice(0, end);
        pending = pending.slice(end + 2);
        if (data !== null) {
          if (line === '.') {
            messages.push({ ...envelope, raw: data.join('\r\n') });
            data = null;
            envelope = { from: '', to: [] };
            reply('250 2.0.0 queued');
          } else {
            data.push(line.startsWith('.') ? line.slice(1) : line);
          }
          continue;
        }
        const verb = line.split(/[ :]/, 1)[0].toUpperCase();
        const address = /<([^>]*)>/.exec(line)?.[1] ?? '';
        if (verb === 'EHLO' || verb === 'HELO') socket.write('250-x\r\n250 8BITMIME\r\n');
        else if (verb === 'MAIL') {
          envelope.from = address;
          reply('250 2.1.0 ok');
        } else if (verb === 'RCPT') {
          envelope.to.push(address);
          reply('250 2.1.5 ok');
        } else if (verb === 'DATA') {
          data = [];
          reply('354 end data with <CR><LF>.<CR><LF>');
        } else if (verb === 'QUIT') {
          reply('221 2.0.0 bye');
          socket.end();
        } else reply('250 ok');
      }
    });
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return {
    port: server.address().port,
    messages,
    /** The first message `match` accepts, waiting for it up to `timeoutMs`. */
    async waitFor(match, what, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = messages.find(match);
        if (found) return found;
        if (Date.now() > deadline) {
          const seen = messages.map((m) => `to ${m.to.join(', ')}`).join('; ') || 'none';
          throw new Error(`${what} did not arrive within ${timeoutMs / 1000} s (messages: ${seen})`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Quoted-printable to text: soft line breaks (`=\r\n`) go, `=XX` are bytes, read as UTF-8. */
function decodeQuotedPrintable(body) {
  const bytes = body.replace(/=\r?\n/g, '').replace(/=([0-9A-Fa-f]{2})/g, (_, hex) => String.fromCharCode(parseInt(hex, 16)));
  return Buffer.from(bytes, 'latin1').toString('utf8');
}

/** A message's (or a part's) headers, lower-cased names, folded lines unfolded, and its body. */
function splitEntity(raw) {
  const at = raw.indexOf('\r\n\r\n');
  const head = at < 0 ? raw : raw.slice(0, at);
  const body = at < 0 ? '' : raw.slice(at + 4);
  const headers = {};
  for (const line of head.replace(/\r\n[ \t]+/g, ' ').split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { headers, body };
}

/** The leaf parts of a raw message as `{ type, text }`, each decoded (quoted-printable, base64 or as is). */
function mailParts(raw) {
  const { headers, body } = splitEntity(raw);
  const type = (headers['content-type'] ?? 'text/plain').split(';')[0].trim().toLowerCase();
  if (type.startsWith('multipart/')) {
    const boundary = /boundary="?([^";]+)"?/i.exec(headers['content-type'] ?? '')?.[1];
    if (!boundary) throw new Error(`a multipart message without a boundary: ${headers['content-type']}`);
    return body
      .split(`--${boundary}`)
      .slice(1)
      .filter((part) => !part.startsWith('--'))
      .flatMap((part) => mailParts(part.replace(/^\r\n/, '')));
  }
  const encoding = (headers['content-transfer-encoding'] ?? '7bit').toLowerCase();
  const text =
    encoding === 'quoted-printable'
      ? decodeQuotedPrintable(body)
      : encoding === 'base64'
        ? Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8')
        : Buffer.from(body, 'latin1').toString('utf8');
  return [{ type, text }];
}

/**
 * Which of a delivery's `webhook-signature` entries this `whsec_` secret
 * made (Standard Webhooks: `v1,` + base64 HMAC-SHA256 of
 * `${id}.${timestamp}.${body}`, keyed with the base64-decoded secret).
 * Computed here with node:crypto, independently of Baton.
 */
function signaturesBy(secret, request) {
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  const id = request.headers['webhook-id'];
  const timestamp = request.headers['webhook-timestamp'];
  const expected = Buffer.from(
    createHmac('sha256', key).update(`${id}.${timestamp}.`).update(request.body).digest('base64'),
  );
  return String(request.headers['webhook-signature'] ?? '')
    .split(' ')
    .filter((sig) => {
      if (!sig.startsWith('v1,')) return false;
      const got = Buffer.from(sig.slice('v1,'.length));
      return got.length === expected.length && timingSafeEqual(got, expected);
    });
}

/** Clicks the log's Refresh until `locator` shows (the log is not live). */
async function refreshUntil(page, locator, what, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while ((await locator.count()) === 0) {
    if (Date.now() > deadline) throw new Error(`${what} did not show within ${timeoutMs / 1000} s`);
    await page.waitForTimeout(400);
    await page.getByRole('button', { name: 'Refresh' }).click();
    await page.getByRole('button', { name: 'Refresh' }).waitFor();
  }
}

// ---------- scenarios ----------

const scenarios = [];
const scenario = (name, fn) => scenarios.push({ name, fn });

scenario('draft from the form, live queue, keyboard approval, live revision and diff', async (t) => {
  // A submitter starts it; a reviewer, in another browser, decides.
  const { page: form } = await t.user('SUBMITTER', 'writer');
  const { page: queue, name: reviewer } = await t.user('REVIEWER', 'reviewer');
  await queue.goto(`${t.base}/`);
  await queue.getByText('No pending approvals').waitFor();
  await queue.evaluate(() => {
    window.__sameDocument = true;
  });

  await form.goto(`${t.base}/workflows/new`);
  await form.getByLabel('Workflow type').selectOption('generate_draft');
  await form.getByRole('button', { name: /Start generate draft/ }).click();
  await form.getByText('Required.').waitFor();
  await t.shot(form, '01-start-form-required');
  await form.getByLabel(/^Prompt/).fill('Mara finds a letter wedged in the lamp room door.');
  await form.getByLabel(/^Story id/).fill('lighthouse');
  await form.getByLabel(/^Candidates/).fill('2');
  await t.shot(form, '02-start-form-filled');
  await form.getByRole('button', { name: /Start generate draft/ }).click();
  await form.waitForURL(/\/workflows\/[0-9a-f-]{36}$/);
  await form.locator('h1 [data-status="COMPLETED"]').waitFor();
  await form.getByText('Waiting for a reviewer').waitFor();
  await t.shot(form, '03-workflow-completed');

  // The queue tab got the new approval pushed, without a reload.
  await queue.bringToFront();
  const row = queue.locator('tr[data-approval-id]').filter({ hasText: 'Mara finds a letter' });
  await row.waitFor();
  assert(await queue.evaluate(() => window.__sameDocument === true), 'the queue page was reloaded');
  await t.shot(queue, '04-queue-live');

  // Keyboard: select with j/k, open with Enter, feedback with f, Ctrl+Enter approves.
  await queue.keyboard.press('j');
  await queue.keyboard.press('k');
  await queue.keyboard.press('Enter');
  await queue.waitForURL(/\/approvals\/[0-9a-f-]{36}$/);
  await queue.getByRole('heading', { name: 'Your decision' }).waitFor();
  await queue.getByRole('heading', { name: /Rubric/ }).waitFor();
  await t.shot(queue, '05-review');
  await queue.keyboard.press('f');
  await queue.keyboard.type('Let her hesitate before she opens it.');
  await queue.keyboard.press('Control+Enter');
  await queue.getByTestId('outcome').getByText('Approved').waitFor();
  await queue.getByTestId('outcome').getByText('Let her hesitate before she opens it.').waitFor();
  const next = queue.getByTestId('next-workflow');
  await next.getByText('apply feedback').waitFor();
  await queue.locator('[data-testid="next-workflow"][data-status="COMPLETED"]').waitFor();
  await t.shot(queue, '06-approved-next-completed');

  // Follow to the revision (another round) or the final draft.
  const review = next.getByRole('link', { name: 'Review the revision' });
  const final = next.getByRole('link', { name: /final draft|what it produced/ });
  await review.or(final).first().waitFor();
  const wentToReview = await review.isVisible();
  await (wentToReview ? review : final).click();
  await queue.locator('.diff ins').first().waitFor();
  await queue.locator('.diff del').first().waitFor();
  await queue.getByRole('button', { name: /Changes from version 1/ }).waitFor();
  await t.shot(queue, wentToReview ? '07-revision-diff' : '07-final-draft-diff');

  if (wentToReview) {
    // The queue (client-side navigation, no reload) holds the revision only.
    await queue.getByRole('link', { name: 'Queue', exact: true }).first().click();
    await queue.waitForFunction(() => document.querySelectorAll('tr[data-approval-id]').length === 1);
    const rows = await queue.locator('tr[data-approval-id] td.workflow-type').allTextContents();
    assert(rows.length === 1 && rows[0] === 'apply feedback', `queue should hold only the revision, got ${rows}`);
    assert(await queue.evaluate(() => window.__sameDocument === true), 'the app reloaded');
  }

  // The revision's workflow: facts, chain timeline, model calls.
  await queue.goto(`${t.base}/workflows?type=apply_feedback`);
  await queue.locator('tr[data-workflow-id]').first().waitFor();
  await t.shot(queue, '08-workflows-list');
  await queue.locator('tr[data-workflow-id] a').first().click();
  await queue.getByRole('heading', { name: 'Model calls' }).waitFor();
  await queue.locator('.timeline li').nth(3).waitFor();
  const timeline = await queue.locator('.timeline li').allTextContents();
  assert(/generate draft/.test(timeline[0] ?? ''), `timeline starts with generate draft: ${timeline}`);
  assert(timeline.some((s) => s.includes(`Approved by ${reviewer}`)), `timeline shows the decision: ${timeline}`);
  await t.shot(queue, '09-workflow-detail');
});

scenario('reject without feedback ends the chain; with feedback starts another round', async (t) => {
  const first = await newDraft(t.gql, 'The keeper hears a knock during the storm.');
  const second = await newDraft(t.gql, 'The supply boat arrives a day early.');
  const { page } = await t.user('REVIEWER', 'reviewer');

  await page.goto(`${t.base}/approvals/${first}`);
  await page.getByRole('heading', { name: 'Your decision' }).waitFor();
  await page.keyboard.press('r');
  await page.getByTestId('outcome').getByText('Rejected').waitFor();
  await page.getByText('Nothing follows this decision: the chain ends here.').waitFor();
  await t.shot(page, '10-rejected-chain-ends');

  await page.goto(`${t.base}/approvals/${second}`);
  await page.getByLabel(/Feedback/).fill('Too calm: raise the stakes.');
  await page.getByRole('button', { name: /Reject/ }).click();
  await page.getByTestId('outcome').getByText('Rejected').waitFor();
  await page.locator('[data-testid="next-workflow"][data-status="COMPLETED"]').waitFor();
  await page.getByTestId('next-workflow').getByRole('link', { name: 'Review the revision' }).waitFor();
  await t.shot(page, '11-rejected-with-feedback');
});

scenario('a second reviewer deciding first shows the conflict notice', async (t) => {
  const id = await newDraft(t.gql, 'Two keepers, one lamp.');
  const { page: alice } = await t.user('REVIEWER', 'alice');
  const { page: bob, name: bobName } = await t.user('REVIEWER', 'bob');
  await alice.goto(`${t.base}/approvals/${id}`);
  await bob.goto(`${t.base}/approvals/${id}`);
  await alice.getByRole('heading', { name: 'Your decision' }).waitFor();
  await bob.getByRole('heading', { name: 'Your decision' }).waitFor();

  await bob.getByLabel(/Feedback/).fill('Bob got here first.');
  await bob.getByRole('button', { name: /Approve/ }).click();
  await bob.getByTestId('outcome').getByText('Approved').waitFor();

  await alice.bringToFront();
  await alice.keyboard.press('a');
  await alice.getByText('Someone else decided this approval first.').waitFor();
  // Who decided, and when, from the conflict's extensions.
  await alice.getByTestId('conflict-who').getByText(`${bobName} approved this just now.`).waitFor();
  await alice.getByTestId('outcome').getByText('Bob got here first.').waitFor();
  assert((await alice.getByRole('button', { name: /Approve/ }).count()) === 0, 'the decision form is gone');
  await t.shot(alice, '12-conflict');
});

scenario('phone width, not-found pages, unknown routes and the shortcut help', async (t) => {
  const id = await newDraft(t.gql, 'A gull steals the letter.');
  const { page: phone } = await t.user('REVIEWER', 'phone', { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  await phone.goto(`${t.base}/`);
  await phone.locator(`tr[data-approval-id="${id}"]`).waitFor();
  await t.shot(phone, '13-phone-queue');
  await phone.goto(`${t.base}/approvals/${id}`);
  await phone.getByRole('heading', { name: 'Your decision' }).waitFor();
  await t.shot(phone, '14-phone-review', { fullPage: true });
  await phone.goto(`${t.base}/workflows/new`);
  await phone.getByLabel(/^Prompt/).waitFor();
  await t.shot(phone, '15-phone-start');

  const { page: desk } = await t.user('VIEWER', 'desk');
  await desk.goto(`${t.base}/approvals/00000000-0000-7000-8000-000000000000`);
  await desk.getByRole('heading', { name: 'Approval not found' }).waitFor();
  await t.shot(desk, '16-approval-not-found');
  await desk.goto(`${t.base}/workflows/not-a-uuid`);
  await desk.getByRole('heading', { name: 'Workflow not found' }).waitFor();
  await desk.goto(`${t.base}/no/such/page`);
  await desk.getByRole('heading', { name: 'Page not found' }).waitFor();
  await desk.goto(`${t.base}/`);
  await desk.locator('tr[data-approval-id]').first().waitFor();
  await desk.keyboard.press('?');
  await desk.getByRole('dialog', { name: 'Keyboard shortcuts' }).waitFor();
  await t.shot(desk, '17-shortcuts');
  await desk.keyboard.press('Escape');
  await desk.getByRole('dialog').waitFor({ state: 'detached' });
});

scenario('batch approve two drafts from the queue; the workflows list follows live', async (t) => {
  const one = await newDraft(t.gql, 'The lamp goes out at midnight.');
  const two = await newDraft(t.gql, 'A letter arrives with no stamp.');
  const { ctx, page: list } = await t.user('REVIEWER', 'batcher');
  // A workflows tab that must show the follow-ups arrive and finish, pushed.
  await list.goto(`${t.base}/workflows?type=apply_feedback`);
  await list.getByRole('heading', { name: 'Workflows' }).waitFor();
  await list.locator('tr[data-workflow-id], .empty').first().waitFor();
  await list.evaluate(() => {
    window.__sameDocument = true;
  });

  const page = await t.page(ctx, 'batch');
  await page.goto(`${t.base}/`);
  const rowOne = page.locator(`tr[data-approval-id="${one}"]`);
  const rowTwo = page.locator(`tr[data-approval-id="${two}"]`);
  await rowOne.waitFor();
  await rowTwo.waitFor();
  // x toggles the focused row; a click checks the other.
  await rowOne.getByRole('link').focus();
  await page.keyboard.press('x');
  assert(await rowOne.getByRole('checkbox').isChecked(), 'x checks the focused row');
  await rowTwo.getByRole('checkbox').check();
  await page.getByText('2 selected', { exact: true }).waitFor();
  await page.getByLabel('Feedback for every selected approval (optional)').fill('Both read well; tighten the endings.');
  await t.shot(page, '18-queue-batch-selected');

  await page.getByRole('button', { name: 'Approve 2 selected' }).click();
  const result = page.getByTestId('batch-result');
  await result.getByRole('heading', { name: 'Approved all 2.' }).waitFor();
  await rowOne.waitFor({ state: 'detached' });
  await rowTwo.waitFor({ state: 'detached' });
  const approved = result.locator('li[data-outcome="approved"]');
  assert((await approved.count()) === 2, 'two approvals reported as approved');
  const started = await result.getByRole('link', { name: 'apply feedback' }).evaluateAll((as) =>
    as.map((a) => a.getAttribute('href')),
  );
  assert(started.length === 2, `each approval started apply_feedback: ${started}`);
  await t.shot(page, '19-queue-batch-approved');

  const check = await t.gql(
    `query($a: ID!, $b: ID!) { a: approval(id: $a) { status feedback } b: approval(id: $b) { status feedback } }`,
    { a: one, b: two },
  );
  for (const k of ['a', 'b']) {
    assert(check[k].status === 'APPROVED', `${k} approved: ${JSON.stringify(check[k])}`);
    assert(check[k].feedback === 'Both read well; tighten the endings.', `${k} has the feedback`);
  }

  // The workflows tab got both follow-ups, created and then completed, by push.
  await list.bringToFront();
  for (const href of started) {
    const id = href.split('/').pop();
    await list.locator(`tr[data-workflow-id="${id}"] [data-status="COMPLETED"]`).waitFor();
  }
  assert(await list.evaluate(() => window.__sameDocument === true), 'the workflows page was reloaded');
  await t.shot(list, '20-workflows-live');
});

const EXPERIMENT_INPUT = {
  factors: {
    temperature: [{ temperature: 0.3 }, { temperature: 1.0 }],
    system_prompt: [{ system_prompt: 'novelist' }, { system_prompt: 'minimalist' }],
    candidates: [{ candidates: 1 }, { candidates: 2 }],
  },
  briefs: [{ prompt: 'A quiet breakfast.' }],
  replicates: 2,
};

scenario('experiment results: charts and sortable runs; approving deploys; deployments and rollback', async (t) => {
  const started = await t.gql(
    `mutation($input: RunWorkflowInput!) { runWorkflow(input: $input) { workflow { id status error } approval { id artifactType } } }`,
    { input: { type: 'run_experiment', input: EXPERIMENT_INPUT, wait: true, waitTimeoutMs: 60000 } },
  );
  const experimentId = started.runWorkflow.workflow.id;
  const approvalId = started.runWorkflow.approval?.id;
  assert(started.runWorkflow.workflow.status === 'COMPLETED', `run_experiment completed: ${JSON.stringify(started)}`);
  assert(approvalId && started.runWorkflow.approval.artifactType === 'experiment_results', 'it opened an approval');

  // Rolling back takes an admin.
  const { page } = await t.user('ADMIN', 'ops');
  await page.goto(`${t.base}/approvals/${approvalId}`);
  await page.getByRole('heading', { name: 'Your decision' }).waitFor();
  const view = page.getByTestId('experiment');
  // The summary comes first.
  const first = view.locator(':scope > section').first();
  assert(/L4\(2\^3\)/.test(await first.innerText()), 'the summary is the first section');
  // A main-effects and an S/N chart per factor, on the same factors.
  for (const factor of ['candidates', 'system_prompt', 'temperature']) {
    await view.getByRole('img', { name: `${factor}: mean score by level` }).waitFor();
    await view.getByRole('img', { name: `${factor}: S/N ratio by level` }).waitFor();
  }
  assert((await view.locator('[data-chart="main-effects"] svg circle').count()) === 6, 'two points per factor');
  // ANOVA: contribution charts (pooled factors marked) and tables.
  await view.getByRole('img', { name: 'Share of the variation in score, per factor' }).waitFor();
  await view.getByRole('img', { name: 'Share of the variation in S/N ratio, per factor' }).waitFor();
  assert((await view.locator('[data-basis="SN_RATIOS"] tr[data-pooled]').count()) >= 1, 'a pooled factor is marked');
  assert((await view.locator('.chart-bar-pooled').count()) >= 1, 'the pooled bar is drawn as pooled');
  await view.getByRole('table', { name: /ANOVA of Score/ }).waitFor();
  // Optimum against production, and what approving does.
  await view.getByTestId('optimum').getByText('minimalist', { exact: true }).waitFor();
  assert(/41/.test(await view.getByTestId('control').innerText()), 'the control arm scored 41');
  await page.getByText(/Approving starts deploy config/).waitFor();
  const runs = view.getByTestId('runs-table');
  assert((await runs.locator('tbody tr[data-run]').count()) === 10, '8 design runs and 2 control runs');
  await t.shot(page, '21-experiment-review');

  // Sort the runs by score, by mouse then by keyboard.
  const scoreHeader = runs.locator('thead th').filter({ hasText: 'Score' });
  const scores = () =>
    runs.locator('tbody tr[data-run] td.score-col').evaluateAll((tds) => tds.map((td) => Number(td.textContent)));
  await scoreHeader.getByRole('button').click();
  assert((await scoreHeader.getAttribute('aria-sort')) === 'ascending', 'aria-sort ascending');
  const up = await scores();
  assert(up.every((v, i) => i === 0 || up[i - 1] <= v), `ascending scores: ${up}`);
  await scoreHeader.getByRole('button').focus();
  await page.keyboard.press('Enter');
  assert((await scoreHeader.getAttribute('aria-sort')) === 'descending', 'aria-sort descending');
  const down = await scores();
  assert(down.every((v, i) => i === 0 || down[i - 1] >= v) && down[0] === 57.5, `descending scores: ${down}`);
  assert((await runs.locator('thead th[aria-sort]').count()) === 1, 'one sorted column at a time');
  // Read the best run's draft (loaded on demand).
  await runs.getByRole('button', { name: /^Read the draft of row 4 replicate 1/ }).click();
  await runs.locator('.run-draft').getByText(/\[offline model\]/).first().waitFor();
  await t.shot(page, '22-experiment-runs-sorted');

  // Approve: deploy_config runs and the config goes live.
  await page.getByRole('button', { name: /Approve and deploy/ }).click();
  await page.getByTestId('outcome').getByText('Approved').waitFor();
  const next = page.getByTestId('next-workflow');
  await next.getByText('deploy config').waitFor();
  await page.locator('[data-testid="next-workflow"][data-status="COMPLETED"]').waitFor();
  await next.getByRole('link', { name: 'See deployments' }).click();
  await page.waitForURL(/\/deployments$/);
  const active = page.getByTestId('active-deployment');
  await active.getByText(/"system_prompt": "minimalist"/).waitFor();
  const rows = page.locator('tr[data-deployment-id]');
  await rows.first().waitFor();
  assert((await rows.count()) === 1, 'one deployment so far');
  const firstId = await rows.first().getAttribute('data-deployment-id');
  const firstRow = rows.first();
  assert((await firstRow.getAttribute('data-active')) === 'true', 'it is the active one');
  assert(
    (await firstRow.getByRole('link', { name: /Experiment/ }).getAttribute('href')) === `/workflows/${experimentId}`,
    'links to the experiment',
  );
  assert((await firstRow.getByRole('link', { name: 'Approval' }).getAttribute('href')) === `/approvals/${approvalId}`, 'links to the approval');
  await t.shot(page, '23-deployments');

  // A second deployment, made through the API, arrives without a reload.
  await page.evaluate(() => {
    window.__sameDocument = true;
  });
  const deployed = await t.gql(
    `mutation($input: RunWorkflowInput!) { runWorkflow(input: $input) { workflow { id status error } } }`,
    {
      input: {
        type: 'deploy_config',
        input: { target: 'generate_draft', environment: 'production', config: { temperature: 0.9, candidates: 3, system_prompt: 'cinematic' } },
        wait: true,
      },
    },
  );
  assert(deployed.runWorkflow.workflow.status === 'COMPLETED', `deploy_config completed: ${JSON.stringify(deployed)}`);
  await active.getByText(/"system_prompt": "cinematic"/).waitFor();
  await page.waitForFunction(() => document.querySelectorAll('tr[data-deployment-id]').length === 2);
  assert(await page.evaluate(() => window.__sameDocument === true), 'the deployments page was reloaded');

  // Roll back to the first from the UI, after confirming.
  const back = page.locator(`tr[data-deployment-id="${firstId}"]`).getByRole('button', { name: /Roll back/ });
  await back.click();
  const dialog = page.getByRole('alertdialog', { name: 'Roll back generate draft in production?' });
  await dialog.waitFor();
  await t.shot(page, '24-rollback-confirm', { fullPage: false });
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await dialog.waitFor({ state: 'detached' });
  await back.click();
  await dialog.getByRole('button', { name: 'Roll back', exact: true }).click();
  await page.getByTestId('rollback-done').waitFor();
  await active.getByText(/"system_prompt": "minimalist"/).waitFor();
  await page.waitForFunction(() => document.querySelectorAll('tr[data-deployment-id]').length === 3);
  const newest = rows.first();
  assert((await newest.getAttribute('data-active')) === 'true', 'the rollback is the active deployment');
  await newest.getByText('Rollback to').waitFor();
  const now = await t.gql(
    `{ activeDeployment(target: "generate_draft", environment: "production") { rolledBackFrom config } }`,
  );
  assert(now.activeDeployment.rolledBackFrom === firstId, `rolled back from the first: ${JSON.stringify(now)}`);
  await t.shot(page, '25-rolled-back');

  // The experiment link leads to its workflow, which shows the results too.
  await page.locator(`tr[data-deployment-id="${firstId}"]`).getByRole('link', { name: /Experiment/ }).click();
  await page.waitForURL(new RegExp(`/workflows/${experimentId}$`));
  await page.getByRole('img', { name: 'candidates: mean score by level' }).waitFor();

  // Phone width.
  const { page: phone } = await t.user('VIEWER', 'phone', { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  await phone.goto(`${t.base}/approvals/${approvalId}`);
  await phone.getByTestId('experiment').waitFor();
  await phone.getByRole('img', { name: 'candidates: mean score by level' }).waitFor();
  await t.shot(phone, '26-phone-experiment');
  await phone.goto(`${t.base}/deployments`);
  await phone.getByTestId('active-deployment').getByText(/minimalist/).waitFor();
  await t.shot(phone, '27-phone-deployments');
});

scenario('identity: an admin sets a 2-approval policy and adds users; two reviewers approve; a submitter cannot decide', async (t) => {
  // The admin, signed in from the link baton printed on first start.
  const admin = await t.page(t.admin, 'admin');
  await admin.goto(`${t.base}/admin/policies`);
  const policy = admin.locator('form[data-policy="generate_draft"]');
  await policy.getByLabel('Approvals required').fill('2');
  await policy.getByRole('button', { name: 'Save the generate draft policy' }).click();
  await policy.getByTestId('policy-saved').getByText(/It needs 2 approvals/).waitFor();
  await t.shot(admin, '28-admin-policy-saved');
  const set = await t.gql(`{ approvalPolicy(workflowType: "generate_draft") { requiredApprovals isDefault updatedBy } }`);
  assert(set.approvalPolicy.requiredApprovals === 2 && !set.approvalPolicy.isDefault, `policy saved: ${JSON.stringify(set)}`);

  // Users, each with the sign-in link shown once.
  const suffix = Math.random().toString(36).slice(2, 6);
  const people = [
    { name: `rev-one-${suffix}`, role: 'REVIEWER' },
    { name: `rev-two-${suffix}`, role: 'REVIEWER' },
    { name: `sub-${suffix}`, role: 'SUBMITTER' },
  ];
  await admin.getByRole('link', { name: 'Users' }).click();
  await admin.getByTestId('users-table').waitFor();
  for (const [i, p] of people.entries()) {
    await admin.getByLabel('Name', { exact: true }).fill(p.name);
    await admin.getByLabel('Role', { exact: true }).selectOption(p.role);
    await admin.getByRole('button', { name: 'Add user' }).click();
    const shown = admin.getByTestId('sign-in-link');
    await shown.getByText(`${p.name} can sign in with this link`).waitFor();
    p.link = await shown.getByLabel(`Sign-in link for ${p.name}`).inputValue();
    assert(/\/signin#code=/.test(p.link), `a sign-in link: ${p.link}`);
    if (i === 0) await t.shot(admin, '29-admin-user-link-once');
    await shown.getByRole('button', { name: 'Done, hide it' }).click();
    await shown.waitFor({ state: 'detached' });
    await admin.locator(`tr[data-user="${p.name}"]`).waitFor();
  }
  const [one, two, sub] = people;

  // A token's secret is shown once, with the warning, and never listed.
  await admin.getByRole('link', { name: 'Tokens' }).click();
  await admin.getByLabel('Name', { exact: true }).fill(`ci-${suffix}`);
  await admin.getByLabel('A service').check();
  await admin.getByLabel(/Service name/).fill('ci');
  await admin.getByRole('button', { name: 'Make token' }).click();
  const secretBox = admin.getByTestId('token-secret');
  await secretBox.getByText('Copy it now: it will not be shown again.').waitFor();
  const secret = await secretBox.getByLabel('Token secret').inputValue();
  assert(secret.startsWith('baton_'), `a token secret: ${secret}`);
  await admin.locator(`tr[data-token="ci-${suffix}"]`).getByText('Active').waitFor();
  await t.shot(admin, '30-admin-token-secret-once');
  await secretBox.getByRole('button', { name: 'Done, hide it' }).click();
  await secretBox.waitFor({ state: 'detached' });
  assert(!(await admin.content()).includes(secret), 'the secret is gone from the page');

  // Each person in a browser of their own, signed in with their link.
  const browse = async (p, label) => {
    const page = await t.page(await t.context(), label);
    await signIn(page, p.link, p.name);
    return page;
  };
  const submitter = await browse(sub, 'submitter');
  const nav = submitter.getByRole('navigation', { name: 'Main' });
  assert((await nav.getByRole('link', { name: 'Admin' }).count()) === 0, 'a submitter has no Admin entry');
  await submitter.goto(`${t.base}/workflows/new`);
  await submitter.getByLabel(/^Prompt/).fill('Two keepers must agree before the lamp is lit.');
  await submitter.getByLabel(/^Story id/).fill('lighthouse');
  await submitter.getByRole('button', { name: /Start generate draft/ }).click();
  await submitter.waitForURL(/\/workflows\/[0-9a-f-]{36}$/);
  await submitter.getByText('Waiting for a reviewer').waitFor();
  const reviewLink = submitter.getByRole('link', { name: /^Review this draft/ });
  const approvalPath = await reviewLink.getAttribute('href');

  // Reviewer 1 approves: one of two.
  const r1 = await browse(one, 'reviewer-1');
  await r1.goto(`${t.base}${approvalPath}`);
  await r1.getByTestId('approvals-count').getByText('0 of 2 approvals').waitFor();
  // Edit, then approve: the reviewer's own edits show as a diff first.
  await r1.getByRole('button', { name: 'Edit the text' }).click();
  const editor = r1.getByTestId('artifact-editor');
  const text = editor.getByLabel('Text', { exact: true });
  await text.fill(`${await text.inputValue()} The second keeper nods.`);
  await editor.getByTestId('own-edits').locator('ins').first().waitFor();
  await r1.getByLabel(/Feedback/).fill('Good; one more pair of eyes, please.');
  await t.shot(r1, '31-edit-before-approving');
  await r1.getByRole('button', { name: /Approve with edits/ }).click();
  await r1.getByTestId('vote-recorded').getByText(/Your approval is recorded: 1 of 2 approvals/).waitFor();
  await r1.getByTestId('approvals-count').getByText('1 of 2 approvals on version 2').waitFor();
  await r1.getByTestId('edited-by').getByText(new RegExp(`an edit by ${one.name}`)).waitFor();
  await r1.getByTestId('approval-progress').getByText(one.name, { exact: true }).waitFor();
  // Still pending, but this reviewer has had their say.
  await r1.getByTestId('decision-blocked').waitFor();
  assert((await r1.getByRole('button', { name: /^Approve/ }).count()) === 0, 'no second vote for reviewer 1');
  await t.shot(r1, '32-one-of-two');

  // The submitter sees where it stands, and no decision controls, with the reason.
  await submitter.goto(`${t.base}${approvalPath}`);
  await submitter.getByTestId('approvals-count').getByText('1 of 2 approvals').waitFor();
  await submitter.getByTestId('decision-blocked-reason').getByText(/Your role \(Submitter\) cannot approve or reject/).waitFor();
  assert((await submitter.getByRole('button', { name: /^(Approve|Reject)/ }).count()) === 0, 'no decision buttons for a submitter');
  await submitter.keyboard.press('a');
  await t.shot(submitter, '33-submitter-cannot-decide');

  // Reviewer 2 approves: decided; apply_feedback follows.
  const r2 = await browse(two, 'reviewer-2');
  await r2.goto(`${t.base}${approvalPath}`);
  await r2.getByTestId('approvals-count').getByText('1 of 2 approvals on version 2').waitFor();
  // Reviewer 2 reads what reviewer 1 changed.
  await r2.locator('.diff ins').first().waitFor();
  await r2.getByRole('button', { name: /Approve/ }).click();
  await r2.getByTestId('outcome').getByText('Approved').waitFor();
  const next = r2.getByTestId('next-workflow');
  await next.getByText('apply feedback').waitFor();
  await r2.getByTestId('approvals-count').getByText('2 of 2 approvals').waitFor();
  await t.shot(r2, '34-two-of-two-next');
  const check = await t.gql(
    `query($id: ID!) { approval(id: $id) { status approvalsCount artifactVersion artifact { version author content } votes { reviewer { name } decision } } }`,
    { id: approvalPath.split('/').pop() },
  );
  assert(check.approval.status === 'APPROVED', `approved: ${JSON.stringify(check)}`);
  const edited = check.approval.artifact;
  assert(
    check.approval.artifactVersion === 2 && edited.version === 2 && edited.author === one.name && edited.content.text.endsWith('The second keeper nods.'),
    `the edit is version 2 by reviewer 1: ${JSON.stringify(check.approval)}`,
  );
  const voters = check.approval.votes.map((v) => v.reviewer.name).sort();
  assert(JSON.stringify(voters) === JSON.stringify([one.name, two.name].sort()), `both voted: ${voters}`);

  // The submitter's page has no decision to make, and signs out.
  await submitter.reload();
  await submitter.getByTestId('outcome').getByText('Approved').waitFor();
  assert((await submitter.getByRole('button', { name: /^(Approve|Reject)/ }).count()) === 0, 'still no decision buttons');
  await submitter.getByRole('button', { name: 'Sign out' }).click();
  await submitter.getByText('You are signed out.').waitFor();
  await submitter.reload();
  await submitter.getByRole('heading', { name: 'Sign in to Baton' }).waitFor();
  await t.shot(submitter, '35-signed-out');

  // Put the default back for any scenario that runs after this one.
  await t.gql(`mutation { setApprovalPolicy(input: {workflowType: "generate_draft", requiredApprovals: 1}) { requiredApprovals } }`);
});

scenario('webhooks: the admin adds a webhook (secret shown once), sends a test delivery, sees it in the delivery log', async (t) => {
  const receiver = await startReceiver();
  try {
    const admin = await t.page(t.admin, 'admin');
    await admin.goto(`${t.base}/admin/webhooks`);
    await admin.getByRole('heading', { name: 'Add a webhook' }).waitFor();
    await admin.getByTestId('webhooks-table').or(admin.getByText('No webhooks yet')).waitFor();

    // The form: URL, events as checkboxes, optional workflow types.
    await admin.getByRole('button', { name: 'Add webhook' }).click();
    await admin.locator('[data-field-error="url"]').waitFor();
    await admin.locator('[data-field-error="events"]').waitFor();
    await admin.getByLabel('URL', { exact: true }).fill(receiver.url);
    const events = admin.getByRole('group', { name: 'Events' });
    await events.getByRole('checkbox', { name: /approval\.created/ }).check();
    await events.getByRole('checkbox', { name: /approval\.decided/ }).check();
    await admin.getByRole('group', { name: /Only these workflow types/ }).getByRole('checkbox', { name: 'generate draft' }).check();
    await admin.getByLabel(/^Description/).fill('e2e receiver');
    await t.shot(admin, '36-admin-webhook-form');
    await admin.getByRole('button', { name: 'Add webhook' }).click();

    // The secret, shown once, with how receivers verify.
    const secretBox = admin.getByTestId('webhook-secret');
    await secretBox.getByText('Copy it now: it will not be shown again.').waitFor();
    await secretBox.getByText(/Standard Webhooks signature; see the README/).waitFor();
    const secret = await secretBox.getByLabel('Signing secret').inputValue();
    assert(/^whsec_[A-Za-z0-9+/]+=*$/.test(secret), `a webhook secret: ${secret}`);
    const row = admin.locator(`tr[data-webhook="${receiver.url}"]`);
    await row.getByText('Active', { exact: true }).waitFor();
    await row.getByText('generate draft').waitFor();
    await row.locator('[data-rotation="One secret"]').waitFor();
    await t.shot(admin, '37-admin-webhook-secret-once');
    await secretBox.getByRole('button', { name: 'Done, hide it' }).click();
    await secretBox.waitFor({ state: 'detached' });
    assert(!(await admin.content()).includes(secret), 'the webhook secret is gone from the page');
    const listed = await t.gql(`{ webhooks { id url events workflowTypes description active } }`);
    const hook = listed.webhooks.find((w) => w.url === receiver.url);
    assert(
      hook && JSON.stringify(hook.events) === '["approval.created","approval.decided"]' && JSON.stringify(hook.workflowTypes) === '["generate_draft"]' && hook.description === 'e2e receiver' && hook.active,
      `the webhook as added: ${JSON.stringify(listed)}`,
    );

    // A test delivery, then the log (filtered to this webhook) until it is delivered.
    await row.getByRole('button', { name: /^Send test/ }).click();
    const queued = admin.getByTestId('webhook-outcome');
    await queued.getByText(`A test delivery to ${receiver.url} is queued.`).waitFor();
    const queuedId = await queued.getByTestId('test-delivery-id').innerText();
    await queued.getByRole('link', { name: 'See it in the delivery log' }).click();
    await admin.waitForURL(new RegExp(`/admin/deliveries\\?webhook=${hook.id}$`));
    await admin.getByLabel('Webhook', { exact: true }).locator('option:checked', { hasText: receiver.url }).waitFor({ state: 'attached' });
    assert((await admin.getByLabel('Webhook', { exact: true }).inputValue()) === hook.id, 'the log is filtered to the webhook');
    const delivered = admin.locator(`tr[data-delivery-id="${queuedId}"][data-status="DELIVERED"]`);
    await refreshUntil(admin, delivered, 'the test delivery as delivered');
    await delivered.getByText('webhook.test').waitFor();
    await delivered.getByText('HTTP 200').waitFor();
    assert((await delivered.locator('td.num').innerText()) === '1', 'delivered on the first attempt');
    assert((await delivered.getByRole('button', { name: /^Redeliver/ }).count()) === 0, 'no Redeliver on a delivered row');
    await delivered.getByRole('button', { name: /^Show payload/ }).click();
    const shownId = await admin.locator(`#delivery-${queuedId}`).getByTestId('delivery-id').innerText();
    assert(shownId === queuedId, `the log shows the queued delivery: ${shownId} vs ${queuedId}`);
    await admin.getByLabel(`Payload of delivery ${shownId}`).getByText('"type": "webhook.test"').waitFor();
    await t.shot(admin, '38-admin-delivery-log');

    // What the receiver got: the delivery's id as webhook-id, signed with the secret shown once.
    const got = receiver.requests.filter((r) => r.headers['webhook-id'] === shownId);
    assert(got.length >= 1, `the receiver got delivery ${shownId}: ${JSON.stringify(receiver.requests.map((r) => r.headers))}`);
    const req = got[0];
    assert(req.method === 'POST' && req.path === '/hooks/baton', `a POST to the webhook's path: ${req.method} ${req.path}`);
    assert(String(req.headers['webhook-signature']).startsWith('v1,'), `a v1 signature: ${req.headers['webhook-signature']}`);
    const ts = Number(req.headers['webhook-timestamp']);
    assert(Number.isInteger(ts) && Math.abs(Date.now() / 1000 - ts) < 300, `a fresh timestamp: ${ts}`);
    assert(signaturesBy(secret, req).length === 1, 'the signature verifies with the secret shown once (node:crypto)');
    assert(signaturesBy(`whsec_${Buffer.alloc(32).toString('base64')}`, req).length === 0, 'another key does not verify');
    const body = JSON.parse(req.body.toString('utf8'));
    assert(body.type === 'webhook.test' && body.data.webhook_id === hook.id, `the test body: ${req.body}`);

    // Rotate: a new secret shown once; for the overlap both secrets sign.
    await admin.getByRole('link', { name: 'Webhooks', exact: true }).click();
    await row.getByRole('button', { name: /^Rotate secret/ }).click();
    const dialog = admin.getByRole('alertdialog', { name: `Rotate the secret of ${receiver.url}?` });
    await dialog.getByLabel('The previous secret keeps signing for').selectOption('1 hour');
    await t.shot(admin, '39-admin-webhook-rotate-confirm', { fullPage: false });
    await dialog.getByRole('button', { name: 'Rotate secret' }).click();
    await secretBox.getByTestId('rotation-overlap').getByText(/each delivery carries two signatures/).waitFor();
    const rotated = await secretBox.getByLabel('Signing secret').inputValue();
    assert(rotated.startsWith('whsec_') && rotated !== secret, 'a new secret');
    await row.locator('[data-rotation="Rotating"]').waitFor();
    await secretBox.getByRole('button', { name: 'Done, hide it' }).click();
    await secretBox.waitFor({ state: 'detached' });
    await row.getByRole('button', { name: /^Send test/ }).click();
    const secondId = await queued.getByTestId('test-delivery-id').innerText();
    assert(secondId !== queuedId, 'a second test delivery');
    const deadline = Date.now() + 15_000;
    while (!receiver.requests.some((r) => r.headers['webhook-id'] === secondId)) {
      assert(Date.now() < deadline, 'the second test delivery arrived within 15 s');
      await admin.waitForTimeout(200);
    }
    const second = receiver.requests.find((r) => r.headers['webhook-id'] === secondId);
    const sigs = String(second.headers['webhook-signature']).split(' ');
    assert(sigs.length === 2, `two signatures during the overlap: ${second.headers['webhook-signature']}`);
    assert(signaturesBy(rotated, second).length === 1 && signaturesBy(secret, second).length === 1, 'one signature per secret');

    // Delete it (after confirming); the log keeps its deliveries.
    await row.getByRole('button', { name: /^Delete/ }).click();
    await admin.getByRole('alertdialog', { name: `Delete the webhook ${receiver.url}?` }).getByRole('button', { name: 'Delete' }).click();
    await admin.getByTestId('webhook-outcome').getByText(`The webhook ${receiver.url} is deleted.`).waitFor();
    await row.waitFor({ state: 'detached' });
    const after = await t.gql(`query($f: DeliveryFilter) { webhooks { id } deliveries(filter: $f) { edges { node { id } } } }`, {
      f: { webhookId: hook.id },
    });
    assert(!after.webhooks.some((w) => w.id === hook.id), 'the webhook is gone');
    assert(after.deliveries.edges.length === 2, `the log keeps both deliveries: ${JSON.stringify(after)}`);
  } finally {
    await receiver.close();
  }
});

scenario('email: a reviewer opens the decision link from the email and approves', async (t) => {
  // One approval is enough, whatever an earlier scenario left in the policy.
  await t.gql(`mutation { setApprovalPolicy(input: {workflowType: "generate_draft", requiredApprovals: 1}) { requiredApprovals } }`);

  // The admin adds a reviewer with an email address.
  const name = `mail-rev-${Math.random().toString(36).slice(2, 6)}`;
  const email = `${name}@e2e.test`;
  const admin = await t.page(t.admin, 'admin');
  await admin.goto(`${t.base}/admin`);
  await admin.getByTestId('users-table').waitFor();
  await admin.getByLabel('Name', { exact: true }).fill(name);
  await admin.getByLabel(/^Email/).fill(email);
  await admin.getByLabel('Role', { exact: true }).selectOption('REVIEWER');
  await admin.getByRole('button', { name: 'Add user' }).click();
  const shown = admin.getByTestId('sign-in-link');
  await shown.getByText(`${name} can sign in with this link`).waitFor();
  await shown.getByRole('button', { name: 'Done, hide it' }).click();
  await admin.locator(`tr[data-user="${name}"]`).getByText(email).waitFor();

  // A new draft to decide: the reviewer is emailed about it.
  const approvalId = await newDraft(t.gql, 'A letter for the keeper, delivered by email.');
  const message = await t.mail.waitFor(
    (m) => m.to.includes(email) && mailParts(m.raw).some((p) => p.text.includes(`/approvals/${approvalId}`)),
    `the email to ${email} about approval ${approvalId}`,
  );
  assert(message.from === 'baton@e2e.test', `sent from BATON_MAIL_FROM: ${message.from}`);
  const parts = mailParts(message.raw);
  const text = parts.find((p) => p.type === 'text/plain')?.text;
  const html = parts.find((p) => p.type === 'text/html')?.text;
  assert(text && html, `a plain-text and an HTML part: ${parts.map((p) => p.type)}`);
  assert(text.includes(`/approvals/${approvalId}`) && html.includes(`/approvals/${approvalId}`), 'both parts link to the approval');
  const links = [...text.matchAll(/http:\/\/\S+\/decide\/[A-Za-z0-9_-]+/g)].map((m) => m[0]);
  assert(links.length === 2 && links[0] !== links[1], `two decision links in the text part: ${links}`);
  for (const link of links) assert(html.includes(`href="${link}"`), `the HTML part has the same link: ${link}`);
  const [approveLink] = links;
  assert(approveLink.startsWith(`${t.base}/decide/`), `the link points at this baton: ${approveLink}`);

  // The link is the credential: a fresh browser, nobody signed in.
  const ctx = await t.context();
  // Chromium logs each 4xx answer as a console error. Expected here: the
  // 410s of the used link, and /favicon.ico, which the decision page (with
  // no icon of its own, unlike the app's `data:,`) makes the browser ask
  // for and baton answers 404. Anything else fails the scenario.
  const failedLoads = [];
  const watch = (p) => p.on('response', (r) => r.status() >= 400 && failedLoads.push(`${r.status()} ${new URL(r.url()).pathname}`));
  const page = await t.page(ctx, 'email-link');
  watch(page);
  const opened = await page.goto(approveLink);
  assert(opened?.status() === 200, `GET of the link answers 200: ${opened?.status()}`);
  await page.getByRole('heading', { name: 'Approve this draft?' }).waitFor();
  const form = page.locator('form[method="post"]');
  const approveButton = form.getByRole('button', { name: `Approve as ${name}` });
  await approveButton.waitFor();
  const feedback = form.getByLabel(/Feedback/);
  assert((await feedback.getAttribute('name')) === 'feedback', 'the feedback textarea');
  await t.shot(page, '40-email-decision-form');
  // Opening the link decides nothing.
  const before = await t.gql(`query($id: ID!) { approval(id: $id) { status decidedBy } }`, { id: approvalId });
  assert(before.approval.status === 'PENDING' && before.approval.decidedBy === null, `still pending: ${JSON.stringify(before)}`);

  // The same link in a second tab, for a second submit later.
  const stale = await t.page(ctx, 'email-link-again');
  watch(stale);
  await stale.goto(approveLink);
  await stale.getByRole('button', { name: `Approve as ${name}` }).waitFor();

  await feedback.fill('Approved from my inbox.');
  const posted = page.waitForResponse((r) => r.url() === approveLink && r.request().method() === 'POST');
  await approveButton.click();
  assert((await posted).status() === 200, `the form's POST answers 200: ${(await posted).status()}`);
  await page.getByRole('heading', { name: 'Approved' }).waitFor();
  assert((await page.title()).startsWith('Approved'), `the page is titled Approved: ${await page.title()}`);
  await page.getByText(`Your vote is recorded as ${name}`).waitFor();
  await t.shot(page, '41-email-decision-approved');
  const after = await t.gql(`query($id: ID!) { approval(id: $id) { status decidedBy feedback votes { reviewer { name } decision } } }`, {
    id: approvalId,
  });
  assert(
    after.approval.status === 'APPROVED' && after.approval.decidedBy === name && after.approval.feedback === 'Approved from my inbox.',
    `approved by ${name} with the feedback: ${JSON.stringify(after)}`,
  );
  assert(
    JSON.stringify(after.approval.votes) === JSON.stringify([{ reviewer: { name }, decision: 'APPROVE' }]),
    `one vote, by the reviewer: ${JSON.stringify(after.approval.votes)}`,
  );
  // The link signs nobody in.
  assert(!(await ctx.cookies()).some((c) => c.name === 'baton_session'), 'the link made no session');

  // Used: submitting the form again, and opening the link again, answer 410.
  await stale.bringToFront();
  const again = stale.waitForResponse((r) => r.url() === approveLink && r.request().method() === 'POST');
  await stale.getByRole('button', { name: `Approve as ${name}` }).click();
  assert((await again).status() === 410, `a second submit answers 410: ${(await again).status()}`);
  await stale.getByText(/already used/).first().waitFor();
  await t.shot(stale, '42-email-decision-used');
  const reopened = await page.goto(approveLink);
  assert(reopened?.status() === 410, `opening a used link answers 410: ${reopened?.status()}`);
  await page.getByText(/already used/).first().waitFor();
  assert((await page.getByRole('button', { name: /^Approve/ }).count()) === 0, 'no form on a used link');
  const still = await t.gql(`query($id: ID!) { approval(id: $id) { status decidedBy votes { id } } }`, { id: approvalId });
  assert(still.approval.status === 'APPROVED' && still.approval.votes.length === 1, `nothing changed: ${JSON.stringify(still)}`);

  const decidePath = new URL(approveLink).pathname;
  const unexpected = failedLoads.filter((f) => f !== `410 ${decidePath}` && f !== '404 /favicon.ico');
  assert(unexpected.length === 0, `only the used link's 410s and the favicon's 404 failed to load: ${failedLoads}`);
  const expected = /^\[email-link(-again)?\] console\.error: Failed to load resource: the server responded with a status of (410 \(Gone\)|404 \(Not Found\))$/;
  const others = t.consoleErrors.filter((e) => !expected.test(e));
  t.consoleErrors.splice(0, t.consoleErrors.length, ...others);
});

// ---------- declared workflow types (issue 9) ----------

/** What `summarize_ticket` takes: a `$ref` into `$defs` with a pattern, and a `oneOf` the form shows as JSON. */
const TICKET_INPUT_SCHEMA = {
  type: 'object',
  required: ['ticket', 'text'],
  $defs: {
    Ticket: { type: 'string', title: 'Ticket', description: 'Its key, like OPS-42.', pattern: '^[A-Z]+-[0-9]+$' },
  },
  properties: {
    ticket: { $ref: '#/$defs/Ticket' },
    text: { type: 'string', title: 'Ticket text', minLength: 1, maxLength: 5000 },
    audience: { title: 'Audience', oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] },
  },
};

/** What its runs hand the reviewer, titled for people. */
const TICKET_ARTIFACT_SCHEMA = {
  title: 'Ticket summary',
  type: 'object',
  required: ['headline', 'summary', 'key_points'],
  additionalProperties: false,
  properties: {
    headline: { type: 'string', title: 'Headline', description: 'One line for the queue.' },
    summary: { type: 'string', title: 'What happened' },
    key_points: { type: 'array', title: 'Key points', minItems: 1, items: { type: 'string' } },
    severity: { type: 'integer', title: 'Severity', minimum: 1, maximum: 5 },
    customer: {
      type: 'object',
      title: 'Customer',
      properties: { name: { type: 'string', title: 'Customer name' }, plan: { type: 'string', title: 'Plan' } },
    },
  },
};

const DECLARE = `mutation($input: DeclareWorkflowTypeInput!) { declareWorkflowType(input: $input) { name version } }`;
const CLAIM = `mutation($types: [String!]!) {
  claimWorkflows(types: $types, limit: 1, leaseSeconds: 60, waitSeconds: 10) {
    handle
    leaseExpiresAt
    workflow { id type typeVersion status attempt input }
  }
}`;
const COMPLETE = `mutation($handle: String!, $output: JSON, $artifact: JSON, $score: Float) {
  completeWorkflow(handle: $handle, output: $output, artifact: $artifact, score: $score) {
    id status typeVersion approval { id status }
  }
}`;

/** Claims one run of `type` as the worker (long-polls up to 10 s). */
async function claimOne(worker, type) {
  const claims = dataOf(await worker(CLAIM, { types: [type] }), `claimWorkflows(${type})`).claimWorkflows;
  assert(claims.length === 1, `one ${type} run to claim: ${JSON.stringify(claims)}`);
  return claims[0];
}

scenario('declared type: an admin declares it on the Types page, a worker runs it, the reviewer reads its schema titles and approves', async (t) => {
  // The next step's type, declared in the setup over GraphQL: no approval;
  // its input schema takes the decision's keys.
  await t.gql(DECLARE, {
    input: {
      name: 'publish_summary',
      description: 'Posts an approved ticket summary.',
      inputSchema: { type: 'object', properties: { channel: { type: 'string' }, approved: { type: 'boolean' } } },
      requiresApproval: false,
    },
  });

  // The admin declares summarize_ticket on the Types page; a JSON typo
  // shows at its field before anything is sent.
  const admin = await t.page(t.admin, 'admin');
  await admin.goto(`${t.base}/types`);
  await admin.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Types' }).waitFor();
  await admin.locator('tr[data-type="generate_draft"]').getByText('built-in').waitFor();
  await admin.getByRole('button', { name: 'Declare a type' }).click();
  const form = admin.getByRole('form', { name: 'Declare a workflow type' });
  await form.getByLabel(/^Name/).fill('summarize_ticket');
  await form.getByLabel(/^Description/).fill('Summarizes a support ticket for a reviewer.');
  await form.getByLabel(/^Input schema/).fill(JSON.stringify(TICKET_INPUT_SCHEMA, null, 2));
  const artifactBox = form.getByLabel(/^Artifact schema/);
  await artifactBox.fill('{"type": "object", "properties": {');
  await artifactBox.blur();
  await form.locator('[data-field-error="artifactSchema"]').getByText(/^Not valid JSON/).waitFor();
  await t.shot(admin, '43-declare-type-parse-error');
  await artifactBox.fill(JSON.stringify(TICKET_ARTIFACT_SCHEMA, null, 2));
  await form.locator('[data-field-error="artifactSchema"]').waitFor({ state: 'detached' });
  await form.getByLabel(/^Approving starts/).selectOption('publish_summary');
  await form.getByLabel(/^Input added on approval/).fill('{"channel": "ops"}');
  await form.getByLabel(/^Timeout/).fill('120');
  await form.getByRole('button', { name: 'Declare the type' }).click();
  await admin.getByTestId('type-declared').getByText('Declared summarize ticket v1.').waitFor();
  const row = admin.locator('tr[data-type="summarize_ticket"]');
  await row.getByText('v1', { exact: true }).waitFor();
  await row.getByRole('link', { name: 'publish summary' }).waitFor();
  await t.shot(admin, '44-types-declared');
  const declared = await t.gql(`{ workflowType(name: "summarize_ticket") { version builtIn timeoutSeconds artifactSchema nextOnApprove { workflowType input } declaredBy } }`);
  assert(
    declared.workflowType.version === 1 &&
      !declared.workflowType.builtIn &&
      declared.workflowType.timeoutSeconds === 120 &&
      declared.workflowType.nextOnApprove?.workflowType === 'publish_summary' &&
      declared.workflowType.nextOnApprove?.input?.channel === 'ops' &&
      declared.workflowType.artifactSchema?.title === 'Ticket summary',
    `declared as filled in: ${JSON.stringify(declared)}`,
  );

  // A submitter starts one from the form built from the declared schema.
  const { page: filer } = await t.user('SUBMITTER', 'filer');
  await filer.goto(`${t.base}/workflows/new?type=summarize_ticket`);
  const ticket = filer.getByLabel(/^Ticket(?! text)/);
  await ticket.fill('ops-42');
  await filer.getByLabel(/^Ticket text/).fill('The printer on floor 3 prints blank pages.\nThe customer is on the Pro plan.');
  await filer.getByLabel(/^Audience/).fill('["support", "facilities"]');
  await filer.getByRole('button', { name: /Start summarize ticket/ }).click();
  await filer.getByText('Must match the pattern ^[A-Z]+-[0-9]+$.').waitFor();
  await t.shot(filer, '45-start-declared-type');
  await ticket.fill('OPS-42');
  await filer.getByRole('button', { name: /Start summarize ticket/ }).click();
  await filer.getByRole('heading', { level: 1, name: /summarize ticket v1/ }).waitFor();
  const workflowId = new URL(filer.url()).pathname.split('/').pop();

  // The worker: a service token made with the CLI, then claim and complete over GraphQL.
  const secret = t.cli(['token', 'create', '--name', 'e2e-worker', '--role', 'submitter', '--service', 'e2e-worker']).trim();
  assert(/^baton_\S+$/.test(secret), `the CLI printed the secret alone: ${JSON.stringify(secret)}`);
  const worker = makeWorker(t.base, secret);
  const claim = await claimOne(worker, 'summarize_ticket');
  assert(
    claim.workflow.id === workflowId &&
      claim.workflow.typeVersion === 1 &&
      claim.workflow.input.ticket === 'OPS-42' &&
      claim.workflow.input.audience?.[1] === 'facilities',
    `claimed the submitted run: ${JSON.stringify(claim)}`,
  );
  // An artifact that breaks the schema is refused, and the claim stays open.
  const refused = await worker(COMPLETE, { handle: claim.handle, output: { ok: true }, artifact: { headline: 'Printer' } });
  assert(refused.errors?.[0]?.extensions?.code === 'BAD_USER_INPUT', `an invalid artifact is refused: ${JSON.stringify(refused)}`);
  const artifact = {
    headline: 'Printer on floor 3 prints blank pages',
    summary: 'Every job comes out blank since Monday.\nToner was replaced; it did not help.',
    key_points: ['Started Monday', 'Toner already replaced', 'Affects the whole floor'],
    severity: 3,
    customer: { name: 'Acme Ltd', plan: 'Pro' },
  };
  const done = dataOf(
    await worker(COMPLETE, { handle: claim.handle, output: { words: 24 }, artifact, score: 82 }),
    'completeWorkflow',
  ).completeWorkflow;
  assert(done.status === 'COMPLETED' && done.approval?.status === 'PENDING', `completed, waiting for a reviewer: ${JSON.stringify(done)}`);

  // A new version with other titles: the approval keeps reading v1's.
  await t.gql(DECLARE, {
    input: {
      name: 'summarize_ticket',
      inputSchema: TICKET_INPUT_SCHEMA,
      artifactSchema: {
        ...TICKET_ARTIFACT_SCHEMA,
        properties: { ...TICKET_ARTIFACT_SCHEMA.properties, headline: { type: 'string', title: 'Title (v2)' } },
      },
      requiresApproval: true,
      nextOnApprove: { workflowType: 'publish_summary', input: { channel: 'ops' } },
    },
  });

  // The reviewer: the queue names the type with its version; the review
  // page lays the artifact out by v1's schema titles.
  const { page: reviewer } = await t.user('REVIEWER', 'reader');
  await reviewer.goto(`${t.base}/`);
  const queueRow = reviewer.locator(`tr[data-approval-id="${done.approval.id}"]`);
  await queueRow.getByText('summarize ticket v1').waitFor();
  await queueRow.getByRole('link', { name: 'summarize_ticket' }).click();
  const view = reviewer.getByTestId('schema-artifact');
  await view.getByRole('heading', { name: 'Ticket summary · version 1' }).waitFor();
  const field = (key) => view.locator(`[data-key="${key}"]`);
  await field('headline').getByRole('term').getByText('Headline', { exact: true }).waitFor();
  await field('headline').getByText('One line for the queue.').waitFor();
  assert((await view.getByText('Title (v2)').count()) === 0, "v2's titles do not apply to a v1 run");
  await field('summary').getByRole('term').getByText('What happened').waitFor();
  const kept = await field('summary').locator('.schema-text').textContent();
  assert(kept === artifact.summary, `the summary keeps its line break: ${JSON.stringify(kept)}`);
  const points = await field('key_points').getByRole('listitem').allTextContents();
  assert(points.join('|') === artifact.key_points.join('|'), `key points as a list: ${points}`);
  await field('customer').locator('[data-key="plan"]').getByRole('term').getByText('Plan').waitFor();
  // Required ones first, as `required` lists them (the server may hand the properties back sorted).
  const order = await view.locator('.schema-fields:not(.schema-nested) > .schema-field').evaluateAll((els) => els.map((e) => e.dataset.key));
  assert(order.join() === 'headline,summary,key_points,customer,severity', `fields in order: ${order}`);
  await t.shot(reviewer, '46-review-declared-artifact');
  await view.getByRole('button', { name: 'Raw JSON' }).click();
  await view.getByLabel('Artifact data').getByText(/"severity": 3/).waitFor();
  await view.getByRole('button', { name: 'Raw JSON' }).click();
  await field('severity').waitFor();

  // Approving starts publish_summary; the worker runs it and the card follows live.
  await reviewer.getByLabel(/^Feedback/).fill('Clear enough; post it.');
  await reviewer.getByRole('button', { name: /^Approve/ }).click();
  const next = reviewer.getByTestId('next-workflow');
  await next.getByRole('link', { name: 'publish summary v1' }).waitFor();
  const publish = await claimOne(worker, 'publish_summary');
  const input = publish.workflow.input;
  // The contract says decision "approve"; the server sends "approved" (the
  // built-in apply_feedback's word): either names the approval.
  assert(
    input.channel === 'ops' &&
      input.approved === true &&
      ['approve', 'approved'].includes(input.decision) &&
      input.feedback === 'Clear enough; post it.' &&
      input.approval_id === done.approval.id &&
      typeof input.artifact_id === 'string' &&
      typeof input.artifact_sha256 === 'string',
    `the next step's input is the declared input plus the decision: ${JSON.stringify(input)}`,
  );
  dataOf(await worker(COMPLETE, { handle: publish.handle, output: { posted: true } }), 'completeWorkflow(publish_summary)');
  await reviewer.locator('[data-testid="next-workflow"][data-status="COMPLETED"]').waitFor();
  await t.shot(reviewer, '47-declared-approved-next-done');

  // The workflow's page names the version and links to its type.
  await reviewer.goto(`${t.base}/workflows/${workflowId}`);
  await reviewer.getByRole('heading', { level: 1, name: /summarize ticket v1/ }).waitFor();
  await reviewer.getByTestId('schema-artifact').waitFor();
  await reviewer.getByRole('link', { name: 'summarize ticket v1' }).first().click();
  await reviewer.getByText(/This is version 1; new runs use version 2/).waitFor();
  await reviewer.locator('pre[aria-label="Artifact schema"]').getByText(/"title": "Ticket summary"/).waitFor();
  assert((await reviewer.getByRole('button', { name: 'Declare a new version' }).count()) === 0, 'only admins declare');
  await t.shot(reviewer, '48-type-version-1');
});

// ---------- runner ----------

async function main() {
  const only = process.env.E2E_ONLY;
  const chosen = only ? scenarios.filter((s) => s.name.includes(only)) : scenarios;
  if (!existsSync(path.join(distDir, 'index.html'))) throw new Error('dist/index.html is missing: run npm run build');
  if (!existsSync(chromiumPath)) {
    throw new Error(`${chromiumPath} is missing: apt-get install -y chromium (never a browser download via npm)`);
  }
  const bin = ensureBinary();
  mkdirSync(shotsDir, { recursive: true });
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'baton-e2e-'));
  let baton;
  let browser;
  let mail;
  let passed = 0;
  let failed = 0;
  try {
    mail = await startSmtpSink();
    baton = await startBaton(bin, tmp, mail.port);
    const base = baton.url;
    await checkServesApp(base);
    console.log(`baton (and the app) at ${base}, database in ${tmp}`);
    browser = await chromium.launch({
      executablePath: chromiumPath,
      args: [
        '--no-sandbox',
        '--headless',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    // One kit per phase (the bootstrap, then each scenario): the contexts
    // and pages it opens, their console errors, screenshots.
    const kit = (gql, admin) => {
      const contexts = [];
      const pages = [];
      const consoleErrors = [];
      let userCount = 0;
      const t = {
        base,
        gql,
        /** The SMTP sink baton sends its email to. */
        mail,
        /** The `baton` CLI on the server's database (stdout). */
        cli: (args) => runCli(bin, tmp, args),
        /** The admin's browser context, signed in from the printed link (pages opened here close after the scenario). */
        admin,
        lastPage: undefined,
        consoleErrors,
        async context(options = {}) {
          const c = await browser.newContext({ viewport: { width: 1280, height: 900 }, ...options });
          c.setDefaultTimeout(TIMEOUT);
          contexts.push(c);
          return c;
        },
        async page(ctx, label) {
          const p = await ctx.newPage();
          p.on('console', (m) => {
            if (m.type() === 'error' || m.type() === 'warning') consoleErrors.push(`[${label}] console.${m.type()}: ${m.text()}`);
          });
          p.on('pageerror', (e) => consoleErrors.push(`[${label}] page error: ${e.message}`));
          pages.push(p);
          t.lastPage = p;
          return p;
        },
        /**
         * A new user with this role, signed in in a browser context of their
         * own (from the link an admin gets for them). Names are unique per run.
         */
        async user(role, label, options = {}) {
          userCount += 1;
          const name = `${label}${userCount}${Math.random().toString(36).slice(2, 6)}`;
          const link = await createUser(gql, name, role);
          const ctx = await t.context(options);
          const page = await t.page(ctx, label);
          await signIn(page, link, name);
          return { name, ctx, page };
        },
        async shot(p, name, options = {}) {
          await p.evaluate(() => document.fonts.ready);
          await p.screenshot({ path: path.join(shotsDir, `${name}.png`), fullPage: options.fullPage ?? true });
          await checkA11y(p, name);
        },
        async close() {
          for (const p of pages) await p.close().catch(() => {});
          for (const c of contexts) await c.close().catch(() => {});
        },
      };
      return t;
    };

    // Bootstrap: the sign-in screen, then the printed link signs the admin
    // in; that browser makes the runner's admin API token.
    const adminContext = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    adminContext.setDefaultTimeout(TIMEOUT);
    const boot = kit(null, adminContext);
    let gql;
    try {
      const page = await boot.page(adminContext, 'admin');
      await page.goto(`${base}/`);
      await page.getByRole('heading', { name: 'Sign in to Baton' }).waitFor();
      await page.getByText('sign in:', { exact: true }).waitFor();
      await boot.shot(page, '00-sign-in');
      await signIn(page, baton.signInUrl, 'admin');
      await page.getByTestId('identity').getByText('Admin', { exact: true }).waitFor();
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Admin' }).waitFor();
      await boot.shot(page, '00-signed-in-as-admin');
      // The session cookie is HttpOnly: the page cannot read it.
      assert(!(await page.evaluate(() => document.cookie)).includes('baton_session'), 'the session cookie is readable by JS');
      const made = await page.evaluate(async () => {
        const res = await fetch('/graphql', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            query: 'mutation { createToken(input: {name: "e2e", role: ADMIN, serviceName: "e2e"}) { secret } }',
          }),
        });
        return res.json();
      });
      const secret = made?.data?.createToken?.secret;
      assert(typeof secret === 'string' && secret.startsWith('baton_'), `an admin token: ${JSON.stringify(made)}`);
      gql = makeApi(baton.url, secret);
      if (boot.consoleErrors.length) throw new Error(`console errors:\n  ${boot.consoleErrors.join('\n  ')}`);
    } finally {
      await boot.close();
    }

    for (const s of chosen) {
      const t = kit(gql, adminContext);
      const started = Date.now();
      try {
        await s.fn(t);
        if (t.consoleErrors.length) throw new Error(`console errors:\n  ${t.consoleErrors.join('\n  ')}`);
        passed++;
        console.log(`ok    ${s.name} (${Date.now() - started} ms)`);
      } catch (e) {
        failed++;
        console.log(`FAIL  ${s.name}\n      ${String(e?.stack ?? e).split('\n').join('\n      ')}`);
        if (t.consoleErrors.length) console.log(`      console: ${t.consoleErrors.join(' | ')}`);
        if (t.lastPage) {
          const name = `FAILED-${s.name.replace(/[^a-z0-9]+/gi, '-').slice(0, 60)}.png`;
          await t.lastPage.screenshot({ path: path.join(shotsDir, name), fullPage: true }).catch(() => {});
        }
      } finally {
        await t.close();
      }
    }
  } finally {
    await browser?.close().catch(() => {});
    if (baton) {
      if (failed) writeFileSync(path.join(shotsDir, 'baton.log'), baton.logs());
      await baton.stop();
    }
    await mail?.close();
    rmSync(tmp, { recursive: true, force: true });
  }
  console.log(`screenshots in ${path.relative(process.cwd(), shotsDir) || shotsDir}`);
  console.log(`${passed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(e);
    console.log('0 passed, 1 failed');
    process.exit(1);
  },
);
