import { enc, get } from "../api";
import { h, replace } from "../dom";
import type { Ctx } from "../main";
import type { Experiment } from "../types";
import { heading, link, loading, pct, statusLabel } from "../ui";
import { lifecycleButtons } from "./lifecycle";
import { shipForm } from "./ship";

/** experimentPage shows one experiment's setup and its status changes. */
export async function experimentPage(ctx: Ctx): Promise<void> {
  const xid = ctx.params.experimentId;
  replace(ctx.main, heading("Experiment"), loading("the experiment"));
  const { experiment: x } = await get<{ experiment: Experiment & { projectId: string } }>(`/v1/experiments/${enc(xid)}`);
  ctx.setProject(x.projectId);
  const canEdit = ctx.session.canWrite && x.status !== "EXPERIMENT_STATUS_ARCHIVED";
  replace(
    ctx.main,
    heading(
      x.name || x.key,
      link(`experiments/${x.id}/results`, "Results", { class: "button secondary" }),
      canEdit && link(`experiments/${x.id}/edit`, "Edit", { class: "button secondary" }),
    ),
    h(
      "p",
      { class: "meta" },
      h("span", { class: `status status-${statusLabel(x.status)}`, "data-testid": "status" }, statusLabel(x.status)),
      " · key ",
      h("code", null, x.key),
      x.environmentKeys?.length ? ` · environments: ${x.environmentKeys.join(", ")}` : "",
      x.trafficAllocation !== undefined ? ` · traffic ${pct((x.trafficAllocation ?? 0) / 10000, 0)}` : "",
    ),
    x.description && h("p", null, x.description),
    ctx.session.canWrite && h("div", { class: "toolbar" }, lifecycleButtons(x, () => ctx.navigate(`experiments/${x.id}`))),
    ctx.session.canWrite && shipForm(x, () => ctx.navigate(`experiments/${x.id}`)),
    h("h2", null, "Variations"),
    h(
      "table",
      null,
      h("thead", null, h("tr", null, ["Variation", "Key", "Weight", "Baseline", "Feature on"].map((c) => h("th", { scope: "col" }, c)))),
      h(
        "tbody",
        null,
        (x.variations ?? []).map((v) =>
          h(
            "tr",
            null,
            h("th", { scope: "row" }, v.name),
            h("td", null, h("code", null, v.key)),
            h("td", null, pct((v.weight ?? 0) / 10000, 0)),
            h("td", null, v.baseline ? "yes" : "no"),
            h("td", null, v.featureEnabled ? "yes" : "no"),
          ),
        ),
      ),
    ),
    h("h2", null, "Metrics"),
    h(
      "ul",
      null,
      (x.metrics ?? []).map((m) => {
        // The definition, as the API names it: kind, direction, role.
        const more = [m.kind, m.direction, m.role && m.role !== "METRIC_ROLE_PRIMARY" ? m.role : undefined]
          .filter((v): v is string => !!v && !v.endsWith("_UNSPECIFIED"))
          .map((v) => v.replace(/^METRIC_(KIND|DIRECTION|ROLE)_/, "").toLowerCase().replace(/_/g, " "));
        return h("li", null, h("code", null, m.eventKey), m.primary ? " (primary)" : "", more.length ? ` · ${more.join(" · ")}` : "");
      }),
    ),
  );
}
