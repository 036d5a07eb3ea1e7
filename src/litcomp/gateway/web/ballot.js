// A reader's ranked ballot (judging "ranked"): the entries they read, best first. The
// entries to pick from come in the reader's queue order (their own left out); the
// ballot is ordered with buttons, each naming its entry, so it works from a keyboard.

import { api, describe } from "./api.js";
import { alertBox, busy, dateTime, fill, h } from "./dom.js";
import { allows, competitionHref } from "./competitions.js";
import { requireSession } from "./profile.js";

const PAGE = 100;
const MIN_RANKED = 3;

export async function ballotPage(ctx) {
  const id = ctx.params.id;
  if (!requireSession(`/competitions/${id}/ballot`)) return;
  const competition = await api(`/competitions/${id}`);
  ctx.view.append(
    h("p", { class: "crumbs" }, h("a", { href: competitionHref(id) }, `← ${competition.title}`)),
    h("h1", {}, "Your ballot"),
  );
  if (competition.judging !== "ranked") {
    ctx.view.append(h("p", { class: "card" }, "This competition is not judged by ranked ballots."));
    return;
  }
  const [entries, ballot] = await Promise.all([allEntries(id), api(`/competitions/${id}/ballot`)]);
  ctx.view.append(ballotEditor(competition, entries, ballot));
}

/** Every entry the reader may rank, in their reading queue's order (all its pages). */
async function allEntries(id) {
  const entries = [];
  for (let offset = 0, total = 1; offset < total; offset += PAGE) {
    const page = await api(`/competitions/${id}/submissions?sort=queue&limit=${PAGE}&offset=${offset}`);
    entries.push(...page.items);
    total = page.total;
  }
  return entries;
}

function ballotEditor(competition, entries, saved) {
  const id = competition.competition_id;
  const titles = new Map(entries.map((entry) => [entry.submission_id, entry.title]));
  const state = { ranked: [...saved.submission_ids], castAt: saved.cast_at };
  const open = allows(competition, "like");
  const ranking = h("ol", { class: "ballot", "aria-label": "Your ranking, best first" });
  const pool = h("ul", { class: "ballot-pool", "aria-label": "Entries you can rank" });
  const cast = h("p", { class: "meta" });
  const title = (sid) => titles.get(sid) ?? "an entry no longer in the competition";
  /** Draw it again from `state`; `focus` selects the button to keep the keyboard on. */
  const render = (focus) => {
    renderRanking(ranking, state, title, open ? render : null);
    renderPool(pool, entries, state, open ? render : null);
    fill(cast, state.castAt ? ["Ballot saved ", dateTime(state.castAt), "."] : "You have not cast a ballot yet.");
    if (focus) document.querySelector(focus)?.focus();
  };
  render();
  return h("div", { class: "ballot-editor" },
    h("p", {}, `Rank only the entries you have read, best first: at least ${MIN_RANKED}. You can change your ballot until voting ends; your own entries are not offered.`),
    open ? null : h("p", { class: "card" }, "Ballots can be cast only while voting is open."),
    cast,
    h("h2", {}, "Your ranking"),
    ranking,
    open ? saveForm(id, state, render) : null,
    h("h2", {}, "Entries to rank"),
    pool,
  );
}

function renderRanking(list, state, title, render) {
  if (!state.ranked.length) return list.replaceChildren(h("li", { class: "muted empty" }, "Nothing ranked yet. Add the entries you read from the list below."));
  list.replaceChildren(...state.ranked.map((sid, i) => h("li", { class: "card ballot-row" },
    h("span", { class: "ballot-title" }, title(sid)),
    render ? rowButtons(sid, i, state, title(sid), render) : null,
  )));
}

/** Move up, Move down and Remove, each naming the entry; focus stays on the moved one. */
function rowButtons(sid, i, state, title, render) {
  const move = (to, action) => () => {
    state.ranked.splice(i, 1);
    state.ranked.splice(to, 0, sid);
    const edge = (action === "up" && to === 0) || (action === "down" && to === state.ranked.length - 1);
    render(`[data-sid="${sid}"][data-action="${edge ? (action === "up" ? "down" : "up") : action}"]`);
  };
  const button = (action, label, onclick, disabled = false) =>
    h("button", { type: "button", class: "secondary small", "data-sid": sid, "data-action": action, "aria-label": `${label}: ${title}`, onclick, disabled }, label);
  return h("span", { class: "ballot-buttons" },
    button("up", "Move up", move(i - 1, "up"), i === 0),
    button("down", "Move down", move(i + 1, "down"), i === state.ranked.length - 1),
    button("remove", "Remove", () => {
      state.ranked.splice(i, 1);
      render(`[data-sid="${sid}"][data-action="add"]`);
    }),
  );
}

function renderPool(list, entries, state, render) {
  const left = entries.filter((entry) => !state.ranked.includes(entry.submission_id));
  if (!left.length) return list.replaceChildren(h("li", { class: "muted empty" }, entries.length ? "Every entry is on your ballot." : "There is nothing here for you to rank."));
  list.replaceChildren(...left.map((entry) => h("li", { class: "ballot-row" },
    h("a", { href: competitionHref(entry.competition_id, `/entries/${encodeURIComponent(entry.submission_id)}`) }, entry.title),
    entry.read_by_me ? h("span", { class: "read-mark" }, "Read") : h("span", { class: "muted" }, "not read yet"),
    render ? h("button", { type: "button", class: "secondary small", "data-sid": entry.submission_id, "data-action": "add", "aria-label": `Add to your ballot: ${entry.title}`, onclick: () => {
      state.ranked.push(entry.submission_id);
      render(`[data-sid="${entry.submission_id}"][data-action="remove"]`);
    } }, "Add") : null,
  )));
}

function saveForm(id, state, render) {
  const problem = alertBox();
  const status = h("span", { class: "status", role: "status" });
  const form = h("form", { novalidate: true, "aria-label": "Save your ballot" }, problem, h("button", { type: "submit" }, "Save ballot"), status);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    problem.show("");
    status.textContent = "";
    try {
      const cast = await busy(form, () => api(`/competitions/${id}/ballot`, { method: "PUT", body: { submission_ids: state.ranked } }));
      Object.assign(state, { ranked: cast.submission_ids, castAt: cast.cast_at });
      render();
      status.textContent = "Saved.";
    } catch (error) {
      problem.show(ballotProblem(error));
    }
  });
  return form;
}

const PROBLEMS = {
  too_short: `Rank at least ${MIN_RANKED} entries: add more of those you have read.`,
  duplicate: "An entry is on your ballot twice: remove one.",
  own_entry: "Your own entry cannot be on your ballot: remove it.",
  unknown_entry: "An entry on your ballot is no longer in the competition: remove it.",
};

function ballotProblem(error) {
  return PROBLEMS[error.details?.[0]?.type] ?? describe(error);
}
