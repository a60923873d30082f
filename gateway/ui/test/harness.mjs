// Shared setup of the console's browser tests: Debian's Chromium through
// playwright-core (never a downloaded browser), the stack's addresses and
// tokens from the Go test that started it (gateway/e2e/console_test.go),
// API calls, axe-core and screenshots.
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the browser tests through go test (gateway/e2e TestConsole_InChromium)`);
  return v;
};

export const cfg = {
  base: env("LIFT_BASE_URL"),
  admin: env("LIFT_ADMIN_TOKEN"),
  read: env("LIFT_READ_TOKEN"),
  accountId: env("LIFT_ACCOUNT_ID"),
  projectId: env("LIFT_PROJECT_ID"),
  sdkKey: env("LIFT_SDK_KEY"),
  chromium: env("LIFT_CHROMIUM"),
  shots: env("LIFT_SCREENSHOTS"),
};

/** launch starts headless Chromium with a fresh profile and no background
 * networking; every request that leaves the gateway's origin is recorded. */
export async function launch() {
  const profile = mkdtempSync(join(tmpdir(), "lift-console-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: cfg.chromium,
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--disable-quic",
    ],
  });
  const problems = [];
  context.on("request", (r) => {
    if (!r.url().startsWith(cfg.base) && !r.url().startsWith("data:")) problems.push(`request off the gateway: ${r.url()}`);
  });
  context.on("page", (p) => watch(p, problems));
  for (const p of context.pages()) watch(p, problems);
  return {
    context,
    problems,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

function watch(page, problems) {
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("console", (m) => {
    // A refused API call logs "Failed to load resource"; the tests provoke
    // some on purpose. Anything else logged as an error (a CSP refusal, an
    // exception) is a problem.
    if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) problems.push(`console error: ${m.text()}`);
  });
}

/** api calls the REST API as a client would. */
export async function api(method, path, token, body) {
  const resp = await fetch(cfg.base + path, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "Content-Type": "application/json" }) },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await resp.text();
  let json = {};
  try {
    json = text ? JSON.parse(text) : {};
  } catch {
    json = { raw: text };
  }
  return { status: resp.status, json, headers: resp.headers };
}

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

/** axe runs axe-core in the page (through the DevTools protocol, so the
 * console's CSP stays on) and returns its serious and critical violations. */
export async function axe(page) {
  await page.evaluate(axeSource);
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await window.axe.run(document, { resultTypes: ["violations"] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(" ")).slice(0, 5) }));
  });
  return result.filter((v) => v.impact === "serious" || v.impact === "critical");
}

/** shot writes a full-page screenshot under the ignored screenshots folder. */
export async function shot(page, name) {
  mkdirSync(cfg.shots, { recursive: true });
  const path = join(cfg.shots, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
