// Who is signed in: the token from /users/login and the profile it belongs to,
// kept in localStorage so a reload (or another tab) stays signed in.

const KEY = "litcomp.session";
const EVENT = "litcomp:session";

let current = load();

function load() {
  try {
    const stored = JSON.parse(localStorage.getItem(KEY));
    return stored && !expired(stored) ? stored : null;
  } catch {
    return null;
  }
}

function expired(stored) {
  return new Date(stored.expires_at).getTime() <= Date.now();
}

/** {token, user_id, username, role, expires_at}, or null when signed out. */
export function session() {
  if (current && expired(current)) signOut("Your session has expired. Please log in again.");
  return current;
}

export function isAdmin() {
  return session()?.role === "admin";
}

export function signIn(value) {
  current = value;
  localStorage.setItem(KEY, JSON.stringify(value));
  changed();
}

/** Forget the token; `reason` (if any) is shown on the login page. */
export function signOut(reason = "") {
  const wasSignedIn = current !== null;
  current = null;
  localStorage.removeItem(KEY);
  if (reason) sessionStorage.setItem("litcomp.signout-reason", reason);
  if (wasSignedIn) changed();
}

/** The reason the last sign-out gave, once. */
export function takeSignOutReason() {
  const reason = sessionStorage.getItem("litcomp.signout-reason") || "";
  sessionStorage.removeItem("litcomp.signout-reason");
  return reason;
}

export function onSessionChange(listener) {
  window.addEventListener(EVENT, listener);
}

function changed() {
  window.dispatchEvent(new Event(EVENT));
}

// Another tab signed in or out: follow it.
window.addEventListener("storage", (event) => {
  if (event.key !== KEY) return;
  current = load();
  changed();
});
