// Walks Signet's sign-in and consent pages in a real Chromium (Debian's, driven by
// playwright-core; no browser is downloaded): sign in, check what is shown, enter PIN and TOTP,
// approve, and report the client callback URL (with the authorization code) as JSON on stdout.
// Screenshots of every page go to SIGNET_SCREENSHOTS/<SIGNET_VIEWPORT>-*.png.
//
// Called by crates/signet-cli/tests/browser.rs, which starts the server, enrols the signer and
// finishes the token and signHash steps itself. Inputs come from the environment only.
'use strict';

const fs = require('fs');
const http = require('http');
const os = require('os');
const path = require('path');

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`missing environment variable ${name}`);
  return v;
};

const modules = process.env.SIGNET_BROWSER_MODULES
  || path.join(__dirname, '..', '..', '..', '..', 'target', 'browser-node', 'node_modules');
const { chromium } = require(path.join(modules, 'playwright-core'));

const VIEWPORTS = {
  phone: { viewport: { width: 390, height: 844 }, deviceScaleFactor: 3, isMobile: true, hasTouch: true },
  desktop: { viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1, isMobile: false, hasTouch: false },
};

async function main() {
  const name = env('SIGNET_VIEWPORT');
  const device = VIEWPORTS[name];
  if (!device) throw new Error(`unknown viewport ${name}`);
  const shots = env('SIGNET_SCREENSHOTS');
  fs.mkdirSync(shots, { recursive: true });
  const redirect = env('SIGNET_REDIRECT_URI');
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.SIGNET_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
    ...device,
  });
  const problems = [];
  // The client application's callback (a loopback redirect URI): a tiny server of our own, so
  // the browser really leaves Signet's origin (and its form-action CSP is put to the test).
  const target = new URL(redirect);
  const callback = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end('<!DOCTYPE html><meta name="viewport" content="width=device-width"><title>Client</title>'
      + '<h1 style="font-family:sans-serif">Back at the client application</h1>');
  });
  await new Promise((resolve, reject) => {
    callback.once('error', reject);
    callback.listen(Number(target.port), target.hostname, resolve);
  });
  try {
    const page = context.pages()[0] || await context.newPage();
    page.setDefaultTimeout(30000);
    page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));

    await page.goto(env('SIGNET_AUTHORIZE_URL'));
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await page.screenshot({ path: path.join(shots, `${name}-signin.png`), fullPage: true });
    await page.getByLabel('Username').fill(env('SIGNET_USERNAME'));
    await page.getByLabel('Password').fill(env('SIGNET_PASSWORD'));
    await Promise.all([page.waitForURL('**/oauth2/consent'), page.getByRole('button', { name: 'Sign in' }).click()]);

    await page.getByRole('heading', { name: 'Approve signature' }).waitFor();
    const text = await page.locator('main').innerText();
    for (const expected of JSON.parse(env('SIGNET_EXPECT_TEXT'))) {
      if (!text.includes(expected)) problems.push(`consent page does not show ${JSON.stringify(expected)}`);
    }
    // Large enough to tap: every button at least 44 CSS pixels high.
    for (const b of await page.getByRole('button').all()) {
      const box = await b.boundingBox();
      if (box && box.height < 44) problems.push(`button ${await b.innerText()} is ${box.height}px high`);
    }
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    if (width > device.viewport.width) problems.push(`page scrolls sideways: ${width}px > ${device.viewport.width}px`);
    await page.screenshot({ path: path.join(shots, `${name}-consent.png`), fullPage: true });

    await page.getByLabel('PIN').fill(env('SIGNET_PIN'));
    await page.getByLabel('One-time code').fill(env('SIGNET_OTP'));
    await Promise.all([
      page.waitForURL(`${redirect}**`),
      page.getByRole('button', { name: 'Approve and sign' }).click(),
    ]);
    await page.screenshot({ path: path.join(shots, `${name}-callback.png`) });
    process.stdout.write(JSON.stringify({ callback: page.url(), problems }) + '\n');
  } finally {
    callback.close();
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

main().catch((e) => {
  process.stderr.write(`browser test failed: ${e.stack || e}\n`);
  process.exit(1);
});
