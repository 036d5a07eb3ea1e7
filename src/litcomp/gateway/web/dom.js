// Building the page. Everything a user wrote goes in as text (text nodes and
// textContent), never parsed as markup: no module assigns HTML strings. The one
// exception is `rendered` below, for the HTML the API makes from Markdown.

import { describe } from "./api.js";

/**
 * h("a", {href: "/x", class: "link"}, "text", otherNode) -> an element.
 * Props: "class", "text", "on<event>" (a listener), booleans (present or not),
 * everything else an attribute. Children: nodes, strings (as text), arrays, null.
 */
export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") element.className = value;
    else if (key === "text") element.textContent = value;
    else if (key.startsWith("on") && typeof value === "function") {
      element.addEventListener(key.slice(2), value);
    } else element.setAttribute(key, value === true ? "" : String(value));
  }
  append(element, children);
  return element;
}

/** Replace an element's content with `children` (same rules as h's children). */
export function fill(element, ...children) {
  element.replaceChildren();
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** An SVG element (charts), attributes only. */
export function svg(tag, attributes = {}, ...children) {
  const element = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
  append(element, children);
  return element;
}

/** A labelled form field: the label's `for` names the control, hints are described. */
export function field(label, control, hint) {
  const id = control.id || (control.id = uniqueId("field"));
  const hintNode = hint ? h("small", { id: `${id}-hint`, class: "hint" }, hint) : null;
  if (hintNode) control.setAttribute("aria-describedby", hintNode.id);
  return h("div", { class: "field" }, h("label", { for: id }, label), control, hintNode);
}

// HTML from the server ----------------------------------------------------------

// What the API's content_html may hold (competitions/markdown.py allows the same):
// element -> its attributes. Anything else is left out, keeping its text.
const RENDERED = {
  P: [], BR: [], HR: [], EM: [], STRONG: [], BLOCKQUOTE: [], UL: [], LI: [], CODE: [], PRE: [],
  H1: [], H2: [], H3: [], H4: [], H5: [], H6: [], OL: ["start"], A: ["href", "title"],
};
const DROPPED = new Set(["SCRIPT", "STYLE", "TEMPLATE", "NOSCRIPT", "IFRAME", "OBJECT", "SVG", "MATH"]);
const LINKABLE = /^(https?|mailto):/i;

/**
 * Nodes for the API's `content_html`: the only HTML from outside that enters the page.
 * The server rendered it from Markdown and sanitized it; here it is parsed into an
 * inert document (nothing runs or loads there) and rebuilt through h() with the same
 * allow-list, so even HTML that got past the server could add no other element, no
 * attribute, and no link but http(s) and mailto.
 */
export function rendered(html) {
  const inert = new DOMParser().parseFromString(html, "text/html");
  return [...inert.body.childNodes].map(copy);
}

function copy(node) {
  if (node.nodeType === Node.TEXT_NODE) return node.data;
  if (node.nodeType !== Node.ELEMENT_NODE || DROPPED.has(node.nodeName.toUpperCase())) return null;
  const children = [...node.childNodes].map(copy);
  const allowed = RENDERED[node.nodeName.toUpperCase()];
  if (!allowed) return children;
  const props = Object.fromEntries(allowed.filter((name) => node.hasAttribute(name)).map((name) => [name, node.getAttribute(name)]));
  if (node.nodeName.toUpperCase() === "A") {
    if (!LINKABLE.test(props.href ?? "")) delete props.href;
    props.rel = "nofollow noopener noreferrer ugc";
  }
  return h(node.nodeName.toLowerCase(), props, children);
}

let counter = 0;
export function uniqueId(prefix) {
  counter += 1;
  return `${prefix}-${counter}`;
}

/** A region that announces problems to screen readers and shows them in words. */
export function alertBox() {
  const box = h("div", { class: "alert", role: "alert", hidden: true });
  box.show = (text) => {
    box.textContent = text;
    box.hidden = !text;
  };
  return box;
}

/**
 * Run `load` to fill `section`; if it fails, `section` says why and offers "Try again",
 * which runs `load` again. Never rejects: one part of a page failing leaves the rest.
 */
export async function retryable(section, load) {
  try {
    await load();
  } catch (error) {
    const again = h("button", { type: "button", class: "secondary" }, "Try again");
    again.addEventListener("click", () => {
      section.replaceChildren(h("p", { class: "muted" }, "Loading…"));
      retryable(section, load);
    });
    section.replaceChildren(h("div", { class: "alert", role: "alert" }, describe(error), " ", again));
  }
}

/** Disable a form's controls while `work` runs, so nothing is sent twice. */
export async function busy(form, work) {
  const controls = [...form.querySelectorAll("button, input, textarea, select")];
  const before = controls.map((control) => control.disabled);
  controls.forEach((control) => (control.disabled = true));
  form.setAttribute("aria-busy", "true");
  try {
    return await work();
  } finally {
    controls.forEach((control, i) => (control.disabled = before[i]));
    form.removeAttribute("aria-busy");
  }
}

// Dates and countdowns -------------------------------------------------------

// One format for every date the app shows, with the time zone it is in (the reader's).
const dateFormat = new Intl.DateTimeFormat(undefined, {
  year: "numeric",
  month: "short",
  day: "numeric",
  hour: "numeric",
  minute: "2-digit",
  timeZoneName: "short",
});

/** "7 Dec 2026, 14:05 UTC" as text. */
export function dateText(iso) {
  return dateFormat.format(new Date(iso));
}

export function dateTime(iso) {
  return h("time", { datetime: iso }, dateText(iso));
}

/** "2 days 3 h", "4 min 5 s": the two largest units of a duration. */
export function duration(ms) {
  const units = [
    [86_400, "day", "days"],
    [3600, "h", "h"],
    [60, "min", "min"],
    [1, "s", "s"],
  ];
  let rest = Math.max(0, Math.floor(ms / 1000));
  const parts = [];
  for (const [size, one, many] of units) {
    const amount = Math.floor(rest / size);
    rest %= size;
    if (amount || parts.length) parts.push(`${amount} ${amount === 1 ? one : many}`);
  }
  return parts.slice(0, 2).join(" ") || "0 s";
}

/**
 * A live countdown to `iso`: "<before> 2 days 3 h" until then, `after` once passed.
 * One timer for the whole page updates every countdown on it.
 */
export function countdown(iso, before, after) {
  const element = h("time", { datetime: iso, class: "countdown" });
  element.dataset.until = iso;
  element.dataset.before = before;
  element.dataset.after = after;
  tick(element);
  return element;
}

function tick(element) {
  const left = new Date(element.dataset.until).getTime() - Date.now();
  element.textContent = left > 0 ? `${element.dataset.before} ${duration(left)}` : element.dataset.after;
}

setInterval(() => document.querySelectorAll("time.countdown").forEach(tick), 1000);

const numbers = new Intl.NumberFormat("en");

/** "1 like", "3,012 words". */
export function plural(count, one, many = `${one}s`) {
  return `${numbers.format(count)} ${count === 1 ? one : many}`;
}

const ordinals = new Intl.PluralRules("en", { type: "ordinal" });
const suffixes = { one: "st", two: "nd", few: "rd", other: "th" };

/** 1st, 2nd, 3rd, 4th, 11th, 21st. */
export function ordinal(n) {
  return `${n}${suffixes[ordinals.select(n)]}`;
}
