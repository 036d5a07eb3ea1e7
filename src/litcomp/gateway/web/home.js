// The home page: what litcomp is and how a contest works, then what is happening now
// (open competitions with their deadlines and entries), the next one coming, and the
// latest winners. Each part loads on its own: one that fails offers "Try again" and
// leaves the others standing.

import { api } from "./api.js";
import { competitionHref, statusBadge, timing } from "./competitions.js";
import { dateTime, h, plural, retryable } from "./dom.js";
import { session } from "./session.js";

const WINNERS = 3;
// Open and voting competitions shown, closing soonest first: each card asks for its
// entry count, so the home page costs a bounded number of requests however many run.
const LIVE = 6;

export function homePage(ctx) {
  const open = h("section", { class: "home-part", "aria-labelledby": "open-heading" });
  const next = h("section", { class: "home-part", "aria-labelledby": "next-heading" });
  const winners = h("section", { class: "home-part", "aria-labelledby": "winners-heading" });
  ctx.view.append(
    h("div", { class: "hero" },
      h("h1", {}, "Short stories, written to a deadline"),
      h("p", { class: "lede" },
        "litcomp runs writing competitions. Each one sets a prompt and a deadline; writers enter a story, readers read and like the entries, and when it ends the best are placed."),
      session()
        ? h("p", {}, h("a", { class: "button", href: "/competitions" }, "Find a competition to enter"))
        : h("p", {}, h("a", { class: "button", href: "/signup" }, "Sign up to enter"), " or ", h("a", { href: "/competitions" }, "browse the competitions"), "."),
    ),
    h("section", { class: "how", "aria-labelledby": "how-heading" },
      h("h2", { id: "how-heading" }, "How a contest works"),
      h("ol", { class: "steps" },
        h("li", {}, h("strong", {}, "Enter. "), "Read the prompt, write your story within the word limits, and submit it before the competition closes. Drafts save as you type."),
        h("li", {}, h("strong", {}, "Read and like. "), "Read the other entries and like the ones you love; some competitions keep the writers anonymous until the end, so stories are read for themselves."),
        h("li", {}, h("strong", {}, "Results. "), "When the competition ends its entries are placed, by likes, by judges or by readers' ranked ballots, and the writers are revealed."),
      ),
    ),
    open,
    next,
    winners,
  );
  return Promise.all([
    retryable(open, () => openNow(open)),
    retryable(next, () => comingNext(next)),
    retryable(winners, () => recentWinners(winners)),
  ]);
}

async function openNow(section) {
  const [open, voting] = await Promise.all([
    api(`/competitions?status=open&limit=${LIVE}`),
    api(`/competitions?status=voting&limit=${LIVE}`),
  ]);
  const live = [...open, ...voting].slice(0, LIVE);
  const counts = await Promise.all(live.map((c) => entryCount(c.competition_id)));
  section.replaceChildren(
    h("h2", { id: "open-heading" }, "Happening now"),
    ...(live.length
      ? [
          h("ul", { class: "cards" }, live.map((competition, i) => liveCard(competition, counts[i]))),
          h("p", {}, h("a", { href: "/competitions" }, "All competitions")),
        ]
      : [h("p", { class: "card empty" }, "No competition is open right now. ",
          h("a", { href: "/competitions?status=upcoming" }, "See what is coming"), " or ",
          h("a", { href: "/competitions?status=finished" }, "read the stories of past ones"), ".")]),
  );
}

async function entryCount(id) {
  try {
    return (await api(`/competitions/${id}/submissions?limit=1`)).total;
  } catch {
    return null; // the card still shows, without its count
  }
}

function liveCard(competition, count) {
  return h("li", { class: "card competition-card" },
    h("h3", {}, h("a", { href: competitionHref(competition.competition_id) }, competition.title)),
    h("p", { class: "meta" }, statusBadge(competition.status), " ", timing(competition),
      count === null ? null : [" · ", plural(count, "entry", "entries")]),
    h("p", { class: "meta" }, competition.status === "open" ? "Deadline " : "Voting until ",
      dateTime(competition.status === "open" ? competition.end_date : competition.voting_end_date)),
    competition.description ? h("p", { class: "description clamp" }, competition.description) : null,
  );
}

async function comingNext(section) {
  const [first] = await api("/competitions?status=upcoming&limit=1"); // opening soonest first
  section.replaceChildren(
    h("h2", { id: "next-heading" }, "Coming next"),
    first
      ? h("div", { class: "card" },
          h("h3", {}, h("a", { href: competitionHref(first.competition_id) }, first.title)),
          h("p", { class: "meta" }, timing(first), " · opens ", dateTime(first.start_date)),
          first.description ? h("p", { class: "description clamp" }, first.description) : null)
      : h("p", { class: "muted" }, "Nothing is scheduled yet. ", h("a", { href: "/competitions" }, "See all competitions"), "."),
  );
}

async function recentWinners(section) {
  const latest = await api(`/competitions?status=finished&limit=${WINNERS}`); // latest first
  const winners = (await Promise.all(latest.map(winnerOf))).filter(Boolean);
  section.replaceChildren(
    h("h2", { id: "winners-heading" }, "Recent winners"),
    winners.length
      ? h("ul", { class: "cards winners" }, winners.map(winnerCard))
      : h("p", { class: "muted" }, "No competition has finished yet. ", h("a", { href: "/competitions" }, "Enter one"), " and you could be the first winner."),
  );
}

async function winnerOf(competition) {
  const results = await api(`/competitions/${competition.competition_id}/results?limit=1`).catch(() => null);
  const first = results?.items.find((row) => row.place === 1);
  if (!first) return null;
  const writer = await api(`/users/${first.author_id}`).catch(() => null);
  return { competition, first, writer };
}

function winnerCard({ competition, first, writer }) {
  const id = competition.competition_id;
  return h("li", { class: "card winner" },
    h("p", { class: "meta" }, "1st in ", h("a", { href: competitionHref(id) }, competition.title)),
    h("h3", {}, h("a", { href: competitionHref(id, `/entries/${encodeURIComponent(first.submission_id)}`) }, first.title)),
    h("p", { class: "meta" }, "by ", h("a", { href: `/writers/${encodeURIComponent(first.author_id)}` }, writer?.username ?? "its writer"),
      " · ", h("a", { href: competitionHref(id, "/results") }, "All results")),
  );
}
