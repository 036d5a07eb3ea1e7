// Sign up and log in. A token from /users/login plus the profile (for the name
// and the role) make the session.

import { api } from "./api.js";
import { alertBox, busy, field, h } from "./dom.js";
import { showProblems } from "./problems.js";
import { go } from "./router.js";
import { signIn, takeSignOutReason } from "./session.js";

export async function logIn(email, password) {
  const login = await api("/users/login", { method: "POST", body: { email, password } });
  const profile = await api("/users/profile", { token: login.token });
  signIn({
    token: login.token,
    user_id: login.user_id,
    expires_at: login.expires_at,
    refresh_token: login.refresh_token,
    refresh_expires_at: login.refresh_expires_at,
    username: profile.username,
    role: profile.role,
  });
}

function nextPage(ctx) {
  const next = ctx.query.get("next") || "";
  return next.startsWith("/") ? next : "/competitions"; // only our own pages
}

export function loginPage(ctx) {
  const email = h("input", { type: "email", name: "email", autocomplete: "email", required: true });
  const password = h("input", { type: "password", name: "password", autocomplete: "current-password", required: true });
  const problem = alertBox();
  const form = h(
    "form",
    { class: "card narrow", novalidate: true },
    problem,
    field("Email", email),
    field("Password", password),
    h("button", { type: "submit" }, "Log in"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    problem.show("");
    try {
      await busy(form, () => logIn(email.value.trim(), password.value));
      go(nextPage(ctx));
    } catch (error) {
      showProblems(form, problem, error);
      if (!form.querySelector('[aria-invalid="true"]')) password.focus(); // a wrong password
    }
  });
  problem.show(takeSignOutReason());
  ctx.view.append(
    h("h1", {}, "Log in"),
    form,
    h("p", { class: "narrow" }, h("a", { href: "/password/forgot" }, "Forgot password?")),
    h("p", { class: "narrow" }, "New here? ", h("a", { href: "/signup" }, "Create an account"), "."),
  );
}

export function signupPage(ctx) {
  const username = h("input", { name: "username", autocomplete: "username", required: true, minlength: 3, maxlength: 32 });
  const email = h("input", { type: "email", name: "email", autocomplete: "email", required: true });
  const password = h("input", { type: "password", name: "password", autocomplete: "new-password", required: true, minlength: 8 });
  const problem = alertBox();
  const form = h(
    "form",
    { class: "card narrow", novalidate: true },
    problem,
    field("Username", username, "3 to 32 letters, digits, dots, dashes or underscores."),
    field("Email", email),
    field("Password", password, "At least 8 characters."),
    h("button", { type: "submit" }, "Sign up"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    problem.show("");
    try {
      await busy(form, async () => {
        const body = { username: username.value.trim(), email: email.value.trim(), password: password.value };
        await api("/users/register", { method: "POST", body, idempotent: true });
        await logIn(body.email, body.password);
      });
      go(nextPage(ctx));
    } catch (error) {
      showProblems(form, problem, error);
    }
  });
  ctx.view.append(
    h("h1", {}, "Create an account"),
    form,
    h("p", { class: "narrow" }, "Already have one? ", h("a", { href: "/login" }, "Log in"), "."),
  );
}
