import { enc, get, post } from "../api";
import { h, id, replace } from "../dom";
import type { Ctx } from "../main";
import type { Environment, Experiment, Flag } from "../types";
import { empty, errorBox, heading, link, loading, statusLabel } from "../ui";
import { lifecycleButtons } from "./lifecycle";
import { rulesets } from "./rulesets";

/** flagsPage lists the project's flags with, per environment, the on/off
 * toggle, deliveries and rollout, and the experiments deciding each (with
 * start and pause); writers create flags. */
export async function flagsPage(ctx: Ctx): Promise<void> {
  const pid = ctx.params.projectId;
  replace(ctx.main, heading("Flags"), loading("flags"));
  const [{ flags = [] }, { experiments = [] }, { environments = [] }] = await Promise.all([
    get<{ flags?: Flag[] }>(`/v1/projects/${enc(pid)}/flags?pageSize=1000`),
    get<{ experiments?: Experiment[] }>(`/v1/projects/${enc(pid)}/experiments?pageSize=1000`),
    get<{ environments?: Environment[] }>(`/v1/projects/${enc(pid)}/environments`),
  ]);
  const reload = () => ctx.navigate(`projects/${pid}/flags`);
  const tables = await Promise.all(flags.map((f) => rulesets(f, environments, ctx.session.canWrite, reload)));
  const list =
    flags.length === 0
      ? empty("No flags yet.")
      : h(
          "ul",
          { class: "cards wide" },
          flags.map((f, i) => {
            const exps = experiments.filter((x) => x.flagId === f.id);
            return h(
              "li",
              { class: "card", "data-flag": f.key },
              h("h2", null, f.name || f.key, " ", h("code", null, f.key)),
              f.description && h("p", null, f.description),
              (f.variables ?? []).length > 0 &&
                h(
                  "dl",
                  { class: "vars" },
                  (f.variables ?? []).map((v) => [h("dt", null, v.key), h("dd", null, `${(v.type ?? "").replace("VARIABLE_TYPE_", "").toLowerCase()} = ${v.defaultValue ?? ""}`)]),
                ),
              tables[i],
              h("h3", null, "Experiments deciding this flag"),
              exps.length === 0
                ? h("p", { class: "meta" }, "None: the flag is off for every user.")
                : h(
                    "ul",
                    { class: "plain" },
                    exps.map((x) =>
                      h(
                        "li",
                        null,
                        link(`experiments/${x.id}`, x.name),
                        " ",
                        h("span", { class: `status status-${statusLabel(x.status)}` }, statusLabel(x.status)),
                        " ",
                        ctx.session.canWrite && lifecycleButtons(x, reload, true),
                      ),
                    ),
                  ),
            );
          }),
        );
  replace(ctx.main, heading("Flags"), list, ctx.session.canWrite && createFlag(ctx, pid));
}

function createFlag(ctx: Ctx, pid: string): HTMLElement {
  const keyId = id("flag-key");
  const nameId = id("flag-name");
  const descId = id("flag-desc");
  const key = h("input", { id: keyId, name: "key" });
  const name = h("input", { id: nameId, name: "name" });
  const desc = h("textarea", { id: descId, name: "description", rows: 2 });
  const out = h("div");
  return h(
    "form",
    {
      class: "card",
      "aria-labelledby": "new-flag",
      onsubmit: async (ev: Event) => {
        ev.preventDefault();
        replace(out);
        try {
          await post(`/v1/projects/${enc(pid)}/flags`, { key: key.value, name: name.value, description: desc.value });
          ctx.navigate(`projects/${pid}/flags`);
        } catch (e) {
          replace(out, errorBox(e));
        }
      },
    },
    h("h2", { id: "new-flag" }, "New flag"),
    h("label", { for: keyId }, "Key"),
    key,
    h("label", { for: nameId }, "Name"),
    name,
    h("label", { for: descId }, "Description"),
    desc,
    h("button", { type: "submit" }, "Create flag"),
    out,
  );
}
