// Profiles: mine (entries, subscriptions, writers followed, bio and picture) and
// anyone's public one (people.js draws its portfolio).

import { accountSection } from "./account.js";
import { api, describe } from "./api.js";
import { alertBox, busy, countdown, dateTime, field, h, plural } from "./dom.js";
import { showProblems } from "./problems.js";
import { competitionHref, subscribeButton } from "./competitions.js";
import { followingList, picture, pictureForm, writerPage } from "./people.js";
import { go } from "./router.js";
import { session } from "./session.js";

export function requireSession(path) {
  if (session()) return true;
  go(`/login?next=${encodeURIComponent(path)}`, { replace: true });
  return false;
}

export async function profilePage(ctx) {
  if (!requireSession("/profile")) return;
  const [profile, entries, subscriptions, following] = await Promise.allSettled([
    api("/users/profile"),
    api("/users/profile/submissions?limit=1000"),
    api("/users/profile/subscriptions?limit=1000"),
    api("/users/profile/following?limit=100"),
  ]);
  if (profile.status === "rejected") throw profile.reason;
  const card = h("div", { class: "card profile" });
  const showCard = (value) => card.replaceChildren(...profileCard(value));
  showCard(profile.value);
  ctx.view.append(
    h("h1", {}, "Your profile"),
    card,
    pictureForm(profile.value, showCard),
    editForm(profile.value, showCard),
    accountSection(profile.value),
    section("Your entries", entries, entryList),
    section("Your subscriptions", subscriptions, subscriptionList),
    section("Writers you follow", following, followingList),
  );
}

function profileCard(profile) {
  return [
    picture(profile),
    h(
      "div",
      {},
      h("p", { class: "profile-name" }, profile.username),
      h("p", { class: "meta" }, profile.email, profile.role === "admin" ? " · admin" : ""),
      h("p", { class: "meta" }, "Joined ", dateTime(profile.created_at)),
      profile.bio ? h("p", { class: "bio" }, profile.bio) : h("p", { class: "muted" }, "No bio yet."),
    ),
  ];
}

function editForm(profile, showCard) {
  const bio = h("textarea", { name: "bio", rows: 4, maxlength: 2000 });
  bio.value = profile.bio;
  const problem = alertBox();
  const status = h("p", { class: "status", role: "status" });
  const form = h(
    "form",
    { class: "card", novalidate: true, "aria-labelledby": "edit-heading" },
    h("h2", { id: "edit-heading" }, "Edit your profile"),
    problem,
    field("Bio", bio),
    h("button", { type: "submit" }, "Save profile"),
    status,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    problem.show("");
    status.textContent = "";
    try {
      const body = { bio: bio.value };
      showCard(await busy(form, () => api("/users/profile", { method: "PATCH", body })));
      status.textContent = "Your profile is saved.";
    } catch (error) {
      showProblems(form, problem, error);
    }
  });
  return form;
}

function section(title, settled, render) {
  const id = `${title.toLowerCase().replaceAll(" ", "-")}-heading`;
  const body = settled.status === "fulfilled" ? render(settled.value) : h("p", { class: "alert", role: "alert" }, describe(settled.reason));
  return h("section", { "aria-labelledby": id }, h("h2", { id }, title), body);
}

function entryList(entries) {
  if (!entries.length) return h("p", { class: "muted" }, "You have not entered a competition yet.");
  return h(
    "ul",
    { class: "plain-list" },
    entries.map((entry) =>
      h(
        "li",
        {},
        h("a", { href: competitionHref(entry.competition_id, `/entries/${encodeURIComponent(entry.submission_id)}`) }, entry.title),
        " ",
        h("small", { class: "muted" }, dateTime(entry.created_at), " · ", plural(entry.word_count, "word")),
      ),
    ),
  );
}

/** "closes in …" while entries come, "voting ends in …" while they are voted on, "finished". */
function subscriptionTiming(competition) {
  const now = new Date();
  if (new Date(competition.end_date) > now) return countdown(competition.end_date, "closes in", "closed");
  const votingEnd = competition.voting_end_date;
  if (votingEnd && new Date(votingEnd) > now) return countdown(votingEnd, "voting ends in", "finished");
  return "finished";
}

function subscriptionList(subscriptions) {
  if (!subscriptions.length) return h("p", { class: "muted" }, "No subscriptions. Subscribe to a competition to hear of its new entries.");
  return h(
    "ul",
    { class: "plain-list" },
    subscriptions.map((competition) => {
      return h(
        "li",
        {},
        h("a", { href: competitionHref(competition.competition_id) }, competition.title),
        " ",
        h("small", { class: "muted" }, subscriptionTiming(competition)),
        " ",
        subscribeButton(competition.competition_id, true),
      );
    }),
  );
}

export async function userPage(ctx) {
  const profile = await api(`/users/${encodeURIComponent(ctx.params.id)}`);
  ctx.view.append(h("h1", {}, profile.username), ...writerPage(profile));
  // The API shows the suspension to admins only; everyone else gets null.
  if (profile.suspension) ctx.view.append(moderation(profile));
}

/** An admin's view of a user's suspension: "Suspended" and why, and the way to change it. */
function moderation(profile) {
  const card = h("section", { class: "card moderation", "aria-labelledby": "moderation-heading" });
  const show = (suspension) => card.replaceChildren(...moderationParts(profile, suspension, show));
  show(profile.suspension);
  return card;
}

function moderationParts(profile, suspension, show) {
  const path = `/users/${encodeURIComponent(profile.user_id)}/suspend`;
  const heading = h("h2", { id: "moderation-heading" }, "Moderation");
  const problem = alertBox();
  const act = (form, call) => async (event) => {
    event.preventDefault();
    problem.show("");
    try {
      show(await busy(form, call));
    } catch (error) {
      problem.show(describe(error));
    }
  };
  if (suspension.suspended) {
    const form = h("form", { novalidate: true }, problem, h("button", { type: "submit" }, "Lift suspension"));
    form.addEventListener("submit", act(form, () => api(path, { method: "DELETE" })));
    return [
      heading,
      h("p", { class: "suspended" }, h("span", { class: "badge-status suspended" }, "Suspended"), " since ", dateTime(suspension.suspended_at)),
      h("p", {}, "Reason: ", suspension.reason),
      form,
    ];
  }
  const reason = h("textarea", { name: "reason", rows: 3, maxlength: 500, required: true });
  const form = h(
    "form",
    { novalidate: true },
    problem,
    field("Reason for suspending", reason, `Shown to ${profile.username} when they try to log in. Up to 500 characters.`),
    h("button", { type: "submit" }, "Suspend"),
  );
  form.addEventListener("submit", act(form, () => api(path, { method: "POST", body: { reason: reason.value } })));
  const lifted = suspension.lifted_at
    ? h("p", { class: "muted" }, "A suspension was lifted ", dateTime(suspension.lifted_at), ` (it was: ${suspension.reason}).`)
    : h("p", { class: "muted" }, "Not suspended. A suspended user cannot log in, and their sessions stop working within a minute.");
  return [heading, lifted, form];
}
