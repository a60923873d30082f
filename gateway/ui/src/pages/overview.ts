import { enc, get, post } from "../api";
import { h, id, replace } from "../dom";
import type { Ctx } from "../main";
import type { Environment, Project } from "../types";
import { copyButton, empty, errorBox, heading, link, loading, num, signedPct } from "../ui";

interface Summary {
  experimentId: string;
  key: string;
  name: string;
  startTime?: string;
  result?: { visitors?: string; text?: string; lift?: number; significance?: number; sampleRatioMismatch?: boolean };
}

interface Overview {
  project: Project;
  environments?: Environment[];
  runningExperiments?: Summary[];
  warnings?: { message?: string; resourceId?: string }[];
}

/** overviewPage is the project at a glance, from GET /v2/projects/{id}/overview. */
export async function overviewPage(ctx: Ctx): Promise<void> {
  const pid = ctx.params.projectId;
  replace(ctx.main, heading("Project"), loading("the project overview"));
  const o = await get<Overview>(`/v2/projects/${enc(pid)}/overview`);
  const settings = o.project.settings ?? {};
  replace(
    ctx.main,
    heading(o.project.name),
    o.project.description && h("p", null, o.project.description),
    h(
      "p",
      { class: "meta" },
      `Statistics: ${(settings.statsMethod ?? "STATS_METHOD_SEQUENTIAL").replace("STATS_METHOD_", "").toLowerCase()}`,
      settings.confidenceLevel ? `, confidence level ${settings.confidenceLevel}` : "",
    ),
    (o.warnings ?? []).map((w) => h("p", { class: "warning", role: "note" }, `Partial answer: ${w.message ?? ""}`)),
    h("h2", null, "Environments"),
    environments(ctx, pid, o.environments ?? []),
    h("h2", null, "Running experiments"),
    running(o.runningExperiments ?? []),
  );
}

function environments(ctx: Ctx, pid: string, envs: Environment[]): HTMLElement {
  const table = h(
    "table",
    null,
    h("caption", { class: "visually-hidden" }, "Environments and their SDK keys"),
    h("thead", null, h("tr", null, h("th", { scope: "col" }, "Environment"), h("th", { scope: "col" }, "Key"), h("th", { scope: "col" }, "SDK key"), h("th", { scope: "col" }, "Datafile"))),
    h(
      "tbody",
      null,
      envs.map((e) =>
        h(
          "tr",
          null,
          h("th", { scope: "row" }, e.name),
          h("td", null, h("code", null, e.key)),
          h("td", null, h("code", { class: "sdk-key" }, e.sdkKey), " ", copyButton(e.sdkKey, `Copy the SDK key of ${e.name}`)),
          h("td", null, h("a", { href: `/datafiles/${enc(e.sdkKey)}.json` }, "datafile")),
        ),
      ),
    ),
  );
  const wrap = h("div", null, envs.length ? table : empty("No environments."));
  if (ctx.session.canWrite) wrap.append(newEnvironment(ctx, pid));
  return wrap;
}

function newEnvironment(ctx: Ctx, pid: string): HTMLElement {
  const keyId = id("env-key");
  const nameId = id("env-name");
  const key = h("input", { id: keyId, name: "key", required: true, pattern: "[a-z0-9_-]+" });
  const name = h("input", { id: nameId, name: "name", required: true });
  const out = h("div");
  return h(
    "form",
    {
      class: "card inline",
      onsubmit: async (ev: Event) => {
        ev.preventDefault();
        replace(out);
        try {
          await post(`/v1/projects/${enc(pid)}/environments`, { key: key.value, name: name.value });
          ctx.navigate(`projects/${pid}`);
        } catch (e) {
          replace(out, errorBox(e));
        }
      },
    },
    h("h3", null, "New environment"),
    h("label", { for: keyId }, "Key"),
    key,
    h("label", { for: nameId }, "Name"),
    name,
    h("button", { type: "submit" }, "Create environment"),
    out,
  );
}

function running(list: Summary[]): HTMLElement {
  if (list.length === 0) return empty("No experiment is running.");
  return h(
    "ul",
    { class: "cards" },
    list.map((x) =>
      h(
        "li",
        { class: "card" },
        h("h3", null, link(`experiments/${x.experimentId}/results`, x.name)),
        h("p", { class: "meta" }, `${num(x.result?.visitors)} visitors`, x.result?.lift !== undefined ? ` · lift ${signedPct(x.result.lift)}` : ""),
        x.result?.text && h("p", null, x.result.text),
        x.result?.sampleRatioMismatch && h("p", { class: "warning" }, "Sample ratio mismatch"),
      ),
    ),
  );
}
