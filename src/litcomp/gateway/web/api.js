// The one way the app talks to litcomp: fetch with the token, JSON both ways, and
// every failure turned into an ApiError that `describe` puts into words.

import { plainWords } from "./problems.js";
import { go } from "./router.js";
import { freshToken, renew, session, signOut } from "./session.js";

export class ApiError extends Error {
  constructor(status, code, message, details = null, retryAfter = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
    this.retryAfter = retryAfter; // seconds to wait, from a 429's or 503's Retry-After
  }
}

// Errors that an up-to-date token may not get: renewing it is worth a second try.
const STALE_TOKEN = new Set(["token_expired", "email_unverified"]);

/**
 * Call the API. `idempotent: true` sends an Idempotency-Key, so the gateway may
 * retry the POST on another instance and a repeat creates nothing twice. `token`
 * overrides the session's (to read the profile of a login not yet stored).
 * `keepalive: true` lets the request finish after the page is left. With the
 * session's token, an access token that expired anyway (a sleeping laptop), or
 * that says the address is unverified (confirmed since, maybe on a phone), is
 * renewed once and the request sent again.
 */
export async function api(path, { method = "GET", body, idempotent = false, token, keepalive = false } = {}) {
  const own = token === undefined && session() !== null;
  const key = idempotent ? newKey() : null; // the same for the retry: it is one request
  // A file (a picture) goes as it is, with its own type; anything else as JSON.
  const raw = body instanceof Blob;
  const send = async (bearer) => {
    const headers = { Accept: "application/json" };
    if (bearer) headers.Authorization = `Bearer ${bearer}`;
    if (body !== undefined) headers["Content-Type"] = raw ? body.type : "application/json";
    if (key) headers["Idempotency-Key"] = key;
    try {
      return await fetch(path, {
        method,
        headers,
        body: body === undefined || raw ? body : JSON.stringify(body),
        keepalive,
      });
    } catch {
      throw new ApiError(0, "network", "litcomp cannot be reached. Check your connection and try again.");
    }
  };
  const bearer = own ? await renewed(() => freshToken()) : token;
  let response = await send(bearer);
  let data = await readJson(response);
  // The token is renewed and the request sent again, once, when the token is out of
  // date: expired, or saying the address is unverified when it was verified since.
  if (own && STALE_TOKEN.has(data?.error?.code)) {
    const again = await renewed(() => renew(bearer));
    if (again) {
      response = await send(again);
      data = await readJson(response);
    }
  }
  if (response.ok) return data;
  const error = toError(response.status, data, response.headers.get("Retry-After"));
  if (error.status === 401 && own && session()) signOut("Your session has ended. Please log in again.");
  if (error.code === "suspended" && own) signOutSuspended(error.message);
  throw error;
}

/** A token from `get` (a renewal); a renewal that cannot reach litcomp is a network error. */
async function renewed(get) {
  try {
    return await get();
  } catch {
    throw new ApiError(0, "network", "litcomp cannot be reached. Check your connection and try again.");
  }
}

/**
 * A suspended user's token is refused everywhere (403 `suspended`, or the socket's
 * close code 4403): sign them out and show them why on the login page, where logging
 * in again says the same.
 */
export function signOutSuspended(message) {
  signOut(sentence(message || "your account is suspended"));
  go("/login");
}

async function readJson(response) {
  const text = await response.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

function toError(status, data, retryAfter) {
  const error = data?.error;
  const wait = seconds(retryAfter);
  if (error?.code) return new ApiError(status, error.code, error.message || "", error.details, wait);
  if (status === 429) return new ApiError(status, "rate_limited", "too many requests", null, wait);
  if (status >= 500) return new ApiError(status, "unavailable", "the service is unavailable");
  return new ApiError(status, "http_error", `the request failed (HTTP ${status})`);
}

/** A sentence a person can act on, for any error the API (or the network) gives. */
export function describe(error) {
  if (!(error instanceof ApiError)) return "Something went wrong in the page. Reload and try again.";
  if (error.code === "validation_failed" && Array.isArray(error.details)) {
    return `Please check the form. ${problems(error.details).join(" ")}`;
  }
  if (error.code === "email_unverified") {
    return "Please confirm your email address first: follow the link we mailed you, or send it again from your profile.";
  }
  if (error.code === "rate_limited") return `Too many tries in a short time. Please wait ${waitWords(error.retryAfter)} and try again.`;
  if (error.code === "overloaded") return `litcomp is busy right now. Please wait ${waitWords(error.retryAfter)} and try again.`;
  if (error.status === 0) return error.message;
  if (error.status >= 500) return `litcomp is having trouble right now (${error.message}). Please try again shortly.`;
  return sentence(error.message);
}

/** One sentence per field ("Password: Too short: use at least 8 characters."). */
function problems(details) {
  const byField = new Map();
  for (const detail of details) {
    const [where, name] = String(detail.location ?? "").split(".");
    const field = ["body", "query", "path"].includes(where) ? name : where;
    if (!byField.has(field)) byField.set(field, plainWords(field, detail));
  }
  return [...byField].map(([field, words]) => {
    if (!field) return words;
    const name = field.replace(/_/g, " ");
    return `${name.charAt(0).toUpperCase()}${name.slice(1)}: ${words}`;
  });
}

/** Retry-After as seconds (a number, or an HTTP date), or null. */
function seconds(retryAfter) {
  if (!retryAfter) return null;
  const number = Number(retryAfter);
  const wait = Number.isFinite(number) ? number : (Date.parse(retryAfter) - Date.now()) / 1000;
  return Number.isFinite(wait) ? Math.max(1, Math.ceil(wait)) : null;
}

/** "12 seconds", "2 minutes", "a moment". */
function waitWords(wait) {
  if (!wait) return "a moment";
  if (wait < 90) return wait === 1 ? "1 second" : `${wait} seconds`;
  const minutes = Math.ceil(wait / 60);
  return `${minutes} minutes`;
}

/** Capitalized, with a full stop, and "end_date" read as "end date". */
function sentence(text) {
  const words = String(text || "Something went wrong").trim().replace(/\b([a-z]+)_([a-z]+)\b/g, "$1 $2");
  const capital = words.charAt(0).toUpperCase() + words.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}

function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  // randomUUID needs a secure context; plain http on a LAN address is not one.
  return [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, "0")).join("");
}
