// What was wrong with a form, in plain words next to the field it is about.
//
// A 422's `details` name each field as "body.<field>" (kit/http.py); a form whose
// controls are named like the API's fields gets each problem under its control
// (aria-invalid, and the words in its description, so a screen reader reads them
// with the field). Whatever names no control stays in the form's alert box.

import { ApiError, describe } from "./api.js";
import { h } from "./dom.js";

// Words for the patterns the API checks, by field: the pattern itself means nothing
// to a person ("String should match pattern '^[A-Za-z0-9_.-]+$'").
const PATTERNS = {
  username: "Use only letters, digits, dots, dashes and underscores, with no spaces.",
};
const NAMES = {
  username: "Username",
  email: "Email",
  password: "Password",
  new_password: "New password",
  current_password: "Current password",
  new_email: "New email",
  title: "Title",
  content: "Text",
  bio: "Bio",
};

/**
 * Show `error` on `form`: field by field when it is a 422 naming fields, else (and
 * for what names no control) in `alert`. Focus goes to the first field marked.
 */
export function showProblems(form, alert, error) {
  clearProblems(form);
  if (!(error instanceof ApiError) || error.code !== "validation_failed" || !Array.isArray(error.details)) {
    alert.show(describe(error));
    return;
  }
  const elsewhere = [];
  let first = null;
  for (const detail of error.details) {
    const name = fieldOf(detail.location);
    const control = name ? form.querySelector(`[name="${CSS.escape(name)}"]`) : null;
    const words = plainWords(name, detail);
    if (!control) elsewhere.push(name && NAMES[name] ? `${NAMES[name]}: ${words}` : words);
    else if (control.getAttribute("aria-invalid") !== "true") {
      mark(control, words); // one problem per field: the first the API gave
      first ??= control;
    }
  }
  alert.show(elsewhere.length ? `Please check the form. ${elsewhere.join(" ")}` : "Please correct the fields marked below.");
  first?.focus();
}

export function clearProblems(form) {
  for (const old of form.querySelectorAll(".field-error")) {
    const control = form.querySelector(`[aria-describedby~="${old.id}"]`);
    if (control) {
      control.removeAttribute("aria-invalid");
      const rest = control.getAttribute("aria-describedby").split(" ").filter((id) => id !== old.id);
      if (rest.length) control.setAttribute("aria-describedby", rest.join(" "));
      else control.removeAttribute("aria-describedby");
    }
    old.remove();
  }
}

function mark(control, words) {
  const id = `${control.id || control.name}-problem`;
  const note = h("small", { class: "field-error", id }, words);
  control.after(note);
  control.setAttribute("aria-invalid", "true");
  const described = control.getAttribute("aria-describedby");
  control.setAttribute("aria-describedby", described ? `${id} ${described}` : id);
}

/** "body.username" -> "username"; "body" alone (a rule across fields) -> null. */
function fieldOf(location = "") {
  const [where, name] = String(location).split(".");
  return ["body", "query", "path"].includes(where) ? name ?? null : where || null;
}

/** The API's message for one field, as a sentence a person can act on. */
export function plainWords(name, { type = "", message = "" }) {
  const number = /(\d[\d,]*)/.exec(message)?.[1];
  switch (type) {
    case "missing":
      return "This is required.";
    case "string_too_short":
      return number === "1" ? "This cannot be empty." : `Too short: use at least ${number} characters.`;
    case "string_too_long":
      return `Too long: use at most ${number} characters.`;
    case "string_pattern_mismatch":
      return PATTERNS[name] ?? "This contains characters that are not allowed here.";
    case "greater_than_equal":
      return `Use a number of at least ${number}.`;
    case "less_than_equal":
      return `Use a number of at most ${number}.`;
    case "too_long":
      return `Too many: at most ${number}.`;
    default:
      if (name === "email" || name === "new_email") return "Enter an email address like name@example.com.";
      return sentence(message.replace(/^Value error, /, ""));
  }
}

function sentence(text) {
  const words = String(text || "This is not valid").trim();
  const capital = words.charAt(0).toUpperCase() + words.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}
