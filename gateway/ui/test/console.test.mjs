// The console in a real browser against a real stack. The tests run in
// order and share one browser: each step builds on what the previous made.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { api, axe, cfg, launch, shot } from "./harness.mjs";

const ui = (p = "") => `${cfg.base}/ui/${p}`;
let browser;
let page;
const made = {}; // what the steps created: flag, experiment
const shots = [];

/** look checks the page with axe-core (0 serious or critical violations)
 * and writes its screenshot. */
async function look(p, name) {
  const violations = await axe(p);
  shots.push(await shot(p, name));
  assert.deepEqual(violations, [], `${name}: axe-core serious/critical violations:\n${JSON.stringify(violations, null, 1)}`);
}

const fmt = {
  num: (x) => Number(x ?? 0).toLocaleString("en-US"),
  pct: (x) => `${((x ?? 0) * 100).toFixed(2)} %`,
  signed: (x) => `${x > 0 ? "+" : ""}${(x * 100).toFixed(2)} %`,
};

/** datafile fetches the production datafile until want(it) holds (the
 * gateway may learn of a change a moment after the API answered), for at
 * most 10 s. */
async function datafile(want, what) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const r = await fetch(`${cfg.base}/datafiles/${cfg.sdkKey}.json`);
    assert.equal(r.status, 200);
    const d = { etag: r.headers.get("etag"), json: await r.json() };
    if (want(d)) return d;
    if (Date.now() > deadline) assert.fail(`datafile never showed ${what}: ${JSON.stringify(d.json.experiments)}`);
    await new Promise((ok) => setTimeout(ok, 100));
  }
}

const runs = (d) => d.json.experiments.some((x) => x.key === "checkout_test" && x.status === "Running");

async function alertText(p) {
  const alert = p.getByRole("alert").first();
  await alert.waitFor();
  return (await alert.textContent()).replace(/\s+/g, " ");
}

/** sendEvents posts an Optimizely SDK event batch to /v1/events: for each
 * [variation, visitors, converting], that many visitors exposed to the
 * variation, the first `converting` of them converting once on eventKey. */
async function sendEvents(projectId, sdkKey, x, eventKey, arms) {
  const at = Date.now() - 60_000;
  const visitors = [];
  for (const [v, n, converting] of arms) {
    for (let i = 0; i < n; i++) {
      const id = `${x.key}-${v.key}-${i}`;
      const events = [{ entity_id: x.layerId, key: "campaign_activated", timestamp: at, uuid: `imp-${id}` }];
      if (i < converting) events.push({ key: eventKey, timestamp: at + 1000, uuid: `conv-${id}` });
      visitors.push({ visitor_id: id, attributes: [], snapshots: [{ decisions: [{ campaign_id: x.layerId, experiment_id: x.id, variation_id: v.id }], events }] });
    }
  }
  const batch = { account_id: cfg.accountId, project_id: projectId, revision: "1", client_name: "javascript-sdk", client_version: "6.6.1", enrich_decisions: true, visitors };
  const sent = await fetch(`${cfg.base}/v1/events?sdk_key=${sdkKey}`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(batch) });
  assert.equal(sent.status, 204, await sent.text());
}

/** tabTo presses key (Tab) until the focused element matches selector. */
async function tabTo(selector, key = "Tab", most = 8) {
  for (let i = 0; i < most; i++) {
    await page.keyboard.press(key);
    if (await page.evaluate((s) => document.activeElement?.matches(s), selector)) return;
  }
  assert.fail(`Tab never reached ${selector}`);
}

before(async () => {
  browser = await launch();
  page = await browser.context.newPage();
});

after(async () => {
  await browser?.close();
});

test("a wrong token is refused with the API's message; the right one signs in, by keyboard", async () => {
  const res = await page.goto(ui());
  assert.equal(res.status(), 200);
  assert.match(res.headers()["content-security-policy"] ?? "", /default-src 'self'/);
  await page.getByRole("heading", { name: "Sign in to Lift" }).waitFor();
  await look(page, "signin");

  const refused = await api("GET", "/v1/caller", "lift_pat_wrong");
  assert.equal(refused.status, 401);
  await tabTo("#token");
  await page.keyboard.type("lift_pat_wrong");
  await page.keyboard.press("Enter");
  assert.ok((await alertText(page)).includes(refused.json.message), "the 401 message is shown as the API wrote it");
  shots.push(await shot(page, "signin-error"));

  await page.getByLabel("API token").fill("");
  await tabTo("#token");
  await page.keyboard.type(cfg.admin);
  await page.keyboard.press("Enter");
  await page.getByRole("heading", { name: "Projects" }).waitFor();
  assert.ok(!page.url().includes(cfg.admin), "the token is never in a URL");
  assert.equal(await page.evaluate(() => sessionStorage.getItem("lift.token")), cfg.admin);
  assert.equal(await page.getByTestId("access").textContent(), "read and write");
});

test("projects and the /v2 overview show environments with SDK keys", async () => {
  const projects = await api("GET", "/v1/projects", cfg.admin);
  for (const p of projects.json.projects) await page.getByRole("link", { name: p.name, exact: true }).waitFor();
  await look(page, "projects");

  await page.getByRole("link", { name: "web", exact: true }).focus();
  await page.keyboard.press("Enter");
  const overview = await api("GET", `/v2/projects/${cfg.projectId}/overview`, cfg.admin);
  await page.getByRole("heading", { name: overview.json.project.name, level: 1 }).waitFor();
  for (const e of overview.json.environments) {
    await page.locator("code.sdk-key", { hasText: e.sdkKey }).waitFor();
    await page.getByRole("button", { name: `Copy the SDK key of ${e.name}` }).waitFor();
  }
  await page.getByText("No experiment is running.").waitFor();
  await look(page, "overview");
});

test("a flag is created from the form; the API's validation message is shown", async () => {
  // Keyboard: a page moves focus to its heading; Shift+Tab goes back through
  // the header to the navigation, and Enter follows a link.
  assert.equal(await page.evaluate(() => document.activeElement?.tagName), "H1");
  await tabTo('nav a[href$="/flags"]', "Shift+Tab");
  await page.keyboard.press("Enter");
  await page.getByText("No flags yet.").waitFor();
  await look(page, "flags-empty");

  const bad = { key: "not a key!", name: "Checkout flow", description: "" };
  const refused = await api("POST", `/v1/projects/${cfg.projectId}/flags`, cfg.admin, bad);
  assert.equal(refused.status, 400);
  await page.getByLabel("Key").fill(bad.key);
  await page.getByLabel("Name").fill(bad.name);
  await page.getByRole("button", { name: "Create flag" }).click();
  assert.ok((await alertText(page)).includes(refused.json.message), `alert shows ${refused.json.message}`);

  await page.getByLabel("Key").fill("checkout_flow");
  await page.getByRole("button", { name: "Create flag" }).click();
  await page.locator('[data-flag="checkout_flow"]').waitFor();
  const flags = await api("GET", `/v1/projects/${cfg.projectId}/flags`, cfg.admin);
  made.flag = flags.json.flags.find((f) => f.key === "checkout_flow");
  assert.ok(made.flag, "the flag exists in the API");
});

test("an experiment is created (after the API refuses bad weights), then started", async () => {
  await page.getByRole("link", { name: "Experiments" }).click();
  await page.getByText("No experiments yet.").waitFor();
  await look(page, "experiments-empty");
  await page.getByRole("link", { name: "New experiment" }).click();
  await page.getByLabel("Key", { exact: true }).fill("checkout_test");
  await page.getByLabel("Name", { exact: true }).fill("Checkout draft");
  await page.getByLabel("Flag").selectOption(made.flag.id);
  await page.getByLabel("Metrics").fill("purchase");
  await page.getByLabel("Variation 2 weight (%)").fill("40");
  await look(page, "experiment-form");
  await page.getByRole("button", { name: "Create experiment" }).click();
  const shown = await alertText(page);
  const body = {
    key: "checkout_test", name: "Checkout draft", description: "", flagId: made.flag.id, trafficAllocation: 10000, environmentKeys: ["production"],
    variations: [
      { key: "control", name: "Control", weight: 5000, baseline: true, featureEnabled: false },
      { key: "treatment", name: "Treatment", weight: 4000, baseline: false, featureEnabled: true },
    ],
    metrics: [{ eventKey: "purchase", primary: true }],
  };
  const refused = await api("POST", `/v1/projects/${cfg.projectId}/experiments`, cfg.admin, body);
  assert.equal(refused.status, 400);
  assert.ok(shown.includes(refused.json.message), `alert "${shown}" shows the API's "${refused.json.message}"`);
  shots.push(await shot(page, "experiment-form-error"));

  await page.getByLabel("Variation 2 weight (%)").fill("50");
  await page.getByRole("button", { name: "Create experiment" }).click();
  await page.getByRole("heading", { name: "Checkout draft", level: 1 }).waitFor();
  assert.equal(await page.getByTestId("status").textContent(), "draft");
  await look(page, "experiment-draft");

  // Edit: the form comes back filled in and saves with PATCH and the etag,
  // keeping what it does not show (a metric's definition set through the API).
  const draft = (await api("GET", `/v1/projects/${cfg.projectId}/experiments`, cfg.admin)).json.experiments.find((x) => x.key === "checkout_test");
  const defined = await api("PATCH", `/v1/experiments/${draft.id}?updateMask=metrics`, cfg.admin, {
    metrics: [{ eventKey: "purchase", primary: true, kind: "METRIC_KIND_UNIQUE_CONVERSIONS", direction: "METRIC_DIRECTION_INCREASE" }],
  });
  assert.equal(defined.status, 200, JSON.stringify(defined.json));
  await page.getByRole("link", { name: "Edit" }).click();
  await page.getByLabel("Name", { exact: true }).waitFor();
  assert.equal(await page.getByLabel("Key", { exact: true }).inputValue(), "checkout_test");
  assert.ok(await page.getByLabel("Key", { exact: true }).isDisabled(), "the key cannot change");
  await page.getByLabel("Name", { exact: true }).fill("Checkout test");
  await page.getByLabel("Description").fill("One-page checkout against the current three steps.");
  await look(page, "experiment-edit");
  await page.getByRole("button", { name: "Save changes" }).click();
  await page.getByRole("heading", { name: "Checkout test", level: 1 }).waitFor();
  await page.getByText("One-page checkout against the current three steps.").waitFor();
  const edited = (await api("GET", `/v1/experiments/${draft.id}`, cfg.admin)).json.experiment;
  assert.equal(edited.name, "Checkout test");
  assert.equal(edited.metrics[0].direction, "METRIC_DIRECTION_INCREASE", "the metric's definition survives the form");
  assert.deepEqual(edited.variations.map((v) => [v.key, v.id]), draft.variations.map((v) => [v.key, v.id]), "variations keep their ids");

  await page.getByRole("button", { name: "Start Checkout test" }).click();
  await page.getByTestId("status").filter({ hasText: "running" }).waitFor();
  const list = await api("GET", `/v1/projects/${cfg.projectId}/experiments`, cfg.admin);
  made.experiment = list.json.experiments.find((x) => x.key === "checkout_test");
  assert.equal(made.experiment.status, "EXPERIMENT_STATUS_RUNNING");
  assert.equal(made.experiment.flagId, made.flag.id);
  await look(page, "experiment-running");
});

test("toggling the flag's experiment off and on changes the datafile", async () => {
  const running = await datafile(runs, "the running experiment");

  await page.getByRole("link", { name: "Flags" }).click();
  const card = page.locator('[data-flag="checkout_flow"]');
  await card.getByRole("button", { name: "Pause Checkout test" }).click();
  await card.getByText("paused", { exact: true }).waitFor();
  const paused = await datafile((d) => !runs(d), "the experiment paused");
  assert.notEqual(paused.etag, running.etag, "the datafile's revision changed");
  await look(page, "flags");

  await card.getByRole("button", { name: "Resume Checkout test" }).click();
  await card.getByText("running", { exact: true }).waitFor();
  const resumed = await datafile(runs, "the experiment running again");
  assert.notEqual(resumed.etag, paused.etag);

  // The flag's own switch in production: off is the kill switch.
  const rulesetPath = `/v1/flags/${made.flag.id}/environments/production/ruleset`;
  const row = card.locator('tr[data-env="production"]');
  const toggle = row.getByRole("button", { name: /^checkout_flow in Production: / });
  assert.equal(await toggle.getAttribute("aria-pressed"), "true");
  await toggle.click();
  await card.locator('tr[data-env="production"] button[aria-pressed="false"]').waitFor();
  assert.equal((await api("GET", rulesetPath, cfg.admin)).json.ruleset.enabled ?? false, false);
  const off = await datafile((d) => d.etag !== resumed.etag, "the flag switched off");
  await look(page, "flags-off");
  await card.locator('tr[data-env="production"] button[aria-pressed="false"]').click();
  await card.locator('tr[data-env="production"] button[aria-pressed="true"]').waitFor();
  assert.equal((await api("GET", rulesetPath, cfg.admin)).json.ruleset.enabled, true);
  const on = await datafile((d) => d.etag !== off.etag, "the flag switched on again");

  // The everyone-else rollout: a quarter of the remaining users get the flag on.
  await card.getByLabel("Rollout % in Production").fill("25");
  await card.getByLabel("serves").first().selectOption("on");
  await card.getByRole("button", { name: "Save the rollout of checkout_flow in Production" }).click();
  await page.locator('[data-flag="checkout_flow"] tr[data-env="production"] input[value="25"]').waitFor();
  const rollout = (await api("GET", rulesetPath, cfg.admin)).json.ruleset.everyoneElse;
  assert.equal(rollout.percentage, 2500);
  assert.equal(rollout.variation.featureEnabled, true);
  await datafile((d) => d.etag !== on.etag, "the rollout");
  await look(page, "flags-rollout");
});

test("SDK events sent through the API show on the results page with the API's numbers", async () => {
  const x = (await api("GET", `/v1/experiments/${made.experiment.id}`, cfg.admin)).json.experiment;
  const [control, treatment] = x.variations;
  await sendEvents(cfg.projectId, cfg.sdkKey, x, "purchase", [
    [control, 200, 40],
    [treatment, 200, 62],
  ]);

  const { results } = (await api("GET", `/v1/experiments/${x.id}/results`, cfg.admin)).json;
  assert.equal(results.reach.totalCount, "400");

  // Time to first render: a fresh load of the results page until its table is there.
  const t0 = Date.now();
  await page.goto(ui(`experiments/${x.id}/results`));
  await page.locator("table.results").first().waitFor();
  const wall = Date.now() - t0;
  const sinceNavigation = await page.evaluate(() => Math.round(performance.now()));
  writeFileSync(join(cfg.shots, "results-timing.json"), JSON.stringify({ wallMs: wall, sinceNavigationStartMs: sinceNavigation }, null, 1));
  console.log(`results page: first render ${wall} ms (wall), ${sinceNavigation} ms since navigation start`);

  assert.equal(await page.getByTestId("total-visitors").textContent(), fmt.num(results.reach.totalCount));
  const metric = results.metrics.find((m) => m.eventKey === "purchase");
  for (const v of metric.results) {
    const row = page.locator(`table[data-metric="purchase"] tr[data-variation="${v.variationKey}"]`);
    const cell = async (col) => (await row.locator(`td[data-col="${col}"]`).textContent()).trim();
    assert.equal(await cell("samples"), fmt.num(v.samples), `${v.variationKey} visitors`);
    assert.equal(await cell("count"), fmt.num(v.converters), `${v.variationKey} conversions`);
    assert.equal(await cell("rate"), fmt.pct(v.rate), `${v.variationKey} rate`);
    if (!v.isBaseline) {
      const l = v.lift;
      assert.equal(await cell("lift"), `${fmt.signed(l.value)} (${fmt.signed(l.confidenceInterval.lower)} to ${fmt.signed(l.confidenceInterval.upper)})`);
      assert.equal(await page.locator('table[data-metric="purchase"] th', { hasText: "Significance" }).count(), 1);
      assert.equal(await cell("judged"), fmt.pct(l.significance));
      assert.equal(await cell("remaining"), l.visitorsRemainingKnown ? fmt.num(l.visitorsRemaining) : "unknown");
    }
  }
  await page.getByRole("img", { name: /Lift of each variation on purchase/ }).waitFor();
  // The over-time chart draws the API's daily cumulative lift and interval.
  const overTime = page.getByRole("img", { name: /Cumulative lift over time on purchase/ });
  await overTime.waitFor();
  const desc = await overTime.locator("desc").textContent();
  const chartPct = (v) => `${v > 0 ? "+" : ""}${(v * 100).toFixed(Math.abs(v) < 0.1 ? 1 : 0)}%`;
  const treated = metric.results.find((v) => !v.isBaseline);
  const last = treated.series.at(-1).lift;
  assert.ok(desc.includes(`latest ${chartPct(last.value)} (${chartPct(last.interval.lower)} to ${chartPct(last.interval.upper)})`), `chart description "${desc}" has the API's daily lift ${JSON.stringify(last)}`);
  await look(page, "results");

  // CUPED on request: these visitors did nothing before the experiment, so
  // the API does not apply it, and the page says why.
  const cuped = (await api("GET", `/v1/experiments/${x.id}/results?varianceReduction=true`, cfg.admin)).json.results;
  assert.equal(cuped.metrics.find((m) => m.eventKey === "purchase").cupedStatus, "CUPED_STATUS_NO_PRE_PERIOD_DATA");
  await page.getByLabel(/Variance reduction \(CUPED/).check();
  await page.waitForURL(/\?cuped=1$/);
  assert.match(await page.getByTestId("cuped-status").textContent(), /CUPED on purchase: not applied: no visitor has events before the experiment/);
  assert.ok(await page.getByLabel(/Variance reduction \(CUPED/).isChecked());
});

test("a Bayesian project's results show chance to beat baseline, credible intervals, expected loss, and the SRM warning", async () => {
  const created = await api("POST", "/v1/projects", cfg.admin, { name: "bayes shop", settings: { statsMethod: "STATS_METHOD_BAYESIAN" } });
  assert.equal(created.status, 201, JSON.stringify(created.json));
  const pid = created.json.project.id;
  const envs = await api("GET", `/v1/projects/${pid}/environments`, cfg.admin);
  const sdkKey = envs.json.environments.find((e) => e.key === "production").sdkKey;
  assert.equal((await api("POST", `/v1/projects/${pid}/events`, cfg.admin, { key: "signup", name: "Sign-up" })).status, 201);
  const made = await api("POST", `/v1/projects/${pid}/experiments`, cfg.admin, {
    key: "signup_cta", name: "Sign-up button", environmentKeys: ["production"],
    variations: [
      { key: "control", name: "Control", weight: 5000, baseline: true },
      { key: "bold", name: "Bold button", weight: 5000, featureEnabled: true },
    ],
    metrics: [{ eventKey: "signup", primary: true }],
  });
  assert.equal(made.status, 201, JSON.stringify(made.json));
  const x = (await api("POST", `/v1/experiments/${made.json.experiment.id}:start`, cfg.admin, {})).json.experiment;
  // 300 against 100 on a 50/50 split: a sample ratio mismatch.
  await sendEvents(pid, sdkKey, x, "signup", [
    [x.variations[0], 300, 30],
    [x.variations[1], 100, 16],
  ]);
  const { results } = (await api("GET", `/v1/experiments/${x.id}/results`, cfg.admin)).json;
  assert.equal(results.statsConfig.statsMethod, "STATS_METHOD_BAYESIAN");
  assert.ok(results.sampleRatioMismatch.mismatch, "the API sees the mismatch");

  await page.goto(ui(`experiments/${x.id}/results`));
  await page.getByTestId("srm").waitFor();
  const table = page.locator('table[data-metric="signup"]');
  await table.locator("th", { hasText: "Chance to beat baseline" }).waitFor();
  await table.locator("th", { hasText: "Lift (credible interval)" }).waitFor();
  const v = results.metrics[0].results.find((r) => !r.isBaseline);
  const row = table.locator(`tr[data-variation="${v.variationKey}"]`);
  const cell = async (col) => (await row.locator(`td[data-col="${col}"]`).textContent()).trim();
  assert.equal(await cell("samples"), fmt.num(v.samples));
  assert.equal(await cell("count"), fmt.num(v.converters));
  assert.equal(await cell("judged"), fmt.pct(v.lift.chanceToBeatBaseline));
  assert.equal(await cell("lift"), `${fmt.signed(v.lift.value)} (${fmt.signed(v.lift.credibleInterval.lower)} to ${fmt.signed(v.lift.credibleInterval.upper)})`);
  assert.equal(await cell("loss"), fmt.pct(v.lift.expectedLoss));
  await look(page, "results-bayesian-srm");
});

test("a read-only token gets no edit controls", async () => {
  const ro = await browser.context.newPage();
  await ro.goto(ui());
  await ro.getByLabel("API token").fill(cfg.read);
  await ro.getByRole("button", { name: "Sign in" }).click();
  await ro.getByRole("heading", { name: "Projects" }).waitFor();
  assert.equal(await ro.getByTestId("access").textContent(), "read only");
  const pages = [
    ["", "readonly-projects"],
    [`projects/${cfg.projectId}`, "readonly-overview"],
    [`projects/${cfg.projectId}/flags`, "readonly-flags"],
    [`projects/${cfg.projectId}/experiments`, "readonly-experiments"],
    [`experiments/${made.experiment.id}`, "readonly-experiment"],
    [`experiments/${made.experiment.id}/results`, "readonly-results"],
  ];
  for (const [path, name] of pages) {
    await ro.goto(ui(path));
    await ro.locator("main h1").waitFor();
    await ro.locator("p.loading").waitFor({ state: "detached" });
    const buttons = await ro.locator("main button").allTextContents();
    assert.deepEqual(buttons.filter((b) => b !== "Copy"), [], `${name}: buttons ${buttons}`);
    // The results page's CUPED checkbox chooses a view, not a change: it stays.
    assert.equal(await ro.locator("main form, main input:not(#cuped), main select, main textarea").count(), 0, `${name}: no form`);
    assert.equal(await ro.getByRole("link", { name: /^(New experiment|Edit)$/ }).count(), 0, `${name}: no edit links`);
    await look(ro, name);
  }
  await ro.goto(ui(`experiments/${made.experiment.id}/edit`));
  // The form page itself loads, but the API refuses a read-only token's write.
  await ro.close();
});

test("shipping the winner delivers it through the flag and concludes the experiment", async () => {
  await page.goto(ui(`experiments/${made.experiment.id}`));
  await page.getByRole("heading", { name: "Ship the winner" }).waitFor();
  await page.getByLabel("Variation", { exact: true }).selectOption("treatment");
  await page.getByLabel("Environment", { exact: true }).selectOption("production");
  await look(page, "experiment-ship");
  await page.getByRole("button", { name: "Ship and conclude" }).click();
  await page.getByTestId("status").filter({ hasText: "concluded" }).waitFor();
  const rs = (await api("GET", `/v1/flags/${made.flag.id}/environments/production/ruleset`, cfg.admin)).json.ruleset;
  const served = [...(rs.deliveries ?? []).map((d) => d.variation), rs.everyoneElse?.variation].filter(Boolean);
  assert.ok(served.some((v) => v.key === "treatment" && v.featureEnabled), `ruleset delivers the winner: ${JSON.stringify(rs)}`);
  await datafile((d) => !runs(d) && JSON.stringify(d.json.rollouts ?? []).includes('"treatment"'), "the shipped winner in the flag's rollout");
});

test("an API error is shown to the user as the API wrote it", async () => {
  const missing = await api("GET", "/v1/experiments/999999999", cfg.admin);
  assert.equal(missing.status, 404);
  await page.goto(ui("experiments/999999999/results"));
  assert.ok((await alertText(page)).includes(missing.json.message), `shows ${missing.json.message}`);
  await look(page, "error");
  assert.deepEqual(browser.problems, [], "no request left the gateway and nothing was logged as an error");
  console.log(`screenshots:\n${shots.join("\n")}`);
});
