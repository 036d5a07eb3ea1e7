// For admins: create a competition, and edit one of their own before it ends.
// Times are entered in the browser's time zone and sent as UTC.

import { api } from "./api.js";
import { alertBox, busy, field, h } from "./dom.js";
import { showProblems } from "./problems.js";
import { competitionHref } from "./competitions.js";
import { JUDGING } from "./judging.js";
import { go } from "./router.js";
import { isAdmin } from "./session.js";
import { requireSession } from "./profile.js";

const DAY = 86_400_000;

export async function newCompetitionPage(ctx) {
  if (!requireSession("/admin/new") || !adminOnly(ctx, "New competition")) return;
  const now = Date.now();
  const form = competitionForm(
    {
      title: "",
      description: "",
      prompt: "",
      rules: "",
      tags: [],
      start_date: new Date(now).toISOString(),
      end_date: new Date(now + 7 * DAY).toISOString(),
      voting_end_date: null,
      max_entries_per_user: 1,
      word_min: null,
      word_max: null,
      comments_after_results: true,
      anonymous: true, // fairer: readers judge the story, not the name
      judging: "likes",
    },
    "Create competition",
    async (fields) => {
      const created = await api("/competitions", { method: "POST", body: fields });
      go(`/competitions/${created.competition_id}`);
    },
  );
  ctx.view.append(h("h1", {}, "New competition"), form);
}

export async function editCompetitionPage(ctx) {
  const id = ctx.params.id;
  if (!requireSession(`/competitions/${id}/edit`) || !adminOnly(ctx, "Edit competition")) return;
  const competition = await api(`/competitions/${id}`);
  // Only what was changed is sent: an open competition's start cannot move, and
  // re-sending it at the form's minute precision would count as a move.
  const form = competitionForm(competition, "Save changes", async (fields, changed) => {
    const body = Object.fromEntries(Object.entries(fields).filter(([name]) => changed.has(name)));
    await api(`/competitions/${id}`, { method: "PATCH", body });
    go(`/competitions/${id}`);
  });
  ctx.view.append(
    h("p", { class: "crumbs" }, h("a", { href: competitionHref(id) }, `← ${competition.title}`)),
    h("h1", {}, "Edit competition"),
    form,
  );
}

function adminOnly(ctx, title) {
  if (isAdmin()) return true;
  ctx.view.append(h("h1", {}, title), h("p", { class: "alert", role: "alert" }, "Only admins can create and edit competitions."));
  return false;
}

function competitionForm(values, action, save) {
  const inputs = {
    title: h("input", { name: "title", required: true, maxlength: 200 }),
    description: h("textarea", { name: "description", rows: 4, maxlength: 10000 }),
    prompt: h("textarea", { name: "prompt", rows: 3, maxlength: 2000 }),
    rules: h("textarea", { name: "rules", rows: 5, maxlength: 10000 }),
    tags: h("input", { name: "tags" }),
    start_date: h("input", { type: "datetime-local", name: "start_date", required: true }),
    end_date: h("input", { type: "datetime-local", name: "end_date", required: true }),
    voting_end_date: h("input", { type: "datetime-local", name: "voting_end_date" }),
    max_entries_per_user: h("input", { type: "number", name: "max_entries_per_user", min: 1, max: 100, required: true }),
    word_min: h("input", { type: "number", name: "word_min", min: 1, max: 100000 }),
    word_max: h("input", { type: "number", name: "word_max", min: 1, max: 100000 }),
    comments_after_results: h("input", { type: "checkbox", name: "comments_after_results" }),
    anonymous: h("input", { type: "checkbox", name: "anonymous" }),
    judging: h("select", { name: "judging" }, Object.entries(JUDGING).map(([value, label]) => h("option", { value }, label))),
  };
  inputs.title.value = values.title;
  inputs.description.value = values.description;
  inputs.prompt.value = values.prompt;
  inputs.rules.value = values.rules;
  inputs.tags.value = values.tags.join(", ");
  inputs.start_date.value = toLocalInput(values.start_date);
  inputs.end_date.value = toLocalInput(values.end_date);
  inputs.voting_end_date.value = values.voting_end_date ? toLocalInput(values.voting_end_date) : "";
  inputs.max_entries_per_user.value = String(values.max_entries_per_user);
  inputs.word_min.value = values.word_min ?? "";
  inputs.word_max.value = values.word_max ?? "";
  inputs.comments_after_results.checked = values.comments_after_results;
  inputs.anonymous.checked = values.anonymous;
  inputs.judging.value = values.judging;
  const initial = Object.fromEntries(Object.entries(inputs).map(([name, input]) => [name, current(input)]));
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const problem = alertBox();
  const form = h(
    "form",
    { class: "card", novalidate: true },
    problem,
    field("Title", inputs.title),
    field("Description", inputs.description),
    field("Prompt", inputs.prompt, "The theme writers answer."),
    field("Rules", inputs.rules),
    field("Tags", inputs.tags, "Up to 10, separated by commas."),
    h(
      "div",
      { class: "field-row" },
      field("Opens", inputs.start_date, `Your time zone: ${zone}.`),
      field("Entries close", inputs.end_date),
      field("Voting ends", inputs.voting_end_date, "Optional: without it, likes come while entries do."),
    ),
    h(
      "div",
      { class: "field-row" },
      field("Entries per writer", inputs.max_entries_per_user),
      field("Fewest words", inputs.word_min, "Empty: no limit."),
      field("Most words", inputs.word_max, "Empty: no limit."),
    ),
    h("div", { class: "field checkbox" }, h("label", {}, inputs.comments_after_results, " Comments stay open after the results")),
    h("div", { class: "field checkbox" }, h("label", {}, inputs.anonymous, " Anonymous: authors and like counts stay hidden until the results")),
    field("Judging", inputs.judging, "What places the entries. It cannot change once votes may be cast."),
    h("button", { type: "submit" }, action),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    problem.show("");
    const fields = readFields(inputs);
    if (typeof fields === "string") return problem.show(fields);
    const changed = new Set(Object.keys(inputs).filter((name) => current(inputs[name]) !== initial[name]));
    try {
      await busy(form, () => save(fields, changed));
    } catch (error) {
      showProblems(form, problem, error);
    }
  });
  return form;
}

/** The body to send, or a sentence saying what is missing. */
function readFields(inputs) {
  const start = fromLocalInput(inputs.start_date.value);
  const end = fromLocalInput(inputs.end_date.value);
  if (!start || !end) return "Please give both the opening and the closing time.";
  const votingEnd = inputs.voting_end_date.value ? fromLocalInput(inputs.voting_end_date.value) : null;
  return {
    title: inputs.title.value,
    description: inputs.description.value,
    prompt: inputs.prompt.value,
    rules: inputs.rules.value,
    tags: inputs.tags.value.split(",").map((tag) => tag.trim()).filter(Boolean),
    start_date: start,
    end_date: end,
    voting_end_date: votingEnd,
    max_entries_per_user: Number(inputs.max_entries_per_user.value),
    word_min: count(inputs.word_min.value),
    word_max: count(inputs.word_max.value),
    comments_after_results: inputs.comments_after_results.checked,
    anonymous: inputs.anonymous.checked,
    judging: inputs.judging.value,
  };
}

/** An input's value as the form compares it: a checkbox by whether it is ticked. */
function current(input) {
  return input.type === "checkbox" ? String(input.checked) : input.value;
}

/** A word limit: empty is none. */
function count(value) {
  return value === "" ? null : Number(value);
}

/** "2025-05-01T10:30" in the browser's zone, as <input type=datetime-local> wants. */
function toLocalInput(iso) {
  const date = new Date(iso);
  return new Date(date.getTime() - date.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
}

function fromLocalInput(value) {
  const date = new Date(value); // a date-time without an offset is local time
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}
