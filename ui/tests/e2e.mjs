// Browser tests of the web UI against a running collector with data.
//
//   TAPIR_URL=http://127.0.0.1:PORT TAPIR_TOKEN=... node tests/e2e.mjs [ARTIFACT_DIR]
//
// Drives Debian's chromium with playwright-core (no browser download). Each
// check compares what the page shows with what the query API answers for the
// same question, so the UI is held to the API (itself tested against SQL).
// Screenshots of every page go to ARTIFACT_DIR. Prints "N passed, N failed".
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

const base = process.env.TAPIR_URL;
const token = process.env.TAPIR_TOKEN;
const artifacts = process.argv[2] ?? 'ui-artifacts';
if (!base || !token) {
  console.error('TAPIR_URL and TAPIR_TOKEN must be set');
  process.exit(2);
}
mkdirSync(artifacts, { recursive: true });

async function api(path) {
  const r = await fetch(`${base}${path}`, { headers: { Authorization: `Bearer ${token}` } });
  if (!r.ok) throw new Error(`${path}: ${r.status}`);
  return { body: await r.json(), total: Number(r.headers.get('X-Total-Count')) };
}

const results = [];
async function check(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    results.push([name, true]);
    console.log(`ok   ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    results.push([name, false]);
    console.log(`FAIL ${name}: ${e.message.split('\n')[0]}`);
  }
}
function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
const page = await context.newPage();
page.setDefaultTimeout(45000);
page.setDefaultNavigationTimeout(60000);
const shot = (name) => page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });

// A full page load (not a hash change), so nothing of the previous view is read.
async function open(p, path) {
  await p.goto('about:blank');
  await p.goto(`${base}/${path}`, { waitUntil: 'domcontentloaded' });
}

async function signIn(p, tok) {
  await p.goto(`${base}/#/login`, { waitUntil: 'domcontentloaded' });
  await p.fill('input[name="token"]', tok);
  await p.click('button[type="submit"]');
}

// Reads the "1-25 of N" pagination label of a react-admin list.
async function listTotal(p) {
  const label = p.locator('.MuiTablePagination-displayedRows').first();
  await label.waitFor();
  const text = await label.innerText();
  const m = text.match(/of\s+([\d,]+)/);
  assert(m, `no total in "${text}"`);
  return Number(m[1].replace(/,/g, ''));
}

async function rowsText(p) {
  await p.locator('table tbody tr').first().waitFor();
  return p.locator('table tbody tr').allInnerTexts();
}

await check('an invalid token is refused', async () => {
  await signIn(page, 'not-a-valid-token');
  await page.getByText('Invalid token').first().waitFor();
  assert(page.url().includes('login'), 'left the login page with a bad token');
  await shot('login-refused');
});

await check('sign-in with a valid token shows the dashboard with charts', async () => {
  await signIn(page, token);
  await page.getByTestId('dashboard').waitFor();
  for (const id of ['chart-traffic', 'chart-talkers', 'chart-dns-names', 'chart-dns-rcodes', 'chart-tls-sni']) {
    const panel = page.getByTestId(id);
    await panel.waitFor();
    await panel.locator('svg.recharts-surface').first().waitFor();
  }
  // The top-talkers bars are the API's top-10 by bytes.
  const { body } = await api('/api/v1/flow/aggregate?group_by=src_ip&metrics=sum:src_ip_bytes&_sort=sum:src_ip_bytes&_order=DESC&_limit=10');
  const rows = Array.isArray(body) ? body : body.rows;
  assert(rows.length > 0, 'API has no flows');
  const text = await page.getByTestId('chart-talkers').innerText();
  assert(text.includes(String(rows[0].src_ip)), `top talker ${rows[0].src_ip} not shown`);
  await page.waitForTimeout(500);
  await shot('dashboard');
});

await check('DNS list filters by name', async () => {
  const { body } = await api('/api/v1/dns?_sort=ts&_order=ASC&_start=0&_end=1&query_like=*.*');
  assert(body.length, 'no DNS events with a name');
  const name = body[0].query;
  const expected = (await api(`/api/v1/dns?query_eq=${encodeURIComponent(name)}&_start=0&_end=1`)).total;
  await open(page, `#/dns`);
  await listTotal(page);
  await page.getByRole('button', { name: /add filter/i }).click();
  // react-admin 5 lists filters as menu items with a checkbox.
  await page.locator('[role^="menuitem"]').filter({ hasText: /^query contains$/i }).first().click();
  await page.getByLabel(/^query contains$/i).fill(name);
  await page.waitForFunction(() => !document.querySelector('.MuiLinearProgress-root'));
  await page.waitForTimeout(1200);
  const likeTotal = (await api(`/api/v1/dns?query_like=${encodeURIComponent(`*${name}*`)}&_start=0&_end=1`)).total;
  const shown = await listTotal(page);
  assert(shown === likeTotal, `UI shows ${shown}, API says ${likeTotal}`);
  assert(likeTotal >= expected, 'like total below exact total');
  const rows = await rowsText(page);
  assert(rows.every((r) => r.includes(name)), 'a row without the name');
  await shot('dns-filter-name');
});

await check('DNS list filters by rcode', async () => {
  const { body } = await api('/api/v1/dns/aggregate?group_by=rcode_name&metrics=count&_sort=count&_order=ASC&_limit=10');
  const rows = (Array.isArray(body) ? body : body.rows).filter((r) => r.rcode_name);
  assert(rows.length, 'no rcodes');
  const pick = rows.find((r) => r.rcode_name !== 'NOERROR') ?? rows[0];
  await open(page, `#/dns?filter=${encodeURIComponent(JSON.stringify({ rcode_name_like: pick.rcode_name }))}`);
  const shown = await listTotal(page);
  const api_total = (await api(`/api/v1/dns?rcode_name_like=${encodeURIComponent(`*${pick.rcode_name}*`)}&_start=0&_end=1`)).total;
  assert(shown === api_total, `UI ${shown} vs API ${api_total}`);
  const texts = await rowsText(page);
  assert(texts.every((t) => t.includes(pick.rcode_name)), 'row with another rcode');
  await shot('dns-filter-rcode');
});

await check('sorting and paging of the flow list follow the API', async () => {
  await open(page, `#/flow?sort=src_ip_bytes&order=DESC&page=2&perPage=10`);
  const total = await listTotal(page);
  const expected = await api('/api/v1/flow?_sort=src_ip_bytes&_order=DESC&_start=10&_end=20');
  assert(total === expected.total, `total ${total} vs ${expected.total}`);
  const rows = await rowsText(page);
  assert(rows.length === expected.body.length, `page has ${rows.length} rows, API ${expected.body.length}`);
  for (let i = 0; i < rows.length; i++) {
    assert(rows[i].includes(String(expected.body[i].src_ip)), `row ${i} is not ${expected.body[i].src_ip}`);
  }
  // Clicking a column header sorts by it.
  await open(page, `#/flow`);
  await listTotal(page);
  await page.locator('th').filter({ hasText: /^dst packets$/i }).locator('span[role="button"], .MuiTableSortLabel-root').first().click();
  await page.waitForFunction(() => location.hash.includes('dst_packets'));
  await shot('flow-sorted');
});

await check('a flow detail shows its DNS and TLS events', async () => {
  const tls = (await api('/api/v1/tls?_start=0&_end=1&community_id_like=1%3A*')).body[0];
  assert(tls, 'no TLS event with a community id');
  const flows = (await api(`/api/v1/flow?community_id_eq=${encodeURIComponent(tls.community_id)}&_start=0&_end=1`)).body;
  assert(flows.length, 'TLS event without its flow');
  await open(page, `#/flow/${flows[0].id}/show`);
  const related = page.getByTestId('related-tls');
  await related.waitFor();
  await related.getByText(String(tls.sni || tls.dst_ip)).first().waitFor();
  await shot('flow-detail-tls');
  const dns = (await api('/api/v1/dns?_start=0&_end=1&community_id_like=1%3A*')).body[0];
  assert(dns, 'no DNS event with a community id');
  const dflows = (await api(`/api/v1/flow?community_id_eq=${encodeURIComponent(dns.community_id)}&_start=0&_end=1`)).body;
  assert(dflows.length, 'DNS event without its flow');
  await open(page, `#/flow/${dflows[0].id}/show`);
  await page.getByTestId('related-dns').getByText(String(dns.query)).first().waitFor();
  await shot('flow-detail-dns');
});

await check('the agents page shows counters', async () => {
  const agents = (await api('/api/v1/agent?_sort=ts&_order=DESC&_start=0&_end=1')).body;
  assert(agents.length, 'no agent reports');
  await open(page, `#/agents`);
  const card = page.getByTestId('agent-card').first();
  await card.waitFor();
  const text = await card.innerText();
  assert(text.includes(agents[0].agent_id), 'agent id missing');
  const captured = await card.getByTestId('counter-captured').innerText();
  assert(/\d/.test(captured), 'no captured counter');
  // Rejected data of the first agent, as the rejects aggregation counts it.
  const per = (await api('/api/v1/rejects/aggregate?group_by=agent_id&metrics=count')).body;
  const want = per.find((r) => r.agent_id === agents[0].agent_id)?.count ?? 0;
  const shown = (await card.getByTestId('counter-rejected').innerText()).replace(/[^0-9]/g, '');
  assert(Number(shown) === want, `rejected shows ${shown}, API counts ${want}`);
  await shot('agents');
});

await check('the live view connects', async () => {
  await open(page, `#/live`);
  await page.getByText('connected', { exact: true }).waitFor();
  await shot('live');
});

await check('the app is installable (manifest and service worker)', async () => {
  const m = await fetch(`${base}/manifest.webmanifest`);
  assert(m.ok, 'no manifest');
  const sw = await fetch(`${base}/sw.js`);
  assert(sw.ok, 'no service worker');
  const mobile = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true });
  const p = await mobile.newPage();
  await signIn(p, token);
  await p.getByTestId('dashboard').waitFor();
  await p.screenshot({ path: join(artifacts, 'dashboard-phone.png'), fullPage: true });
  await mobile.close();
});

await browser.close();
const passed = results.filter(([, ok]) => ok).length;
console.log(`${passed} passed, ${results.length - passed} failed`);
process.exit(passed === results.length ? 0 : 1);
