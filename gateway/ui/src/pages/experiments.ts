import { enc, get } from "../api";
import { h, replace } from "../dom";
import type { Ctx } from "../main";
import type { Experiment } from "../types";
import { empty, heading, link, loading, statusLabel } from "../ui";

/** experimentsPage lists the project's experiments with their status. */
export async function experimentsPage(ctx: Ctx): Promise<void> {
  const pid = ctx.params.projectId;
  const newLink = ctx.session.canWrite && link(`projects/${pid}/experiments/new`, "New experiment", { class: "button" });
  replace(ctx.main, heading("Experiments", newLink), loading("experiments"));
  const { experiments = [] } = await get<{ experiments?: Experiment[] }>(`/v1/projects/${enc(pid)}/experiments?pageSize=1000`);
  const body =
    experiments.length === 0
      ? empty("No experiments yet.")
      : h(
          "table",
          null,
          h("caption", { class: "visually-hidden" }, "Experiments"),
          h("thead", null, h("tr", null, ["Experiment", "Key", "Status", "Environments", "Results"].map((c) => h("th", { scope: "col" }, c)))),
          h(
            "tbody",
            null,
            experiments.map((x) =>
              h(
                "tr",
                null,
                h("th", { scope: "row" }, link(`experiments/${x.id}`, x.name || x.key)),
                h("td", null, h("code", null, x.key)),
                h("td", null, h("span", { class: `status status-${statusLabel(x.status)}` }, statusLabel(x.status))),
                h("td", null, (x.environmentKeys ?? []).join(", ")),
                h("td", null, link(`experiments/${x.id}/results`, "Results", { "aria-label": `Results of ${x.name || x.key}` })),
              ),
            ),
          ),
        );
  replace(ctx.main, heading("Experiments", newLink), body);
}
