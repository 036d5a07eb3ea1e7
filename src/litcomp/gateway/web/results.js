// Results: the places, and a bar chart of what placed them (likes, the judges' mean
// score or the ranked ballots' Bradley-Terry score; CSS bars: a list a screen reader
// reads as text, with the bar lengths set through the CSSOM, which the
// Content-Security-Policy allows where inline style attributes are refused).

import { api } from "./api.js";
import { countdown, h, ordinal, plural } from "./dom.js";
import { competitionHref } from "./competitions.js";
import { onLeave, refresh } from "./router.js";

const CHART_ROWS = 10;
const RESULT_ROWS = 1000; // the most a page of results holds

export async function resultsPage(ctx) {
  const id = ctx.params.id;
  const competition = await api(`/competitions/${id}`);
  ctx.view.append(
    h("p", { class: "crumbs" }, h("a", { href: competitionHref(id) }, `← ${competition.title}`)),
    h("h1", {}, `Results: ${competition.title}`),
  );
  let results;
  let total;
  try {
    ({ items: results, total } = await api(`/competitions/${id}/results?limit=${RESULT_ROWS}`));
  } catch (error) {
    if (error.code !== "competition_not_finished" && error.code !== "results_pending") throw error;
    ctx.view.append(notYet(competition, error.code));
    // Look again once they can be known, so a page left open shows them unasked.
    const wait = Math.max(new Date(resultsAt(competition)).getTime() - Date.now(), 0) + 1000;
    const timer = setTimeout(() => refresh({ focus: false }), Math.min(wait, 2 ** 31 - 1));
    onLeave(() => clearTimeout(timer));
    return;
  }
  if (!results.length) {
    ctx.view.append(h("p", {}, "Nobody entered this competition."));
    return;
  }
  const names = await authorNames(id);
  const mode = MODES[competition.judging];
  ctx.view.append(chart(results.slice(0, CHART_ROWS), mode), places(id, results, names, mode));
  if (total > results.length) ctx.view.append(h("p", { class: "meta" }, `The first ${results.length} places of ${total}.`));
}

/**
 * Per judging mode: what the score is called, how it reads in the chart and the table,
 * what placed the entries, and whether the ballots an entry was on are shown.
 */
const MODES = {
  likes: { name: "Likes", bar: (score) => plural(score, "like"), cell: String, placed: "entries with equal likes share a place" },
  judges: { name: "Mean score", bar: oneDecimal, cell: oneDecimal, placed: "by the mean of the judges' scores, 1–10; equal means share a place" },
  ranked: {
    name: "Score", bar: twoDecimals, cell: twoDecimals, ballots: true,
    placed: "by readers' ranked ballots (Bradley-Terry score: the odds of beating a middling entry); equal scores share a place",
  },
};

function oneDecimal(score) {
  return score.toFixed(1);
}

function twoDecimals(score) {
  return score.toFixed(2);
}

function notYet(competition, code) {
  if (code === "results_pending") return h("p", { class: "card" }, "The results are being written…");
  return h(
    "p",
    { class: "card" },
    "The places are known once the competition ends. ",
    countdown(resultsAt(competition), "It ends in", "It has ended: the results are coming…"),
  );
}

/** The end of the last phase: voting when there is one. */
function resultsAt(competition) {
  return competition.voting_end_date ?? competition.end_date;
}

/** Author names by submission id (the results carry ids only). */
async function authorNames(id) {
  try {
    const page = await api(`/competitions/${id}/submissions?sort=top&limit=100`);
    return new Map(page.items.map((item) => [item.submission_id, item.author]));
  } catch {
    return new Map(); // the places still show, without names
  }
}

function chart(rows, mode) {
  const most = Math.max(Number.MIN_VALUE, ...rows.map((row) => row.score));
  const top = rows.length < CHART_ROWS ? "per entry" : `of the top ${CHART_ROWS} entries`;
  return h(
    "figure",
    { class: "chart" },
    h("figcaption", {}, `${mode.name} ${top}`),
    h(
      "ol",
      { class: "bars" },
      rows.map((row) => {
        const bar = h("span", { class: "bar" });
        bar.style.width = `${(row.score / most) * 100}%`;
        return h(
          "li",
          { class: row.place <= 3 ? `bar-row podium-${row.place}` : "bar-row" },
          h("span", { class: "bar-label" }, `${placeName(row)} ${row.title}`),
          h("span", { class: "bar-track", "aria-hidden": "true" }, bar),
          h("span", { class: "bar-value" }, mode.bar(row.score)),
        );
      }),
    ),
  );
}

/** "2nd", or "2nd (tied)" when another entry shares the place. */
function placeName(row) {
  return `${ordinal(row.place)}${row.tied ? " (tied)" : ""}`;
}

function places(id, results, names, mode) {
  const columns = ["Place", "Entry", "Writer", mode.name, mode.ballots ? "Ballots" : null].filter(Boolean);
  return h(
    "table",
    { class: "places" },
    h("caption", {}, `Final places (${mode.placed})`),
    h("thead", {}, h("tr", {}, columns.map((title) => h("th", { scope: "col" }, title)))),
    h(
      "tbody",
      {},
      results.map((row) => {
        const author = names.get(row.submission_id);
        const href = competitionHref(id, `/entries/${encodeURIComponent(row.submission_id)}`);
        return h(
          "tr",
          {},
          h("td", {}, placeName(row)),
          h("td", {}, h("a", { href }, row.title)),
          h("td", {}, h("a", { href: `/writers/${encodeURIComponent(row.author_id)}` }, author?.username ?? "a writer")),
          h("td", {}, mode.cell(row.score)),
          mode.ballots ? h("td", {}, String(row.ballots)) : null,
        );
      }),
    ),
  );
}
