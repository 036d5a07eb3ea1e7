// Entering a competition, so that a writer never loses a story: every keystroke is
// kept in this browser, the server draft is saved every few seconds and on leaving
// the page, and an ended session asks to log in again in place, then sends. A writer
// sees their entries with a live word count against the limits, and edits or
// withdraws them while entries are open.

import { api, describe } from "./api.js";
import { logIn } from "./auth.js";
import { alertBox, busy, dateTime, field, fill, h, rendered, uniqueId } from "./dom.js";
import { showProblems } from "./problems.js";
import { go, onLeave } from "./router.js";
import { session } from "./session.js";
import { wordCount, wordLimits } from "./words.js";

const SAVE_EVERY_MS = 3000;
const KEEPALIVE_BYTES = 64_000; // browsers refuse a keepalive body past 64 KiB

/** Where the browser keeps the text of an unsent entry (or edit) to one competition. */
function localKey(competitionId, submissionId = "new") {
  return `litcomp.entry.${competitionId}.${submissionId}`;
}

function readLocal(key) {
  try {
    return JSON.parse(localStorage.getItem(key));
  } catch {
    return null;
  }
}

/** The entry section of a competition page: the writer's entries and the form. */
export function entrySection(competition) {
  const section = h("section", { class: "enter", "aria-label": "Your entry" });
  render(section, competition).catch((error) => section.replaceChildren(h("p", { class: "alert", role: "alert" }, describe(error))));
  return section;
}

async function render(section, competition) {
  const id = competition.competition_id;
  const unsent = readLocal(localKey(id));
  if (competition.status === "upcoming") return;
  if (competition.status !== "open") {
    // Entries closed with text never sent: show it, so it can still be copied.
    if (unsent?.content) section.replaceChildren(closedCopy(competition, unsent));
    return;
  }
  const me = session();
  if (!me) {
    if (unsent?.content) return section.replaceChildren(entryForm(competition, { text: unsent }));
    const next = encodeURIComponent(`/competitions/${id}`);
    return section.replaceChildren(h("p", { class: "card" }, h("a", { href: `/login?next=${next}` }, "Log in"), " to enter this competition."));
  }
  const mine = (await api("/users/profile/submissions?limit=1000")).filter((entry) => entry.competition_id === id);
  const room = mine.length < competition.max_entries_per_user;
  const parts = mine.map((entry) => yourEntry(section, competition, entry));
  if (room) parts.push(await newEntry(competition, unsent?.user_id === me.user_id ? unsent : null));
  section.replaceChildren(...parts);
}

function closedCopy(competition, unsent) {
  const text = h("textarea", { rows: 8, readonly: true, "aria-label": "Your unsent text" });
  text.value = unsent.content;
  const card = h("div", { class: "card" }, h("p", {}, "Entries have closed, and this text of yours was never sent. Copy it to keep it."), text);
  const forget = () => {
    localStorage.removeItem(localKey(competition.competition_id));
    card.remove();
  };
  card.append(h("button", { type: "button", class: "secondary", onclick: forget }, "Forget it"));
  return card;
}

/** "You entered <Title> — edit or withdraw until <deadline>", with both actions. */
function yourEntry(section, competition, entry) {
  const id = competition.competition_id;
  const href = `/competitions/${encodeURIComponent(id)}/entries/${encodeURIComponent(entry.submission_id)}`;
  const slot = h("div", {});
  const card = h(
    "div",
    { class: "card your-entry" },
    h("p", {}, "You entered ", h("a", { href }, h("em", {}, entry.title)), " — edit or withdraw until ", dateTime(competition.end_date), "."),
    h(
      "p",
      { class: "actions" },
      h("button", { type: "button", class: "secondary", onclick: () => slot.replaceChildren(entryForm(competition, { entry })) }, "Edit entry"),
      h("button", { type: "button", class: "secondary", onclick: () => slot.replaceChildren(withdrawal(section, competition, entry)) }, "Withdraw entry"),
    ),
    slot,
  );
  const unsentEdit = readLocal(localKey(id, entry.submission_id));
  if (unsentEdit) slot.replaceChildren(entryForm(competition, { entry, text: unsentEdit }));
  return card;
}

function withdrawal(section, competition, entry) {
  const problem = alertBox();
  const box = h(
    "div",
    { class: "confirm", role: "group", "aria-label": "Withdraw your entry" },
    problem,
    h("p", {}, "Withdraw ", h("em", {}, entry.title), "? Its likes and comments go with it, and this cannot be undone."),
    h("button", { type: "button", class: "danger" }, "Yes, withdraw it"),
    " ",
    h("button", { type: "button", class: "secondary", onclick: () => box.remove() }, "Keep it"),
  );
  box.querySelector(".danger").addEventListener("click", async () => {
    try {
      await busy(box, () => api(`/competitions/${competition.competition_id}/submissions/${entry.submission_id}`, { method: "DELETE" }));
      await render(section, competition);
      section.prepend(h("p", { class: "status", role: "status" }, `${entry.title} is withdrawn.`));
    } catch (error) {
      problem.show(describe(error));
    }
  });
  return box;
}

/** The "Enter this competition" button, or the form at once when a draft waits. */
async function newEntry(competition, unsent) {
  const draft = await serverDraft(competition.competition_id);
  const newer = [draft, unsent].filter((text) => text && (text.title || text.content)).sort((a, b) => (a.saved_at < b.saved_at ? 1 : -1))[0];
  if (newer) return entryForm(competition, { text: newer });
  const slot = h("div", {});
  const button = h("button", { type: "button", onclick: () => {
    const form = entryForm(competition, {});
    slot.replaceChildren(form);
    form.querySelector("input").focus();
  } }, "Enter this competition");
  slot.append(button);
  return slot;
}

async function serverDraft(id) {
  try {
    return await api(`/competitions/${id}/draft`);
  } catch (error) {
    if (error.status === 404) return null;
    throw error;
  }
}

/**
 * The form for a new entry, or for editing `entry`; `text` is what to start from
 * (a draft or the browser's copy).
 */
function entryForm(competition, { entry = null, text = null }) {
  const id = competition.competition_id;
  const key = localKey(id, entry ? entry.submission_id : "new");
  const start = text ?? entry ?? { title: "", content: "" };
  const title = h("input", { name: "title", required: true, maxlength: 200 });
  const content = h("textarea", { name: "content", rows: 16, required: true });
  title.value = start.title;
  content.value = start.content;
  const counter = h("p", { class: "word-count", id: uniqueId("words"), "aria-live": "polite" });
  // What readers will see: the server's rendering of the last draft saved.
  const previewBody = h("div", { class: "prose" });
  const preview = entry ? null : h("details", { class: "preview" }, h("summary", {}, "Preview (as of the last save)"), previewBody);
  const showPreview = (html) => fill(previewBody, html ? rendered(html) : h("p", { class: "muted" }, "Nothing saved yet."));
  showPreview(text?.content_html ?? "");
  const saved = h("p", { class: "status saved", role: "status" });
  const problem = alertBox();
  const login = h("div", { class: "relogin" });
  const heading = entry ? "Edit your entry" : "Enter this competition";
  const form = h(
    "form",
    { class: "card entry-form", novalidate: true, "aria-label": heading },
    h("h2", {}, heading),
    problem,
    login,
    field("Title", title),
    field("Your text", content, "Markdown: *italics*, **bold**, # headings, > quotes, *** for a scene break."),
    counter,
    saved,
    preview,
    h("button", { type: "submit" }, entry ? "Save changes" : "Submit entry"),
  );
  content.setAttribute("aria-describedby", `${content.getAttribute("aria-describedby")} ${counter.id}`);

  // Whose text it is stays with it while signed out, so their next login finds it.
  const owner = session()?.user_id ?? start.user_id ?? null;
  const typed = () => ({ title: title.value, content: content.value, saved_at: new Date().toISOString(), user_id: owner });
  const countWords = () => showCount(counter, wordCount(content.value), competition);
  let timer = null;
  const saveDraft = async ({ leaving = false } = {}) => {
    clearTimeout(timer);
    timer = null;
    if (entry || !session()) return; // drafts are of entries not yet sent
    try {
      const body = { title: title.value, content: content.value };
      // keepalive lets the save outlive the page, but browsers refuse it past 64 KiB;
      // a longer text that is cut short on leaving is still in this browser's copy.
      const small = new TextEncoder().encode(JSON.stringify(body)).length < KEEPALIVE_BYTES;
      const draft = await api(`/competitions/${id}/draft`, { method: "PUT", body, keepalive: leaving && small });
      saved.textContent = `Draft saved at ${new Date().toLocaleTimeString()}.`;
      showPreview(draft.content_html);
    } catch (error) {
      saved.textContent = `Kept in this browser; not saved to your account yet (${describe(error)})`;
    }
  };
  const onInput = () => {
    localStorage.setItem(key, JSON.stringify(typed()));
    countWords();
    if (timer === null) timer = setTimeout(saveDraft, SAVE_EVERY_MS);
  };
  title.addEventListener("input", onInput);
  content.addEventListener("input", onInput);
  const flush = () => {
    if (timer !== null) saveDraft({ leaving: true });
  };
  const onHide = () => document.visibilityState === "hidden" && flush();
  window.addEventListener("pagehide", flush);
  document.addEventListener("visibilitychange", onHide);
  onLeave(() => {
    flush();
    window.removeEventListener("pagehide", flush);
    document.removeEventListener("visibilitychange", onHide);
  });

  const send = async () => {
    problem.show("");
    localStorage.setItem(key, JSON.stringify({ ...typed(), sending: true }));
    try {
      const body = { title: title.value, content: content.value };
      const path = entry ? `/competitions/${id}/submissions/${entry.submission_id}` : `/competitions/${id}/submit`;
      const sent = await busy(form, () => api(path, { method: entry ? "PATCH" : "POST", body, idempotent: !entry }));
      clearTimeout(timer);
      localStorage.removeItem(key);
      go(`/competitions/${id}/entries/${sent.submission_id}`);
    } catch (error) {
      // Still marked as being sent when the session ended: the page redrawn for
      // the signed-out writer offers "Log in and send".
      localStorage.setItem(key, JSON.stringify({ ...typed(), sending: error.status === 401 }));
      if (error.status === 401) return askToLogIn(login, send);
      showProblems(form, problem, error);
    }
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    send();
  });
  countWords();
  if (text?.sending && session()) send(); // it was being sent when the session ended
  else if (!session()) askToLogIn(login, text?.sending ? send : null);
  else if (text && !entry) saved.textContent = "Your draft is restored.";
  return form;
}

/** Live "1,234 words (100–3,000 words)", marked when outside the limits. */
function showCount(counter, count, competition) {
  const limits = wordLimits(competition);
  const outside = (competition.word_min && count < competition.word_min) || (competition.word_max && count > competition.word_max);
  counter.textContent = `${count.toLocaleString()} ${count === 1 ? "word" : "words"}${limits ? ` (${limits.toLowerCase()})` : ""}`;
  counter.classList.toggle("outside", Boolean(outside));
}

/** Log in again without leaving the form; then `then()` (send what was typed). */
function askToLogIn(slot, then) {
  const email = h("input", { type: "email", name: "email", autocomplete: "email" });
  const password = h("input", { type: "password", name: "password", autocomplete: "current-password" });
  const problem = alertBox();
  const button = h("button", { type: "button" }, then ? "Log in and send" : "Log in");
  const box = h(
    "div",
    { class: "relogin-box", role: "group", "aria-label": "Log in again" },
    h("p", { class: "alert", role: "alert" }, "Your session has ended. Your text is kept in this browser: log in again to continue."),
    problem,
    field("Email", email),
    field("Password", password),
    button,
  );
  button.addEventListener("click", async () => {
    problem.show("");
    try {
      await busy(box, () => logIn(email.value.trim(), password.value));
      slot.replaceChildren();
      if (then) await then();
    } catch (error) {
      problem.show(describe(error));
    }
  });
  slot.replaceChildren(box);
  email.focus();
}
