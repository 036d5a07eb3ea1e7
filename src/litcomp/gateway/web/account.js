// The account's secrets and address: forgot password (a link by mail), the pages
// that mailed links open (set a new password, confirm an address), and, on the own
// profile, the address with its verified badge, changing it, and changing the password.

import { api, describe } from "./api.js";
import { alertBox, busy, field, h } from "./dom.js";
import { showProblems } from "./problems.js";
import { renew, session } from "./session.js";

/** A form that sends `submit()` and shows what went wrong, or `done(result)`. */
function form(title, controls, label, submit, done) {
  const problem = alertBox();
  const element = h("form", { class: "card narrow", novalidate: true }, title, problem, ...controls, h("button", { type: "submit" }, label));
  element.addEventListener("submit", async (event) => {
    event.preventDefault();
    problem.show("");
    try {
      done(await busy(element, submit));
    } catch (error) {
      showProblems(element, problem, error);
    }
  });
  return element;
}

function notice(text, ...more) {
  return h("div", { class: "card narrow", role: "status" }, h("p", {}, text), ...more);
}

function newPassword(name = "new_password") {
  return h("input", { type: "password", name, autocomplete: "new-password", required: true, minlength: 8 });
}

export function forgotPasswordPage(ctx) {
  const email = h("input", { type: "email", name: "email", autocomplete: "email", required: true });
  const sent = form(
    null,
    [h("p", {}, "Enter the address of your account. We will mail you a link to choose a new password."), field("Email", email)],
    "Send the link",
    () => api("/users/password/reset", { method: "POST", body: { email: email.value.trim() } }),
    () =>
      sent.replaceWith(
        notice(
          `Check your mail. If ${email.value.trim()} belongs to an account, a link to choose a new password is on its way. It works for 30 minutes, once.`,
          h("p", {}, h("a", { href: "/login" }, "Back to log in")),
        ),
      ),
  );
  ctx.view.append(h("h1", {}, "Forgot your password?"), sent);
}

const INCOMPLETE = "This link is incomplete. Open it again from the mail, or copy the whole address.";

export function resetPasswordPage(ctx) {
  const token = ctx.query.get("token") || "";
  if (!token) {
    ctx.view.append(h("h1", {}, "Choose a new password"), h("p", { class: "alert", role: "alert" }, INCOMPLETE));
    return;
  }
  const password = newPassword();
  const done = form(
    null,
    [field("New password", password, "At least 8 characters.")],
    "Set the new password",
    () => api("/users/password/reset/confirm", { method: "POST", body: { token, new_password: password.value } }),
    () =>
      done.replaceWith(
        notice("Your password is changed, and every device signed in with the old one is signed out.", h("p", {}, h("a", { href: "/login" }, "Log in with it"))),
      ),
  );
  ctx.view.append(h("h1", {}, "Choose a new password"), done);
}

export async function confirmEmailPage(ctx) {
  ctx.view.append(h("h1", {}, "Confirm your email address"));
  const token = ctx.query.get("token") || "";
  if (!token) {
    ctx.view.append(h("p", { class: "alert", role: "alert" }, INCOMPLETE));
    return;
  }
  try {
    const confirmed = await api("/users/email/confirm", { method: "POST", body: { token } });
    const me = session();
    if (me) await renew(me.token).catch(() => null); // the token then says "verified"
    ctx.view.append(
      notice(`Thank you: ${confirmed.email} is confirmed.`, h("p", {}, h("a", { href: me ? "/profile" : "/login" }, me ? "Back to your profile" : "Log in"))),
    );
  } catch (error) {
    ctx.view.append(h("p", { class: "alert", role: "alert" }, describe(error)));
  }
}

/** The own profile's account section: address (verified or not), changing it and the password. */
export function accountSection(profile) {
  const section = h("section", { "aria-labelledby": "account-heading" }, h("h2", { id: "account-heading" }, "Account"));
  section.append(addressCard(profile), changeEmailForm(), changePasswordForm());
  return section;
}

function addressCard(profile) {
  const status = h("p", { class: "status", role: "status" });
  const badge = profile.email_verified
    ? h("span", { class: "badge-status verified" }, "Verified")
    : h("span", { class: "badge-status unverified" }, "Not verified");
  const resend = profile.email_verified
    ? null
    : h("button", {
        type: "button",
        class: "link-button",
        onclick: async (event) => {
          status.textContent = "";
          try {
            await api("/users/email/verification", { method: "POST" });
            status.textContent = `A link to confirm ${profile.email} is on its way. Check your mail.`;
            event.target.disabled = true;
          } catch (error) {
            status.textContent = describe(error);
          }
        },
      }, "Send the confirmation link again");
  return h("div", { class: "card", id: "email-status" }, h("p", {}, "Email: ", h("strong", {}, profile.email), " ", badge, " ", resend), status);
}

function changeEmailForm() {
  const email = h("input", { type: "email", name: "new_email", autocomplete: "email", required: true });
  const password = h("input", { type: "password", name: "password", autocomplete: "current-password", required: true });
  const element = form(
    h("h3", {}, "Change your email address"),
    [field("New email", email), field("Your password", password)],
    "Change email",
    () => api("/users/email", { method: "POST", body: { new_email: email.value.trim(), password: password.value } }),
    () =>
      element.replaceWith(
        notice(`Check your mail at ${email.value.trim()}: the change takes place once you follow the link in it (within an hour). Until then your address stays as it is.`),
      ),
  );
  return element;
}

function changePasswordForm() {
  const current = h("input", { type: "password", name: "current_password", autocomplete: "current-password", required: true });
  const password = newPassword();
  const element = form(
    h("h3", {}, "Change your password"),
    [field("Current password", current), field("New password", password, "At least 8 characters.")],
    "Change password",
    () => api("/users/password", { method: "POST", body: { current_password: current.value, new_password: password.value } }),
    () => element.replaceWith(notice("Your password is changed. Other devices signed in to your account are signed out.")),
  );
  return element;
}
