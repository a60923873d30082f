import { get, post } from "../api";
import { h, id, replace } from "../dom";
import type { Ctx } from "../main";
import type { Project } from "../types";
import { empty, errorBox, heading, link, loading } from "../ui";

/** projectsPage lists the account's projects and, for writers, creates one. */
export async function projectsPage(ctx: Ctx): Promise<void> {
  ctx.setProject(null);
  replace(ctx.main, heading("Projects"), loading("projects"));
  const { projects = [] } = await get<{ projects?: Project[] }>("/v1/projects?pageSize=1000");
  const list =
    projects.length === 0
      ? empty("No projects yet.")
      : h(
          "ul",
          { class: "cards" },
          projects.map((p) =>
            h("li", { class: "card" }, h("h2", null, link(`projects/${p.id}`, p.name)), p.description && h("p", null, p.description)),
          ),
        );
  replace(ctx.main, heading("Projects"), list, ctx.session.canWrite && createForm(ctx));
}

function createForm(ctx: Ctx): HTMLElement {
  const nameId = id("project-name");
  const out = h("div");
  const input = h("input", { id: nameId, name: "name", required: true });
  return h(
    "form",
    {
      class: "card inline",
      onsubmit: async (ev: Event) => {
        ev.preventDefault();
        replace(out);
        try {
          const { project } = await post<{ project: Project }>("/v1/projects", { name: input.value });
          ctx.navigate(`projects/${project.id}`);
        } catch (e) {
          replace(out, errorBox(e));
        }
      },
    },
    h("h2", null, "New project"),
    h("label", { for: nameId }, "Name"),
    input,
    h("button", { type: "submit" }, "Create project"),
    out,
  );
}
