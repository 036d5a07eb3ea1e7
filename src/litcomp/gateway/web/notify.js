// Live notifications: the bell's unread count, toasts, and the WebSocket behind them.
//
// The socket resumes where it left off: we keep the id of the last notice we saw
// and reconnect with `?after=<id>`, so a dropped connection (or a replica that
// died) loses nothing. Reconnects back off (0.5 s doubling to 30 s, with jitter).

import { api, describe, signOutSuspended } from "./api.js";
import { dateTime, h, ordinal } from "./dom.js";
import { onLeave } from "./router.js";
import { freshToken, renew, session, signOut } from "./session.js";

const TOAST_MS = 10_000;
const UNAUTHORIZED = 4401;
const SUSPENDED = 4403;

const state = { unread: 0, lastId: null, socket: null, retries: 0, timer: null, run: 0, renewed: false };
const listeners = new Set();
const bell = h("a", { href: "/notifications", class: "bell" });

/** Call `listener(message)` for each live notice; returns the way to stop. */
export function onNotification(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** The bell link for the header; it keeps itself up to date. */
export function bellLink() {
  renderBell();
  return bell;
}

/** (Re)start for whoever is signed in now: unread count, then the live socket. */
export async function startNotifications() {
  stopNotifications();
  const run = state.run; // a newer start (or a stop) makes this one give up
  const me = session();
  if (!me) return;
  try {
    const page = await api("/notifications?limit=1");
    state.lastId = page.items.length ? page.items[page.items.length - 1].id : 0;
    setUnread(page.unread);
  } catch {
    state.lastId = null; // unknown: the socket then sends only new notices
  }
  if (run === state.run && session()?.user_id === me.user_id) connect();
}

export function stopNotifications() {
  state.run += 1;
  clearTimeout(state.timer);
  const socket = state.socket;
  state.socket = null;
  socket?.close(1000);
  state.retries = 0;
  state.lastId = null;
  setUnread(0);
  setLive(false);
}

export function setUnread(count) {
  state.unread = Math.max(0, count);
  renderBell();
}

async function connect() {
  const run = state.run;
  let token = null;
  try {
    token = await freshToken();
  } catch {
    token = session()?.token ?? null; // renewal unreachable: the socket says whether it still works
  }
  if (!token || run !== state.run) return;
  const params = new URLSearchParams({ token });
  if (state.lastId !== null) params.set("after", String(state.lastId));
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/ws?${params}`);
  socket.token = token;
  state.socket = socket;
  socket.addEventListener("open", () => {
    state.retries = 0;
    state.renewed = false;
    setLive(true);
  });
  socket.addEventListener("message", (event) => receive(event.data));
  socket.addEventListener("close", (event) => closed(socket, event.code, event.reason));
}

function closed(socket, code, reason) {
  if (state.socket !== socket) return; // replaced or stopped on purpose
  state.socket = null;
  setLive(false);
  if (code === UNAUTHORIZED) {
    // Most often the access token expired while the socket was away: renew once, retry.
    if (state.renewed) {
      signOut("Your session has ended. Please log in again.");
      return;
    }
    state.renewed = true;
    renew(socket.token).then(
      (token) => token && connect(),
      () => (state.timer = setTimeout(connect, 5000)),
    );
    return;
  }
  if (code === SUSPENDED) {
    signOutSuspended(reason);
    return;
  }
  const delay = Math.min(30_000, 500 * 2 ** state.retries) * (0.5 + Math.random() / 2);
  state.retries += 1;
  state.timer = setTimeout(connect, delay);
}

// Back online: don't wait for the backoff.
window.addEventListener("online", () => {
  if (session() && !state.socket) {
    clearTimeout(state.timer);
    connect();
  }
});

function receive(text) {
  let message;
  try {
    message = JSON.parse(text);
  } catch {
    return;
  }
  if (typeof message.id !== "number") return; // e.g. {"type": "pong"}
  if (state.lastId !== null && message.id <= state.lastId) return; // seen before a reconnect
  state.lastId = message.id;
  setUnread(state.unread + 1);
  showToast(message);
  listeners.forEach((listener) => listener(message));
}

function setLive(live) {
  bell.classList.toggle("offline", Boolean(session()) && !live);
  bell.title = live ? "Live notifications are on" : "Reconnecting to live notifications…";
}

function renderBell() {
  const count = state.unread;
  bell.setAttribute("aria-label", count ? `Notifications, ${count} unread` : "Notifications");
  const badge = h("span", { class: "badge", "aria-hidden": "true" }, count > 99 ? "99+" : String(count));
  bell.replaceChildren(bellIcon(), ...(count ? [badge] : []));
}

function bellIcon() {
  const icon = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  icon.setAttribute("viewBox", "0 0 24 24");
  icon.setAttribute("aria-hidden", "true");
  icon.setAttribute("class", "icon");
  const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
  path.setAttribute("d", "M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22Zm7-6V11a7 7 0 0 0-5.5-6.84V3a1.5 1.5 0 0 0-3 0v1.16A7 7 0 0 0 5 11v5l-2 2v1h18v-1Z");
  icon.append(path);
  return icon;
}

// Toasts -------------------------------------------------------------------

function showToast(message) {
  const { text, href } = describeNotice(message);
  const toast = h(
    "div",
    { class: "toast" },
    h("a", { href, class: "toast-text", onclick: () => markRead([message.id]).catch(() => {}) }, text),
    h("button", { type: "button", class: "toast-close", "aria-label": "Dismiss notification", onclick: () => toast.remove() }, "×"),
  );
  document.getElementById("toasts").append(toast);
  // Stay while the pointer or the keyboard is on it, so it can be read and used.
  let timer = setTimeout(() => toast.remove(), TOAST_MS);
  const hold = () => clearTimeout(timer);
  const release = () => (timer = setTimeout(() => toast.remove(), TOAST_MS / 2));
  toast.addEventListener("mouseenter", hold);
  toast.addEventListener("focusin", hold);
  toast.addEventListener("mouseleave", release);
  toast.addEventListener("focusout", release);
}

export async function markRead(ids, upTo) {
  const body = upTo === undefined ? { ids } : { ids, up_to: upTo };
  const result = await api("/notifications/read", { method: "POST", body });
  setUnread(result.unread);
  return result;
}

/** What a notice says, and where it leads. */
export function describeNotice({ type, data = {} }) {
  // No actor: the author of an entry in an anonymous competition.
  const who = data.actor_username || (data.actor_id === null ? "The author" : "Someone");
  const title = `“${data.submission_title || "an entry"}”`;
  const competition = `/competitions/${encodeURIComponent(data.competition_id || "")}`;
  const entry = `${competition}/entries/${encodeURIComponent(data.submission_id || "")}`;
  switch (type) {
    case "submission.created":
      return { text: `${data.actor_id === null ? "A new entry" : who + " entered"} ${title} in ${data.competition_title}`, href: entry };
    case "submission.liked":
      return { text: `${who} liked your entry ${title}`, href: entry };
    case "comment.created":
      return { text: `${who} commented on your entry ${title}`, href: entry };
    case "comment.replied":
      return { text: `${who} replied to your comment on ${title}`, href: entry };
    case "competition.placed":
      return {
        text: `You ${data.tied ? "tied for" : "placed"} ${ordinal(data.place)} of ${data.participants} in ${data.competition_title}`,
        href: `${competition}/results`,
      };
    case "submission.disqualified":
      return { text: `Your entry ${title} in ${data.competition_title} was disqualified by a moderator: ${data.reason}`, href: entry };
    case "writer.published":
      return { text: `${who}, whom you follow, published ${title} in ${data.competition_title}`, href: entry };
    case "competition.revealed":
      return { text: `${data.competition_title} has its results, and its authors are revealed`, href: `${competition}/results` };
    default:
      return { text: "Something happened on litcomp", href: "/notifications" };
  }
}

// The notifications page -----------------------------------------------------

export async function notificationsPage(ctx) {
  const list = h("ol", { class: "notices" });
  const status = h("p", { class: "status", role: "status" });
  ctx.view.append(h("h1", {}, "Notifications"), status, list);

  // Seeing the list is reading it: the bell clears, and what was new stays marked
  // "new" on this page until it is left.
  const load = async () => {
    const page = await api("/notifications?limit=100");
    const newest = page.items.length ? page.items[page.items.length - 1].id : 0;
    list.replaceChildren(...page.items.reverse().map(noticeItem));
    if (!page.items.length) list.replaceChildren(h("li", { class: "muted" }, "Nothing yet. Subscribe to a competition or enter one."));
    setUnread(page.unread);
    if (page.unread) await markRead([], newest);
  };
  const loadQuietly = () =>
    load().catch((error) => {
      status.textContent = describe(error);
    });
  onLeave(onNotification(loadQuietly));
  await load();
}

function noticeItem(notice) {
  const { text, href } = describeNotice(notice);
  return h(
    "li",
    { class: notice.read ? "notice" : "notice unread" },
    notice.read ? null : h("span", { class: "new-mark" }, "New"),
    notice.read ? null : " ",
    h("a", { href }, text),
    " ",
    h("small", { class: "muted" }, dateTime(notice.created_at)),
  );
}
