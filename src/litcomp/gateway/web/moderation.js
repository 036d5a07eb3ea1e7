// Moderation: the report button readers use on entries and comments, and the admins'
// page of open reports (dismiss, hide the comment, disqualify the entry) and the
// audit log of every act.

import { api, describe } from "./api.js";
import { alertBox, busy, dateTime, field, fill, h, uniqueId } from "./dom.js";
import { showProblems } from "./problems.js";
import { isAdmin } from "./session.js";
import { requireSession } from "./profile.js";

const REASONS = [
  ["spam", "Spam"],
  ["plagiarism", "Plagiarism"],
  ["abuse", "Abuse or harassment"],
  ["off_topic", "Off topic"],
  ["other", "Something else"],
];

/** "Report" that opens a small form in place; `path` is the item's report route. */
export function reportButton(path, what) {
  const slot = h("div", { class: "report-slot" });
  const button = h("button", { type: "button", class: "link-button", "aria-expanded": "false", "aria-label": `Report ${what}` }, "Report");
  button.addEventListener("click", () => {
    const opening = !slot.firstChild;
    button.setAttribute("aria-expanded", String(opening));
    slot.replaceChildren(opening ? reportForm(path, what, slot, button) : "");
    if (opening) slot.querySelector("select").focus();
  });
  return h("span", { class: "report" }, button, slot);
}

function reportForm(path, what, slot, button) {
  const reason = h("select", { name: "reason", required: true }, REASONS.map(([value, label]) => h("option", { value }, label)));
  const text = h("textarea", { name: "text", rows: 2, maxlength: 2000 });
  const problem = alertBox();
  const form = h(
    "form",
    { class: "report-form", novalidate: true, "aria-label": `Report ${what}` },
    problem,
    field("Why?", reason),
    field("Anything the moderators should know", text, "Optional."),
    h("button", { type: "submit", class: "secondary" }, "Send report"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    problem.show("");
    try {
      await busy(form, () => api(path, { method: "POST", body: { reason: reason.value, text: text.value } }));
      slot.replaceChildren(h("p", { class: "status", role: "status" }, "Thank you: the moderators will look at it."));
      button.remove();
    } catch (error) {
      showProblems(form, problem, error);
    }
  });
  return form;
}

// The moderation page -----------------------------------------------------------

const TABS = [
  ["open", "Open reports"],
  ["closed", "Closed reports"],
  ["actions", "Audit log"],
];

export async function moderationPage(ctx) {
  if (!requireSession("/moderation")) return;
  ctx.view.append(h("h1", {}, "Moderation"));
  if (!isAdmin()) {
    ctx.view.append(h("p", { class: "alert", role: "alert" }, "Only admins moderate."));
    return;
  }
  const tab = TABS.some(([name]) => name === ctx.query.get("tab")) ? ctx.query.get("tab") : "open";
  const body = h("section", { "aria-live": "polite" });
  ctx.view.append(
    h(
      "nav",
      { class: "tabs", "aria-label": "Moderation" },
      TABS.map(([name, label]) => h("a", { href: `/moderation?tab=${name}`, "aria-current": name === tab ? "page" : null }, label)),
    ),
    body,
  );
  const load = () => (tab === "actions" ? renderActions(body) : renderReports(body, tab, load));
  await load();
}

async function renderReports(section, status, reload) {
  const page = await api(`/moderation/reports?status=${status}&limit=100`);
  if (!page.items.length) {
    fill(section, h("p", { class: "muted" }, status === "open" ? "No open reports. All quiet." : "No closed reports yet."));
    return;
  }
  fill(section, h("p", { class: "muted" }, `${page.total} ${status} report${page.total === 1 ? "" : "s"}`),
    h("ol", { class: "reports" }, page.items.map((report) => reportItem(report, reload))));
}

function reportItem(report, reload) {
  const entry = `/competitions/${encodeURIComponent(report.competition_id)}/entries/${encodeURIComponent(report.submission_id)}`;
  const kind = report.target_type === "comment" ? "A comment" : "An entry";
  return h(
    "li",
    { class: "card report-card" },
    h("p", { class: "meta" }, `${kind} reported for `, h("strong", {}, report.reason.replace("_", " ")), " · ", dateTime(report.created_at), " · ", h("a", { href: entry }, "open the entry")),
    h("blockquote", { class: "excerpt" }, report.excerpt || "(no text left)"),
    report.text ? h("p", {}, "Reporter says: ", report.text) : null,
    report.status === "open" ? actions(report, reload) : h("p", { class: "muted" }, "Closed ", dateTime(report.closed_at)),
  );
}

function actions(report, reload) {
  const reason = h("input", { name: "reason", required: true, maxlength: 2000, id: uniqueId("reason") });
  const problem = alertBox();
  const act = (label, path) =>
    h("button", { type: "button", class: label === "Dismiss" ? "secondary" : "danger", onclick: async (event) => {
      problem.show("");
      if (!reason.value.trim()) return problem.show("Please give a reason: it is kept in the audit log and shown to the person affected.");
      try {
        await busy(event.currentTarget.form, () => api(path, { method: "POST", body: { reason: reason.value } }));
        await reload();
      } catch (error) {
        problem.show(describe(error));
      }
    } }, label);
  const item = `/competitions/${report.competition_id}`;
  const remove = report.target_type === "comment"
    ? act("Hide the comment", `${item}/comments/${report.target_id}/hide`)
    : act("Disqualify the entry", `${item}/submissions/${report.target_id}/disqualify`);
  return h(
    "form",
    { class: "moderate", novalidate: true, "aria-label": "Act on this report", onsubmit: (event) => event.preventDefault() },
    problem,
    field("Reason", reason, "Kept in the audit log; shown to the person affected."),
    h("div", { class: "actions" }, act("Dismiss", `/moderation/reports/${report.report_id}/dismiss`), remove),
  );
}

async function renderActions(section) {
  const page = await api("/moderation/actions?limit=100");
  if (!page.items.length) return fill(section, h("p", { class: "muted" }, "No moderation yet."));
  fill(
    section,
    h(
      "table",
      { class: "audit" },
      h("caption", {}, "Every moderator's act, newest first"),
      h("thead", {}, h("tr", {}, ["When", "Action", "By", "On", "Reason"].map((name) => h("th", { scope: "col" }, name)))),
      h("tbody", {}, page.items.map((row) =>
        h("tr", {},
          h("td", {}, dateTime(row.created_at)),
          h("td", {}, row.action.replaceAll("_", " ")),
          h("td", {}, h("a", { href: `/writers/${encodeURIComponent(row.actor_id)}` }, "a moderator")),
          h("td", {}, row.target_type === "user"
            ? h("a", { href: `/writers/${encodeURIComponent(row.target_id)}` }, `user ${row.target_id.slice(0, 8)}`)
            : `${row.target_type} ${row.target_id.slice(0, 8)}`),
          h("td", {}, row.reason),
        ))),
    ),
  );
}
