// Who is signed in: the tokens from /users/login and the profile they belong to,
// kept in localStorage so a reload (or another tab) stays signed in.
//
// The access token is short-lived; the refresh token renews it (and is replaced by
// each renewal: a used one ends the session if used again). So renewals never
// overlap: one at a time in a tab (a shared promise), and across tabs under a Web
// Lock, the winner's new tokens reaching the others by the storage event. A renewal
// is due when three quarters of the access token's life have passed, and is done by
// a timer, so an active writer is never logged out mid-story.
//
// The lock does not order localStorage: Chromium keeps a copy of it in each tab's
// process and tells the others of a write a moment later, so the next tab to take
// the lock may still read the refresh token just used, send it again and end the
// session. So a renewal also records, in IndexedDB (one store for every tab, and
// written before the lock is released), which session replaced the refresh token
// it used; the next holder reads that first.

const KEY = "litcomp.session";
const EVENT = "litcomp:session";
const LOCK = "litcomp.renew";
const DATABASE = "litcomp.session";
const ROTATION = "rotation"; // the object store, and its one key

let current = load();
let renewing = null; // this tab's renewal in flight
let timer = null;

function load() {
  try {
    const stored = JSON.parse(localStorage.getItem(KEY));
    return stored && !over(stored) ? stored : null;
  } catch {
    return null;
  }
}

/** Whether nothing can renew the session any more. */
function over(stored) {
  const end = stored.refresh_token ? stored.refresh_expires_at : stored.expires_at;
  return new Date(end).getTime() <= Date.now();
}

/** {token, user_id, username, role, expires_at, refresh_token, ...}, or null when signed out. */
export function session() {
  if (current && over(current)) signOut("Your session has expired. Please log in again.");
  return current;
}

export function isAdmin() {
  return session()?.role === "admin";
}

/** Store a login (tokens, name and role); `obtained_at` dates the access token. */
export function signIn(value) {
  store(value);
  changed();
}

// Renewals change the tokens, not who is signed in: they tell no listener.
function store(value) {
  current = { ...value, obtained_at: value.obtained_at ?? new Date().toISOString() };
  localStorage.setItem(KEY, JSON.stringify(current));
  schedule();
}

/** Forget the tokens; `reason` (if any) is shown on the login page. */
export function signOut(reason = "") {
  const wasSignedIn = current !== null;
  current = null;
  clearTimeout(timer);
  localStorage.removeItem(KEY);
  recordRotation(null).catch(() => {}); // no tokens kept after a sign-out
  if (reason) sessionStorage.setItem("litcomp.signout-reason", reason);
  if (wasSignedIn) changed();
}

/** Log out: the session ends at the server too (its refresh token stops working). */
export function logOut() {
  const refreshToken = current?.refresh_token;
  signOut();
  if (refreshToken) {
    fetch("/users/logout", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ refresh_token: refreshToken }),
      keepalive: true,
    }).catch(() => {}); // offline: the session ends when its refresh token expires
  }
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

/** An access token good for a little while yet (renewed first if it is about to expire). */
export async function freshToken() {
  const stored = session();
  if (!stored) return null;
  if (stored.refresh_token && new Date(stored.expires_at).getTime() - Date.now() < 5000) {
    return renew(stored.token);
  }
  return stored.token;
}

/**
 * Replace the access token `stale` (and the refresh token): resolves to the new
 * access token, or null once signed out (the session ended: logged out elsewhere,
 * a password change, a suspension). A network failure rejects and keeps the session.
 */
export function renew(stale) {
  if (!renewing) {
    const run = () => renewOnce(stale);
    const locked = navigator.locks ? navigator.locks.request(LOCK, run) : run();
    renewing = locked.finally(() => {
      renewing = null;
    });
  }
  return renewing;
}

async function renewOnce(stale) {
  let stored = load(); // another tab may have renewed while we waited for the lock
  if (!stored) {
    signOut();
    return null;
  }
  const rotation = await lastRotation().catch(() => null);
  if (rotation?.used === stored.refresh_token) stored = rotation.next; // our localStorage lags
  if (stored.token !== stale || !stored.refresh_token) {
    adopt(stored);
    return stored.token;
  }
  const response = await fetch("/users/token/refresh", {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify({ refresh_token: stored.refresh_token }),
  });
  if (response.ok) {
    const tokens = await response.json();
    store({ ...stored, ...tokens, obtained_at: new Date().toISOString() });
    await recordRotation({ used: stored.refresh_token, next: current }).catch(() => {});
    return tokens.token;
  }
  if (response.status === 401 || response.status === 403) {
    const data = await response.json().catch(() => null);
    const suspended = data?.error?.code === "suspended";
    signOut(suspended ? data.error.message : "Your session has ended. Please log in again.");
    return null;
  }
  throw new Error(`renewal failed (HTTP ${response.status})`);
}

function adopt(stored) {
  current = stored;
  schedule();
}

/** The last renewal's {used: refresh token, next: session}, or null. */
function lastRotation() {
  return rotations("readonly", (store) => store.get(ROTATION));
}

/** Record a renewal's rotation (null: forget it); resolves once committed. */
function recordRotation(rotation) {
  return rotations("readwrite", (store) => (rotation ? store.put(rotation, ROTATION) : store.delete(ROTATION)));
}

async function rotations(mode, work) {
  const database = await new Promise((resolve, reject) => {
    const opening = indexedDB.open(DATABASE, 1);
    opening.onupgradeneeded = () => opening.result.createObjectStore(ROTATION);
    opening.onsuccess = () => resolve(opening.result);
    opening.onerror = () => reject(opening.error);
  });
  try {
    return await new Promise((resolve, reject) => {
      const transaction = database.transaction(ROTATION, mode);
      const request = work(transaction.objectStore(ROTATION));
      transaction.oncomplete = () => resolve(request.result ?? null);
      transaction.onerror = transaction.onabort = () => reject(transaction.error);
    });
  } finally {
    database.close();
  }
}

/** Renew when three quarters of the access token's life have passed. */
function schedule() {
  clearTimeout(timer);
  if (!current?.refresh_token) return;
  const issued = new Date(current.obtained_at || Date.now()).getTime();
  const expires = new Date(current.expires_at).getTime();
  const due = issued + (expires - issued) * 0.75;
  const token = current.token;
  timer = setTimeout(() => {
    renew(token).catch(() => {
      timer = setTimeout(() => schedule(), 5000); // offline: try again shortly
    });
  }, Math.max(0, due - Date.now()));
}

// Another tab signed in, renewed or signed out: follow it.
window.addEventListener("storage", (event) => {
  if (event.key !== KEY) return;
  const who = current?.user_id;
  current = load();
  if (current) schedule();
  else clearTimeout(timer);
  if (current?.user_id !== who) changed();
});

schedule();
