// Real addresses through the History API: "/competitions/<id>?sort=top" picks a
// page; the page renders into a fresh view inside <main>. Clicks on links to the
// app's own pages are caught and pushed onto the history, so back and forward work
// without reloading; the gateway answers the same page for the same address when it
// is opened directly, shared or reloaded. After rendering, focus moves to the page's
// heading, so keyboard and screen-reader users start at the new content, unless they
// have moved it themselves while the page loaded (typing in the search box, say).

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

/** Show the page at `path` ("/competitions/<id>?sort=top"), as a new history entry. */
export function go(path, { replace = false } = {}) {
  if (path !== here()) history[replace ? "replaceState" : "pushState"](null, "", path);
  refresh();
}

/** The address shown now: path and query. */
export function here() {
  return location.pathname + location.search;
}

/** Run `cleanup` when the current page is left (timers, listeners). */
export function onLeave(cleanup) {
  leaving.push(cleanup);
}

export function start(element) {
  outlet = element;
  // Addresses shared before real URLs ("/#/competitions/<id>") still lead there.
  if (location.hash.startsWith("#/")) history.replaceState(null, "", location.hash.slice(1));
  window.addEventListener("popstate", () => refresh());
  document.addEventListener("click", follow);
  refresh();
}

/** A click on a link to one of the app's pages: shown here, not loaded again. */
function follow(event) {
  if (event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return; // a new tab or window
  const link = event.target.closest?.("a[href]");
  if (!link || link.target || link.hasAttribute("download")) return;
  const url = new URL(link.href, location.href);
  if (url.origin !== location.origin || !isPage(url.pathname)) return;
  if (url.pathname === location.pathname && url.search === location.search && url.hash) return; // an anchor
  event.preventDefault();
  go(url.pathname + url.search);
}

function isPage(path) {
  return routes.some(({ regex }) => regex.test(path));
}

/** Render the page the address names (again). */
export async function refresh({ focus = true } = {}) {
  const path = location.pathname;
  leaving.forEach((cleanup) => cleanup());
  leaving = [];
  generation += 1;
  const mine = generation;
  const focused = document.activeElement;
  const view = h("div", { class: "view" });
  outlet.replaceChildren(view);
  const ctx = { view, query: new URLSearchParams(location.search), isCurrent: () => mine === generation };
  try {
    await match(path, ctx);
  } catch (error) {
    if (mine === generation) view.replaceChildren(...failure(error));
  }
  if (mine === generation) settle(view, focus && !movedSince(focused, view));
  window.dispatchEvent(new Event("routechange"));
}

async function match(path, ctx) {
  for (const { regex, names, render } of routes) {
    const found = regex.exec(path);
    if (!found) continue;
    ctx.params = Object.fromEntries(names.map((name, i) => [name, decodeURIComponent(found[i + 1])]));
    return render(ctx);
  }
  ctx.view.append(...notFound());
}

function notFound() {
  return [
    h("h1", { tabindex: "-1" }, "Not found"),
    h("p", {}, "Nothing lives at this address: it may have been mistyped, or what it named was removed. ",
      h("a", { href: "/" }, "Go to the home page"), " or ", h("a", { href: "/competitions" }, "see the competitions"), "."),
  ];
}

/** A page that could not load: "not found" for a 404, else why, with "Try again". */
function failure(error) {
  if (error?.status === 404) return notFound();
  const again = h("button", { type: "button", onclick: () => refresh() }, "Try again");
  return [
    h("h1", { tabindex: "-1" }, "This page could not load"),
    h("p", { class: "alert", role: "alert" }, describe(error)),
    h("p", {}, again, " ", h("a", { href: "/" }, "Go to the home page")),
  ];
}

/** Whether the reader put the focus somewhere new (outside the page) while it loaded. */
function movedSince(focused, view) {
  const now = document.activeElement;
  return now !== focused && now !== document.body && now !== null && !view.contains(now);
}

function settle(view, focus) {
  const heading = view.querySelector("h1");
  document.title = heading ? `${heading.textContent} · litcomp` : "litcomp";
  if (focus && heading) {
    heading.setAttribute("tabindex", "-1");
    heading.focus();
  }
}
