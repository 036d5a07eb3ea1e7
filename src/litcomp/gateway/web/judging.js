// How a competition is judged: the line saying so, its judges by name (and, for its
// admin, the editor that names them), and a judge's score on an entry page.

import { api, describe } from "./api.js";
import { alertBox, busy, field, fill, h, uniqueId } from "./dom.js";
import { allows, competitionHref } from "./competitions.js";
import { session } from "./session.js";

export const JUDGING = {
  likes: "Likes: readers' likes decide",
  judges: "Judges: named judges score each entry 1–10",
  ranked: "Ranked ballots: readers rank what they read",
};

const JUDGED_BY = {
  likes: "readers' likes",
  judges: "the mean of the judges' scores (1–10)",
  ranked: "ranked ballots of readers",
};

/** The competition page's judging part: how it is judged, who judges, the editor. */
export function judgingSection(competition) {
  const section = h("section", { class: "judging", "aria-label": "Judging" },
    h("p", { class: "meta" }, `Judged by: ${JUDGED_BY[competition.judging]}.`),
    ballotLink(competition),
  );
  if (competition.judging === "judges") {
    showJudges(section, competition).catch((error) => section.append(h("p", { class: "muted" }, `The judges cannot be shown: ${describe(error)}`)));
  }
  return section;
}

function ballotLink(competition) {
  if (competition.judging !== "ranked" || !session() || !allows(competition, "like")) return null;
  return h("p", {}, h("a", { class: "button", href: competitionHref(competition.competition_id, "/ballot") }, "Your ballot"));
}

async function showJudges(section, competition) {
  const ids = await judgesOf(competition.competition_id);
  const list = h("div");
  const render = async (userIds) => {
    const named = (await names(userIds)).map((name) => h("li", {}, name));
    fill(list, named.length ? h("ul", { class: "judges", "aria-label": "Judges" }, named) : h("p", { class: "muted" }, "No judges named yet."));
  };
  await render(ids);
  section.append(h("h2", {}, "Judges"), list);
  const mine = session()?.user_id === competition.admin_id;
  if (mine && competition.status !== "finished") section.append(judgesEditor(competition.competition_id, ids, render));
}

/** The user ids of a competition's judges. */
export async function judgesOf(id) {
  return (await api(`/competitions/${id}/judges`)).user_ids;
}

/** Names for user ids, from their public profiles, each linked to it. */
async function names(userIds) {
  const profiles = await Promise.all(userIds.map((id) => api(`/users/${encodeURIComponent(id)}`).catch(() => null)));
  return userIds.map((id, i) => h("a", { href: `/writers/${encodeURIComponent(id)}` }, profiles[i]?.username ?? id));
}

/** For the competition's admin: the judges' user ids, one a line; Save names them. */
function judgesEditor(id, ids, render) {
  const text = h("textarea", { name: "judges", rows: 3, spellcheck: "false" });
  text.value = ids.join("\n");
  const problem = alertBox();
  const status = h("span", { class: "status", role: "status" });
  const form = h("form", { class: "card judges-editor", novalidate: true, "aria-label": "Name the judges" },
    problem,
    field("Judges' user ids, one a line", text, "A user's id is in their profile address: /writers/<id>. A writer with an entry here cannot judge it."),
    h("button", { type: "submit" }, "Save judges"), status,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    problem.show("");
    status.textContent = "";
    const userIds = text.value.split(/\s+/).filter(Boolean);
    try {
      const saved = await busy(form, () => api(`/competitions/${id}/judges`, { method: "PUT", body: { user_ids: userIds } }));
      text.value = saved.user_ids.join("\n");
      await render(saved.user_ids);
      status.textContent = "Saved.";
    } catch (error) {
      problem.show(judgesProblem(error));
    }
  });
  return form;
}

function judgesProblem(error) {
  if (error.code === "judge_has_entry") return `These users have an entry here, so they cannot judge it: ${error.details.user_ids.join(", ")}.`;
  return describe(error);
}

// A judge's score ---------------------------------------------------------------

/** On an entry page: the signed-in judge's score of it while votes are open, else null. */
export async function scoreControl(competition, entry) {
  const me = session();
  if (competition.judging !== "judges" || !me || !allows(competition, "like")) return null;
  const id = competition.competition_id;
  if (!(await judgesOf(id)).includes(me.user_id)) return null;
  const given = (await api(`/competitions/${id}/scores?limit=1000`)).items.find((s) => s.submission_id === entry.submission_id);
  return scoreForm(id, entry.submission_id, given?.score);
}

function scoreForm(id, sid, score) {
  const select = h("select", { name: "score", id: uniqueId("score") },
    h("option", { value: "" }, "Not scored"),
    Array.from({ length: 10 }, (_, i) => h("option", { value: i + 1 }, String(i + 1))),
  );
  select.value = score ? String(score) : "";
  const problem = alertBox();
  const status = h("span", { class: "status", role: "status" });
  const saved = h("p", { class: "meta" });
  const showSaved = (value) => (saved.textContent = value ? `Your saved score: ${value}.` : "You have not scored it yet.");
  showSaved(score);
  const form = h("form", { class: "card score-form", novalidate: true, "aria-label": "Your score" },
    h("h2", {}, "Your score"), saved, problem,
    field("Your score, from 1 to 10", select, "As a judge. You can change it until voting ends."),
    h("button", { type: "submit" }, "Save score"), status,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    problem.show("");
    status.textContent = "";
    if (!select.value) return problem.show("Please choose a score from 1 to 10.");
    try {
      const given = await busy(form, () => api(`/competitions/${id}/scores/${sid}`, { method: "PUT", body: { score: Number(select.value) } }));
      showSaved(given.score);
      status.textContent = "Saved.";
    } catch (error) {
      problem.show(describe(error));
    }
  });
  return form;
}
