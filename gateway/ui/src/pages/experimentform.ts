import { ApiError, enc, get, patch, post } from "../api";
import { h, id, replace } from "../dom";
import type { Ctx } from "../main";
import type { Environment, EventType, Experiment, Flag, Metric, Variation } from "../types";
import { errorBox, heading, loading } from "../ui";

const editable = ["name", "description", "flag_id", "traffic_allocation", "variations", "metrics", "environment_keys"];

/** experimentFormPage creates an experiment (projects/{id}/experiments/new)
 * or edits one (experiments/{id}/edit). The API validates: its messages are
 * shown as they are, with the fields they name. */
export async function experimentFormPage(ctx: Ctx): Promise<void> {
  const editing = ctx.params.experimentId;
  replace(ctx.main, heading(editing ? "Edit experiment" : "New experiment"), loading("the form"));
  let x: (Experiment & { projectId: string }) | null = null;
  if (editing) x = (await get<{ experiment: Experiment & { projectId: string } }>(`/v1/experiments/${enc(editing)}`)).experiment;
  const pid = x?.projectId ?? ctx.params.projectId;
  ctx.setProject(pid);
  const [{ flags = [] }, { environments = [] }, { events = [] }] = await Promise.all([
    get<{ flags?: Flag[] }>(`/v1/projects/${enc(pid)}/flags?pageSize=1000`),
    get<{ environments?: Environment[] }>(`/v1/projects/${enc(pid)}/environments`),
    get<{ events?: EventType[] }>(`/v1/projects/${enc(pid)}/events?pageSize=1000`),
  ]);

  const f = (label: string, input: HTMLElement, help?: string) => {
    const iid = input.id || id("f");
    input.id = iid;
    const hid = help ? id("help") : undefined;
    if (hid) input.setAttribute("aria-describedby", hid);
    return h("div", { class: "field" }, h("label", { for: iid }, label), input, help && h("p", { class: "help", id: hid }, help));
  };
  const key = h("input", { name: "key", value: x?.key ?? "", disabled: !!x });
  const name = h("input", { name: "name", value: x?.name ?? "" });
  const desc = h("textarea", { name: "description", rows: 2 });
  desc.value = x?.description ?? "";
  const flag = h(
    "select",
    { name: "flag" },
    h("option", { value: "" }, "(no flag)"),
    flags.map((fl) => h("option", { value: fl.id, selected: fl.id === x?.flagId }, `${fl.name || fl.key} (${fl.key})`)),
  );
  const traffic = h("input", { name: "trafficAllocation", type: "number", min: 0, max: 100, step: "0.01", value: ((x?.trafficAllocation ?? 10000) / 100).toString() });
  const envBoxes = environments.map((e) => {
    const cid = id("env");
    const box = h("input", { type: "checkbox", id: cid, value: e.key, checked: x ? (x.environmentKeys ?? []).includes(e.key) : e.key === "production" });
    return { box, el: h("span", { class: "check" }, box, h("label", { for: cid }, e.name)) };
  });

  const variationRows = h("tbody");
  const addVariation = (v: Partial<Variation>) => {
    const n = variationRows.children.length + 1;
    const row = h(
      "tr",
      null,
      h("td", null, h("input", { "aria-label": `Variation ${n} key`, name: "vkey", value: v.key ?? "" })),
      h("td", null, h("input", { "aria-label": `Variation ${n} name`, name: "vname", value: v.name ?? "" })),
      h("td", null, h("input", { "aria-label": `Variation ${n} weight (%)`, name: "vweight", type: "number", min: 0, max: 100, step: "0.01", value: ((v.weight ?? 0) / 100).toString() })),
      h("td", null, h("input", { "aria-label": `Variation ${n} is the baseline`, type: "radio", name: "baseline", checked: !!v.baseline })),
      h("td", null, h("input", { "aria-label": `Variation ${n} turns the feature on`, type: "checkbox", name: "venabled", checked: v.featureEnabled ?? true })),
      h("td", null, h("button", { type: "button", class: "secondary small", "aria-label": `Remove variation ${n}`, onclick: () => row.remove() }, "Remove")),
    );
    variationRows.append(row);
  };
  for (const v of x?.variations ?? [
    { key: "control", name: "Control", weight: 5000, baseline: true, featureEnabled: false },
    { key: "treatment", name: "Treatment", weight: 5000, featureEnabled: true },
  ])
    addVariation(v);

  const metricsInput = h("input", { name: "metrics", value: (x?.metrics ?? []).map((m) => m.eventKey).join(", "), list: "event-keys" });
  const out = h("div", { "aria-live": "polite" });

  const body = (): Experiment => ({
    id: x?.id ?? "",
    key: key.value.trim(),
    name: name.value,
    description: desc.value,
    flagId: flag.value,
    trafficAllocation: Math.round(Number(traffic.value) * 100),
    environmentKeys: envBoxes.filter((b) => b.box.checked).map((b) => b.box.value),
    variations: [...variationRows.children].map((tr) => {
      const q = (n: string) => tr.querySelector<HTMLInputElement>(`input[name="${n}"]`)!;
      // A variation keeps what the form does not show (its id, its flag
      // variable overrides) while it keeps its key.
      const prev = x?.variations?.find((v) => v.key === q("vkey").value.trim());
      return {
        ...prev,
        key: q("vkey").value.trim(),
        name: q("vname").value,
        weight: Math.round(Number(q("vweight").value) * 100),
        baseline: q("baseline").checked,
        featureEnabled: q("venabled").checked,
      };
    }),
    metrics: metricsInput.value
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean)
      .map((eventKey, i) => keepDefinition(x?.metrics ?? [], eventKey, i === 0)),
  });

  const form = h(
    "form",
    {
      class: "card",
      novalidate: true,
      onsubmit: async (ev: Event) => {
        ev.preventDefault();
        replace(out, h("p", { role: "status" }, "Saving…"));
        const b = body();
        try {
          // A metric names a conversion event; create the ones the project lacks.
          for (const m of b.metrics ?? []) {
            if (!events.some((e) => e.key === m.eventKey) && /^[A-Za-z0-9_.:-]{1,128}$/.test(m.eventKey)) {
              const { event } = await post<{ event: EventType }>(`/v1/projects/${enc(pid)}/events`, { key: m.eventKey, name: m.eventKey });
              events.push(event);
            }
          }
          if (x) {
            const { id: _id, key: _key, ...fields } = b;
            await patch(`/v1/experiments/${enc(x.id)}?updateMask=${editable.join(",")}`, { ...fields, etag: x.etag });
            ctx.navigate(`experiments/${x.id}`);
          } else {
            const { id: _id, ...fields } = b;
            const { experiment } = await post<{ experiment: Experiment }>(`/v1/projects/${enc(pid)}/experiments`, fields);
            ctx.navigate(`experiments/${experiment.id}`);
          }
        } catch (e) {
          replace(out, errorBox(e));
          if (e instanceof ApiError) out.focus();
        }
      },
    },
    f("Key", key, "Letters, digits, _ and -; it cannot change later."),
    f("Name", name),
    f("Description", desc),
    f("Flag", flag, "The flag this experiment decides, if any."),
    f("Traffic allocation (%)", traffic),
    h("fieldset", null, h("legend", null, "Environments"), envBoxes.map((b) => b.el)),
    h(
      "fieldset",
      null,
      h("legend", null, "Variations (weights in % must add up to 100)"),
      h("table", { class: "compact" }, h("thead", null, h("tr", null, ["Key", "Name", "Weight %", "Baseline", "Feature on", ""].map((c) => h("th", { scope: "col" }, c)))), variationRows),
      h("button", { type: "button", class: "secondary small", onclick: () => addVariation({ weight: 0 }) }, "Add variation"),
    ),
    f("Metrics", metricsInput, "Event keys, separated by commas; the first is the primary metric. Missing events are created."),
    h("datalist", { id: "event-keys" }, events.map((e) => h("option", { value: e.key }))),
    h("button", { type: "submit" }, x ? "Save changes" : "Create experiment"),
    out,
  );
  out.setAttribute("tabindex", "-1");
  replace(ctx.main, heading(x ? `Edit ${x.name || x.key}` : "New experiment"), form);
}

/** keepDefinition is the metric on eventKey: an existing metric keeps what
 * the form does not show (kind, direction, capping, role set through the
 * API), except a role that would contradict its new primary flag. */
function keepDefinition(before: Metric[], eventKey: string, primary: boolean): Metric {
  const prev = before.find((m) => m.eventKey === eventKey);
  const m: Metric = { ...prev, eventKey, primary };
  if (m.role && m.role !== "METRIC_ROLE_UNSPECIFIED" && (m.role === "METRIC_ROLE_PRIMARY") !== primary) delete m.role;
  return m;
}
