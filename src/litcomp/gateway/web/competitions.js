// Competitions: the lists by status, one competition with its entries, the entry
// form while it is open, and subscribing to hear of new entries.

import { api, describe } from "./api.js";
import { countdown, dateTime, fill, h, plural } from "./dom.js";
import { wordLimits } from "./words.js";
import { onNotification } from "./notify.js";
import { entrySection } from "./entryform.js";
import { judgingSection } from "./judging.js";
import { onLeave } from "./router.js";
import { isAdmin, session } from "./session.js";

const PAGE_SIZE = 20;
const TABS = [
  ["active", "Open now"],
  ["voting", "Voting"],
  ["upcoming", "Upcoming"],
  ["finished", "Finished"],
];

export function competitionHref(id, rest = "") {
  return `/competitions/${encodeURIComponent(id)}${rest}`;
}

export function statusBadge(status) {
  const words = { open: "Open", voting: "Voting", upcoming: "Upcoming", finished: "Finished" };
  return h("span", { class: `badge-status ${status}` }, words[status] || status);
}

/** "closes in 2 days 3 h" and the like, live, for any status. */
export function timing(competition) {
  const voted = Boolean(competition.voting_end_date);
  if (competition.status === "upcoming") return countdown(competition.start_date, "Opens in", "Open now");
  if (competition.status === "open") return countdown(competition.end_date, voted ? "Entries close in" : "Closes in", "Closed");
  if (competition.status === "voting") return countdown(competition.voting_end_date, "Voting ends in", "Voting ended");
  return h("span", {}, "Ended ", dateTime(competition.voting_end_date ?? competition.end_date));
}

/** What the competition's phase allows now, as the server decides it (rules.refusal). */
export function allows(competition, action) {
  const { status } = competition;
  if (action === "enter") return status === "open";
  if (action === "like") return status === "voting" || (status === "open" && !competition.voting_end_date);
  return status === "open" || status === "voting" || (status === "finished" && competition.comments_after_results);
}

function tagList(tags) {
  if (!tags?.length) return null;
  return h("ul", { class: "tags", "aria-label": "Tags" }, tags.map((tag) => h("li", {}, tag)));
}

function limitsNote(competition) {
  const limits = wordLimits(competition);
  return limits ? h("span", { class: "limits" }, " · ", limits) : null;
}

/** Entries from … to …, and voting until … when there is a voting phase. */
function phases(competition) {
  const entries = h("span", {}, "Entries ", dateTime(competition.start_date), " – ", dateTime(competition.end_date));
  if (!competition.voting_end_date) return h("p", { class: "meta" }, entries);
  return h("p", { class: "meta" }, entries, " · Voting until ", dateTime(competition.voting_end_date));
}

// The lists -----------------------------------------------------------------

export async function competitionsPage(ctx) {
  const status = TABS.some(([name]) => name === ctx.query.get("status")) ? ctx.query.get("status") : "active";
  const list = h("ul", { class: "cards" });
  ctx.view.append(
    h(
      "div",
      { class: "page-head" },
      h("h1", {}, "Competitions"),
      isAdmin() ? h("a", { class: "button", href: "/admin/new" }, "New competition") : null,
    ),
    h(
      "nav",
      { class: "tabs", "aria-label": "Competitions by status" },
      TABS.map(([name, label]) =>
        h("a", { href: `/competitions?status=${name}`, "aria-current": name === status ? "page" : null }, label),
      ),
    ),
    list,
  );
  const more = h("button", { type: "button", class: "secondary list-more", hidden: true }, "Show more competitions");
  ctx.view.append(more);
  let offset = 0;
  const load = async () => {
    const competitions = await api(`/competitions?status=${status}&limit=${PAGE_SIZE}&offset=${offset}`);
    if (!ctx.isCurrent()) return;
    list.append(...competitions.map(competitionCard));
    offset += competitions.length;
    more.hidden = competitions.length < PAGE_SIZE; // a full page: there may be more
    if (!offset) list.replaceChildren(h("li", { class: "empty" }, emptyText(status)));
  };
  more.addEventListener("click", () => load().catch(() => {}));
  await load();
}

function emptyText(status) {
  if (status === "upcoming") return "No competition is scheduled yet.";
  if (status === "voting") return "No competition is being voted on right now.";
  if (status === "finished") return "No competition has finished yet.";
  return [
    "No competition is open right now. ",
    h("a", { href: "/competitions?status=upcoming" }, "See what is coming"),
    " or ",
    h("a", { href: "/competitions?status=finished" }, "read the stories of past ones"),
    ".",
  ];
}

function competitionCard(competition) {
  const href = competitionHref(competition.competition_id);
  return h(
    "li",
    { class: "card competition-card" },
    h("h2", {}, h("a", { href }, competition.title)),
    h("p", { class: "meta" }, statusBadge(competition.status), " ", timing(competition), limitsNote(competition)),
    competition.description ? h("p", { class: "description clamp" }, competition.description) : null,
    tagList(competition.tags),
    competition.status === "finished" ? h("a", { href: competitionHref(competition.competition_id, "/results") }, "See the results") : null,
  );
}

// One competition -------------------------------------------------------------

export async function competitionPage(ctx) {
  const id = ctx.params.id;
  const page = Math.max(1, Number.parseInt(ctx.query.get("page"), 10) || 1);
  const [competition, subscribed] = await Promise.all([api(`/competitions/${id}`), isSubscribed(id)]);
  const sort = entryOrder(ctx.query.get("sort"), competition);
  const entries = h("section", { class: "entries", "aria-labelledby": "entries-heading" });
  fill(ctx.view,
    h("p", { class: "crumbs" }, h("a", { href: "/competitions" }, "← All competitions")),
    h("h1", {}, competition.title),
    h("p", { class: "meta" }, statusBadge(competition.status), " ", timing(competition), limitsNote(competition)),
    phases(competition),
    hiddenNote(competition),
    tagList(competition.tags),
    competition.description ? h("p", { class: "description" }, competition.description) : null,
    competition.prompt ? h("section", { class: "prompt", "aria-label": "Prompt" }, h("h2", {}, "Prompt"), h("p", {}, competition.prompt)) : null,
    competition.rules ? h("details", { class: "rules" }, h("summary", {}, "Rules"), h("p", {}, competition.rules)) : null,
    judgingSection(competition),
    actions(competition, subscribed),
    entrySection(competition),
    entries,
  );
  const load = () => renderEntries(entries, competition, sort, page);
  await load();
  onLeave(
    onNotification((notice) => {
      if (notice.type === "submission.created" && notice.data.competition_id === id) load().catch(() => {});
    }),
  );
}

async function isSubscribed(id) {
  if (!session()) return false;
  try {
    const subscriptions = await api("/users/profile/subscriptions?limit=1000");
    return subscriptions.some((s) => s.competition_id === id);
  } catch {
    return false; // the button still works; the API says if it was already done
  }
}

function actions(competition, subscribed) {
  const id = competition.competition_id;
  const mine = isAdmin() && session()?.user_id === competition.admin_id;
  return h(
    "div",
    { class: "actions" },
    session() && competition.status !== "finished" ? subscribeButton(id, subscribed) : null,
    mine && competition.status !== "finished" ? h("a", { class: "button secondary", href: competitionHref(id, "/edit") }, "Edit competition") : null,
    competition.status === "finished" ? h("a", { class: "button", href: competitionHref(id, "/results") }, "See the results") : null,
  );
}

export function subscribeButton(id, subscribed, onChange = () => {}) {
  let on = subscribed;
  const button = h("button", { type: "button", class: "secondary" });
  const status = h("span", { class: "status", role: "status" });
  const render = () => {
    button.textContent = on ? "Unsubscribe" : "Subscribe";
    button.setAttribute("aria-label", on ? "Unsubscribe from new entries" : "Subscribe to new entries");
  };
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await api(`/users/subscribe/${id}`, { method: on ? "DELETE" : "POST" });
      on = !on;
      status.textContent = on ? "Subscribed: you will be told of new entries." : "Unsubscribed.";
      render();
      onChange(on);
    } catch (error) {
      status.textContent = describe(error);
    } finally {
      button.disabled = false;
    }
  });
  render();
  return h("span", { class: "subscribe" }, button, status);
}

/**
 * The order the entries are listed in: the one asked for, if this reader can have it;
 * otherwise, for a signed-in reader while the competition is voting, their reading
 * queue (the entries read least first, theirs left out: every reader starting on the
 * same ones would read and like those most), else newest first.
 */
function entryOrder(asked, competition) {
  const signedIn = session() !== null;
  if (asked === "top" && !veiled(competition)) return "top";
  if (asked === "queue" && signedIn) return "queue";
  if (asked === "new") return "new";
  return signedIn && competition.status === "voting" ? "queue" : "new";
}

async function renderEntries(section, competition, sort, page) {
  const id = competition.competition_id;
  const offset = (page - 1) * PAGE_SIZE;
  const result = await api(`/competitions/${id}/submissions?sort=${sort}&limit=${PAGE_SIZE}&offset=${offset}`);
  const link = (params) => competitionHref(id, `?${new URLSearchParams(params)}`);
  fill(
    section,
    h("div", { class: "page-head" }, h("h2", { id: "entries-heading" }, `Entries (${result.total})`),
      h(
        "nav",
        { class: "tabs small", "aria-label": "Order of entries" },
        h("a", { href: link({ sort: "new" }), "aria-current": sort === "new" ? "page" : null }, "Newest"),
        veiled(competition) ? null : h("a", { href: link({ sort: "top" }), "aria-current": sort === "top" ? "page" : null }, "Most liked"),
        session() ? h("a", { href: link({ sort: "queue" }), "aria-current": sort === "queue" ? "page" : null, title: "Entries read least first, yours left out" }, "Reading queue") : null,
      ),
    ),
    sort === "queue" ? h("p", { class: "meta queue-note" }, "Your reading queue: entries read least first, in an order of your own; yours are left out and those you have read come last.") : null,
    result.items.length
      ? h("ol", { class: "entry-list" }, result.items.map((entry) => entryCard(entry)))
      : h("p", { class: "muted" }, emptyEntries(competition, sort, result.total)),
    pager(result, page, (n) => link({ sort, page: n })),
  );
}

function emptyEntries(competition, sort, total) {
  if (competition.status === "upcoming") return "Entries open when the competition starts.";
  if (sort === "queue" && total === 0) return "Nothing to read here but your own.";
  return "No entries yet.";
}

function entryCard(entry) {
  const more = entry.excerpt.length >= 300 ? "…" : "";
  return h(
    "li",
    { class: entry.read_by_me ? "card entry-card read" : "card entry-card" },
    h("h3", {},
      h("a", { href: competitionHref(entry.competition_id, `/entries/${encodeURIComponent(entry.submission_id)}`) }, entry.title),
      entry.read_by_me ? [" ", h("span", { class: "read-mark", title: "You have opened this entry" }, "Read")] : null,
    ),
    h("p", { class: "meta" }, "by ", authorLink(entry.author, entry.is_mine), " · ", dateTime(entry.created_at), " · ", plural(entry.word_count, "word"), entry.likes === null ? null : [" · ", plural(entry.likes, "like")]),
    h("p", { class: "excerpt" }, entry.excerpt + more),
  );
}

/** The author's name, linked to their profile ("you" marked); "an anonymous writer" while hidden. */
export function authorLink(author, mine = false) {
  if (!author) return h("span", { class: "anonymous" }, "an anonymous writer");
  const link = h("a", { href: `/writers/${encodeURIComponent(author.user_id)}` }, author.username ?? "unknown writer");
  return mine ? [link, " ", h("span", { class: "mine-mark" }, "you")] : link;
}

/**
 * Are like counts hidden (before the results of an anonymous competition, or of one
 * where likes are not the vote)? Authors are hidden only in the anonymous ones.
 */
export function veiled(competition) {
  return (competition.anonymous || competition.judging !== "likes") && competition.status !== "finished";
}

function hiddenNote(competition) {
  if (!veiled(competition)) return null;
  const text = competition.anonymous
    ? "Anonymous: authors and like counts are hidden until the results."
    : "Like counts are hidden until the results: likes do not decide the places here.";
  return h("p", { class: "meta veiled-note" }, text);
}

function pager(result, page, href) {
  const pages = Math.max(1, Math.ceil(result.total / result.limit));
  if (pages === 1) return null;
  return h(
    "nav",
    { class: "pager", "aria-label": "Pages of entries" },
    page > 1 ? h("a", { href: href(page - 1), rel: "prev" }, "← Previous") : null,
    h("span", {}, `Page ${page} of ${pages}`),
    page < pages ? h("a", { href: href(page + 1), rel: "next" }, "Next →") : null,
  );
}
