// Hash routing: "#/competitions/<id>?sort=top" picks a page; the page renders
// into a fresh view inside <main>. After rendering, focus moves to the page's
// heading, so keyboard and screen-reader users start at the new content.

import { describe } from "./api.js";
import { h } from "./dom.js";

const routes = [];
let outlet = null;
let generation = 0;
let leaving = [];

/** Register a page: `pattern` like "/competitions/:id", `render(ctx)` fills ctx.view. */
export function route(pattern, render) {
  const names = [];
  const source = pattern.replace(/:(\w+)/g, (_, name) => {
    names.push(name);
    return "([^/]+)";
  });
  routes.push({ regex: new RegExp(`^${source}$`), names, render });
}

export function go(path) {
  if (location.hash === `#${path}`) refresh();
  else location.hash = `#${path}`;
}

/** Run `cleanup` when the current page is left (timers, listeners). */
export function onLeave(cleanup) {
  leaving.push(cleanup);
}

export function start(element) {
  outlet = element;
  window.addEventListener("hashchange", () => refresh());
  refresh();
}

/** Render the page the address names (again). */
export async function refresh({ focus = true } = {}) {
  const hash = location.hash || "#/";
  if (!hash.startsWith("#/")) return; // an in-page anchor, not a route
  const [path, query] = splitOnce(hash.slice(1), "?");
  leaving.forEach((cleanup) => cleanup());
  leaving = [];
  generation += 1;
  const mine = generation;
  const view = h("div", { class: "view" });
  outlet.replaceChildren(view);
  const ctx = { view, query: new URLSearchParams(query), isCurrent: () => mine === generation };
  try {
    await match(path, ctx);
  } catch (error) {
    view.replaceChildren(
      h("h1", { tabindex: "-1" }, "Something went wrong"),
      h("p", { class: "alert", role: "alert" }, describe(error)),
    );
  }
  if (mine === generation) settle(view, focus);
}

async function match(path, ctx) {
  for (const { regex, names, render } of routes) {
    const found = regex.exec(path);
    if (!found) continue;
    ctx.params = Object.fromEntries(names.map((name, i) => [name, decodeURIComponent(found[i + 1])]));
    return render(ctx);
  }
  ctx.view.append(
    h("h1", { tabindex: "-1" }, "Page not found"),
    h("p", {}, "Nothing lives at this address. ", h("a", { href: "#/competitions" }, "See the competitions"), "."),
  );
}

function settle(view, focus) {
  const heading = view.querySelector("h1");
  document.title = heading ? `${heading.textContent} · litcomp` : "litcomp";
  if (focus && heading) {
    heading.setAttribute("tabindex", "-1");
    heading.focus();
  }
}

function splitOnce(text, separator) {
  const at = text.indexOf(separator);
  return at < 0 ? [text, ""] : [text.slice(0, at), text.slice(at + 1)];
}
