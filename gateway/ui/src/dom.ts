// A tiny element builder: the console renders plain DOM nodes, so it needs
// no framework runtime (see README.md for why).

type Child = Node | string | number | null | undefined | false | Child[];
type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;

function append(parent: Node, c: Child): void {
  if (c === null || c === undefined || c === false) return;
  if (Array.isArray(c)) {
    for (const x of c) append(parent, x);
  } else if (c instanceof Node) {
    parent.appendChild(c);
  } else {
    parent.appendChild(document.createTextNode(String(c)));
  }
}

function setAttrs(el: Element, attrs: Attrs | null): void {
  if (!attrs) return;
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") {
      el.addEventListener(k.slice(2), v);
    } else if (v === true) {
      el.setAttribute(k, "");
    } else {
      el.setAttribute(k, String(v));
    }
  }
}

/** h builds an HTML element: h("a", {href: "/x"}, "text"). */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs?: Attrs | null, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  setAttrs(el, attrs ?? null);
  append(el, children);
  return el;
}

const svgNS = "http://www.w3.org/2000/svg";

/** s builds an SVG element. */
export function s(tag: string, attrs?: Attrs | null, ...children: Child[]): SVGElement {
  const el = document.createElementNS(svgNS, tag) as SVGElement;
  setAttrs(el, attrs ?? null);
  append(el, children);
  return el;
}

/** replace puts children in place of what parent holds. */
export function replace(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, children);
}

let uid = 0;
/** id returns a page-unique element id for label/aria links. */
export function id(prefix: string): string {
  uid += 1;
  return `${prefix}-${uid}`;
}
