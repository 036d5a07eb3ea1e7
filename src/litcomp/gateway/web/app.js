// The litcomp web app: plain ES modules, no build step. This module wires the
// pages to their addresses, draws the header, and keeps live notifications
// running for whoever is signed in.

import { confirmEmailPage, forgotPasswordPage, resetPasswordPage } from "./account.js";
import { loginPage, signupPage } from "./auth.js";
import { editCompetitionPage, newCompetitionPage } from "./admin.js";
import { ballotPage } from "./ballot.js";
import { competitionPage, competitionsPage } from "./competitions.js";
import { h } from "./dom.js";
import { homePage } from "./home.js";
import { entryPage } from "./entry.js";
import { moderationPage } from "./moderation.js";
import { bellLink, notificationsPage, startNotifications } from "./notify.js";
import { profilePage, requireSession, userPage } from "./profile.js";
import { resultsPage } from "./results.js";
import { go, refresh, route, start } from "./router.js";
import { searchBox, searchPage } from "./search.js";
import { isAdmin, logOut as endSession, onSessionChange, session } from "./session.js";

route("/", homePage);
route("/login", loginPage);
route("/signup", signupPage);
route("/password/forgot", forgotPasswordPage);
route("/password/reset", resetPasswordPage);
route("/email/confirm", confirmEmailPage);
route("/competitions", competitionsPage);
route("/competitions/:id", competitionPage);
route("/competitions/:id/entries/:sid", entryPage);
route("/competitions/:id/results", resultsPage);
route("/competitions/:id/ballot", ballotPage);
route("/competitions/:id/edit", editCompetitionPage);
route("/admin/new", newCompetitionPage);
route("/profile", profilePage);
route("/writers/:id", userPage);
route("/moderation", moderationPage);
route("/search", searchPage);
route("/notifications", (ctx) => requireSession("/notifications") && notificationsPage(ctx));

function renderNav() {
  const me = session();
  const links = [
    h("a", { href: "/competitions" }, "Competitions"),
    isAdmin() ? h("a", { href: "/admin/new" }, "New competition") : null,
    isAdmin() ? h("a", { href: "/moderation" }, "Moderation") : null,
  ];
  const account = me
    ? [
        h("a", { href: "/profile" }, "My profile"),
        bellLink(),
        h("span", { class: "who" }, `Signed in as ${me.username}`),
        h("button", { type: "button", class: "link-button", onclick: () => logOut() }, "Log out"),
      ]
    : [h("a", { href: "/login" }, "Log in"), h("a", { href: "/signup", class: "button small" }, "Sign up")];
  document.getElementById("nav").replaceChildren(...links.filter(Boolean), h("span", { class: "spacer" }), ...account);
  markCurrent();
}

function markCurrent() {
  const path = location.pathname;
  for (const link of document.querySelectorAll("#nav a")) {
    const target = link.getAttribute("href");
    link.toggleAttribute("aria-current", target === path || (target === "/competitions" && path.startsWith("/competitions")));
    if (link.hasAttribute("aria-current")) link.setAttribute("aria-current", "page");
  }
}

function logOut() {
  endSession();
  go("/competitions");
}

onSessionChange(() => {
  renderNav();
  startNotifications();
  if (!session()) refresh({ focus: false }); // pages drop what only members see
});
window.addEventListener("routechange", markCurrent);

// The skip link jumps to the content without touching the address (the router's).
document.getElementById("skip-link").addEventListener("click", (event) => {
  event.preventDefault();
  document.getElementById("main").focus();
});

document.getElementById("nav").before(searchBox());
renderNav();
startNotifications();
start(document.getElementById("main"));
