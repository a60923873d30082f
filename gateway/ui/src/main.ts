// The console's entry: sign-in gate, layout, and a small router over the
// History API (every route is a path under /ui/, which the gateway answers
// with index.html).
import "./style.css";
import { ApiError, setToken, token } from "./api";
import { h, replace } from "./dom";
import { loadSession, type Session } from "./session";
import { base, errorBox, link, loading } from "./ui";
import { signIn } from "./pages/signin";
import { projectsPage } from "./pages/projects";
import { overviewPage } from "./pages/overview";
import { flagsPage } from "./pages/flags";
import { experimentsPage } from "./pages/experiments";
import { experimentPage } from "./pages/experiment";
import { experimentFormPage } from "./pages/experimentform";
import { resultsPage } from "./pages/results";

/** Ctx is what a page gets: where to render, the route's parameters, the session. */
export interface Ctx {
  main: HTMLElement;
  params: Record<string, string>;
  session: Session;
  navigate: (path: string) => void;
  /** setProject shows the project's section links in the navigation. */
  setProject: (id: string | null) => void;
}

type Page = (ctx: Ctx) => Promise<void>;

const routes: [RegExp, string[], Page][] = [
  [/^$/, [], projectsPage],
  [/^projects\/([^/]+)$/, ["projectId"], overviewPage],
  [/^projects\/([^/]+)\/flags$/, ["projectId"], flagsPage],
  [/^projects\/([^/]+)\/experiments$/, ["projectId"], experimentsPage],
  [/^projects\/([^/]+)\/experiments\/new$/, ["projectId"], experimentFormPage],
  [/^experiments\/([^/]+)$/, ["experimentId"], experimentPage],
  [/^experiments\/([^/]+)\/edit$/, ["experimentId"], experimentFormPage],
  [/^experiments\/([^/]+)\/results$/, ["experimentId"], resultsPage],
];

const app = document.getElementById("app")!;
let session: Session | null = null;
let currentProject: string | null = null;

function navigate(path: string): void {
  history.pushState(null, "", base + path.replace(/^\//, ""));
  void render();
}

function nav(): HTMLElement {
  const items = [link("", "Projects")];
  if (currentProject) {
    items.push(
      link(`projects/${currentProject}`, "Overview"),
      link(`projects/${currentProject}/flags`, "Flags"),
      link(`projects/${currentProject}/experiments`, "Experiments"),
    );
  }
  const here = location.pathname;
  for (const a of items) {
    if (a.getAttribute("href") === here) a.setAttribute("aria-current", "page");
  }
  return h("nav", { "aria-label": "Main" }, h("ul", null, items.map((a) => h("li", null, a))));
}

function layout(main: HTMLElement): HTMLElement[] {
  const who = session!.canWrite ? "read and write" : "read only";
  return [
    h(
      "header",
      { class: "top" },
      h("span", { class: "brand" }, "Lift"),
      nav(),
      h(
        "div",
        { class: "who" },
        h("span", { class: "badge", "data-testid": "access" }, who),
        h("button", { type: "button", class: "secondary small", onclick: signOut }, "Sign out"),
      ),
    ),
    main,
  ];
}

function signOut(): void {
  setToken(null);
  session = null;
  navigate("");
}

let renderSeq = 0;

async function render(): Promise<void> {
  const seq = ++renderSeq;
  if (!token()) {
    replace(app, signIn(async () => {
      session = null;
      await render();
    }));
    return;
  }
  if (!session) {
    replace(app, loading("your session"));
    try {
      session = await loadSession();
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) setToken(null);
      replace(app, signIn(async () => {
        session = null;
        await render();
      }, e));
      return;
    }
  }
  const path = decodeURI(location.pathname).replace(/^\/ui\/?/, "").replace(/\/$/, "");
  const main = h("main", { id: "main", tabindex: "-1" });
  const setProject = (id: string | null) => {
    if (id === currentProject) return;
    currentProject = id;
    app.querySelector("nav")?.replaceWith(nav());
  };
  for (const [re, names, page] of routes) {
    const m = re.exec(path);
    if (!m) continue;
    const params: Record<string, string> = {};
    names.forEach((n, i) => (params[n] = m[i + 1]));
    if (params.projectId) currentProject = params.projectId;
    replace(app, layout(main));
    try {
      await page({ main, params, session: session!, navigate, setProject });
    } catch (e) {
      if (seq === renderSeq) replace(main, errorBox(e));
    }
    if (seq === renderSeq) main.querySelector<HTMLElement>("h1")?.focus({ preventScroll: true });
    return;
  }
  replace(app, layout(main));
  replace(main, h("h1", { tabindex: "-1" }, "Page not found"), h("p", null, link("", "Back to projects")));
}

// In-app links route without a reload; modified clicks open as usual.
document.addEventListener("click", (ev) => {
  const a = (ev.target as Element | null)?.closest?.("a[data-route]");
  if (!a || ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
  ev.preventDefault();
  navigate(a.getAttribute("href")!.slice(base.length));
});
window.addEventListener("popstate", () => void render());
void render();
