// Search: the box in the header and the results page, entries, competitions and
// writers as tabs, a page at a time ("Show more"). A snippet comes as escaped text
// with <mark> around the matches (GET /search); it is rebuilt here as text nodes and
// <mark> elements, never parsed as HTML, so nothing a writer typed can run.

import { api } from "./api.js";
import { competitionHref, statusBadge } from "./competitions.js";
import { h } from "./dom.js";
import { userHref } from "./people.js";
import { go } from "./router.js";

const PAGE_SIZE = 20;
const TYPES = [
  ["entries", "Stories"],
  ["competitions", "Competitions"],
  ["writers", "Writers"],
];
const ENTITIES = { "&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&#x27;": "'" };

/** The header's search form; it goes to the results page of the type in view. */
export function searchBox() {
  const input = h("input", {
    type: "search",
    name: "q",
    id: "search-q",
    placeholder: "Search stories, competitions, writers",
    "aria-label": "Search litcomp",
    maxlength: "200",
    required: true,
  });
  return h(
    "form",
    {
      role: "search",
      class: "search-box",
      onsubmit: (event) => {
        event.preventDefault();
        const q = input.value.trim();
        if (q) go(searchHref(q, currentType()));
      },
    },
    input,
    h("button", { type: "submit", class: "small" }, "Search"),
  );
}

function currentType() {
  const type = new URLSearchParams(location.search).get("type");
  return location.pathname === "/search" && TYPES.some(([name]) => name === type) ? type : "entries";
}

function searchHref(q, type) {
  return `/search?${new URLSearchParams({ q, type })}`;
}

/** The snippet's text and marks as nodes: "a <mark>b</mark>" -> ["a ", <mark>b</mark>]. */
export function marked(snippet) {
  const nodes = [];
  let inMark = false;
  for (const part of String(snippet).split(/(<\/?mark>)/)) {
    if (part === "<mark>" || part === "</mark>") {
      inMark = part === "<mark>";
      continue;
    }
    const text = part.replace(/&(amp|lt|gt|quot|#x27);/g, (entity) => ENTITIES[entity]);
    if (text) nodes.push(inMark ? h("mark", {}, text) : text);
  }
  return nodes;
}

export async function searchPage(ctx) {
  const q = (ctx.query.get("q") || "").trim();
  const type = TYPES.some(([name]) => name === ctx.query.get("type")) ? ctx.query.get("type") : "entries";
  const box = document.getElementById("search-q");
  if (box && q) box.value = q;
  ctx.view.append(h("h1", {}, q ? `Search: ${q}` : "Search"));
  if (!q) {
    ctx.view.append(h("p", { class: "muted" }, "Type words in the search box above: all of them are looked for; put a phrase in quotes, a minus before a word to leave it out."));
    return;
  }
  const list = h("ul", { class: "cards search-results", "aria-live": "polite" });
  const count = h("p", { class: "meta", id: "search-count" });
  const more = h("button", { type: "button", class: "secondary search-more", hidden: true }, "Show more");
  ctx.view.append(
    h(
      "nav",
      { class: "tabs", "aria-label": "Search results by kind" },
      TYPES.map(([name, label]) =>
        h("a", { href: searchHref(q, name), "aria-current": name === type ? "page" : null }, label),
      ),
    ),
    count,
    list,
    more,
  );
  let offset = 0;
  const load = async () => {
    const params = new URLSearchParams({ q, type, limit: PAGE_SIZE, offset });
    const page = await api(`/search?${params}`);
    if (!ctx.isCurrent()) return;
    list.append(...page.items.map(resultCard));
    offset += page.items.length;
    count.textContent = summary(page, type);
    more.hidden = !page.items.length || offset >= page.total;
    if (!page.total) list.replaceChildren(h("li", { class: "empty" }, `Nothing matches “${q}”.`));
  };
  more.addEventListener("click", async () => {
    more.disabled = true;
    try {
      await load();
    } finally {
      more.disabled = false;
    }
  });
  await load();
}

function summary(page, type) {
  const kind = { entries: "story", competitions: "competition", writers: "writer" }[type];
  const total = `${page.total}${page.total_exact ? "" : "+"}`;
  return `${total} ${page.total === 1 ? kind : kind === "story" ? "stories" : `${kind}s`} found`;
}

function resultCard(item) {
  return h(
    "li",
    { class: "card search-result" },
    h("h2", {}, h("a", { href: resultHref(item) }, item.title)),
    resultMeta(item),
    item.snippet ? h("p", { class: "snippet" }, marked(item.snippet)) : null,
  );
}

function resultHref(item) {
  if (item.type === "entries") return competitionHref(item.competition_id, `/entries/${encodeURIComponent(item.id)}`);
  if (item.type === "competitions") return competitionHref(item.id);
  return userHref(item.id);
}

function resultMeta(item) {
  if (item.type === "entries") {
    const by = item.author ? h("a", { href: userHref(item.author.user_id) }, item.author.username ?? "a writer") : "an anonymous writer (named at the results)";
    const where = h("a", { href: competitionHref(item.competition_id) }, item.competition_title ?? "its competition");
    return h("p", { class: "meta" }, "By ", by, " in ", where);
  }
  if (item.type === "competitions") return h("p", { class: "meta" }, "Competition ", statusBadge(item.status));
  return h("p", { class: "meta" }, "Writer");
}
