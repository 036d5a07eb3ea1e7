// People: profile pictures (shown, uploaded, removed), following writers, and a
// writer's portfolio (their entries with places and likes, and their medals).

import { api, describe } from "./api.js";
import { alertBox, busy, dateTime, field, h, ordinal, plural } from "./dom.js";
import { competitionHref } from "./competitions.js";
import { session } from "./session.js";

const PICTURE_TYPES = ["image/jpeg", "image/png", "image/webp"];
const MAX_PICTURE_BYTES = 2 * 1024 * 1024;

export function userHref(id) {
  return `/writers/${encodeURIComponent(id)}`;
}

/** The profile's picture (served by litcomp itself), or its initial when it has none. */
export function picture(profile, size = 256) {
  if (!profile.profile_picture) {
    return h("span", { class: "avatar placeholder", "aria-hidden": "true" }, profile.username.slice(0, 1).toUpperCase());
  }
  const image = h("img", { class: size === 64 ? "avatar small" : "avatar", alt: `Picture of ${profile.username}` });
  // A property, never markup. The API only ever gives a path on this origin (the
  // CSP's img-src 'self' would refuse anything else); /64 is the small square.
  image.src = size === 64 ? profile.profile_picture.replace(/\/256$/, "/64") : profile.profile_picture;
  return image;
}

/**
 * Choose a picture, see it (drawn on a canvas: the CSP allows images from this
 * origin only, so not from a blob: URL), upload it; or remove the one there is.
 * `onChange(profile)` gets the profile as the API answers it.
 */
export function pictureForm(profile, onChange) {
  const input = h("input", { type: "file", name: "picture", accept: PICTURE_TYPES.join(",") });
  const preview = h("canvas", { class: "avatar preview", width: 256, height: 256, hidden: true, "aria-label": "Preview of the chosen picture", role: "img" });
  const upload = h("button", { type: "submit", disabled: true }, "Upload picture");
  const remove = h("button", { type: "button", class: "secondary", hidden: !profile.profile_picture }, "Remove picture");
  const problem = alertBox();
  const status = h("p", { class: "status", role: "status" });
  const form = h(
    "form",
    { class: "card", novalidate: true, "aria-labelledby": "picture-heading" },
    h("h2", { id: "picture-heading" }, "Your picture"),
    problem,
    field("Picture", input, "A JPEG, PNG or WebP image up to 2 MB. It is cropped to a square."),
    preview,
    h("div", { class: "actions" }, upload, remove),
    status,
  );
  const changed = (answer, message) => {
    remove.hidden = !answer.profile_picture;
    status.textContent = message;
    onChange(answer);
  };
  input.addEventListener("change", async () => {
    problem.show("");
    status.textContent = "";
    const file = input.files[0];
    upload.disabled = true;
    preview.hidden = true;
    if (!file) return;
    if (!PICTURE_TYPES.includes(file.type)) return problem.show("Choose a JPEG, PNG or WebP image.");
    if (file.size > MAX_PICTURE_BYTES) return problem.show("That image is over 2 MB. Choose a smaller one.");
    try {
      drawSquare(preview, await createImageBitmap(file));
      preview.hidden = false;
      upload.disabled = false;
    } catch {
      problem.show("That file cannot be read as an image. Choose another one.");
    }
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    problem.show("");
    const file = input.files[0];
    if (!file) return;
    try {
      const answer = await busy(form, () => api("/users/profile/picture", { method: "PUT", body: file }));
      input.value = "";
      preview.hidden = true;
      upload.disabled = true;
      changed(answer, "Your picture is uploaded.");
    } catch (error) {
      problem.show(describe(error));
    }
  });
  remove.addEventListener("click", async () => {
    problem.show("");
    try {
      changed(await busy(form, () => api("/users/profile/picture", { method: "DELETE" })), "Your picture is removed.");
    } catch (error) {
      problem.show(describe(error));
    }
  });
  return form;
}

/** The centred square of `bitmap`, as the server will crop it. */
function drawSquare(canvas, bitmap) {
  const side = Math.min(bitmap.width, bitmap.height);
  const context = canvas.getContext("2d");
  context.clearRect(0, 0, canvas.width, canvas.height);
  context.drawImage(bitmap, (bitmap.width - side) / 2, (bitmap.height - side) / 2, side, side, 0, 0, canvas.width, canvas.height);
  bitmap.close();
}

/** Follow / Unfollow a writer; `following` is where it starts. */
export function followButton(writer, following) {
  let on = following;
  const button = h("button", { type: "button", class: "secondary" });
  const status = h("span", { class: "status", role: "status" });
  const render = () => {
    button.textContent = on ? "Unfollow" : "Follow";
    button.setAttribute("aria-pressed", String(on));
    button.setAttribute("aria-label", `${on ? "Unfollow" : "Follow"} ${writer.username}`);
  };
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await api(`/users/follow/${encodeURIComponent(writer.user_id)}`, { method: on ? "DELETE" : "POST" });
      on = !on;
      status.textContent = on ? `Following ${writer.username}: you will be told of their new entries.` : `You no longer follow ${writer.username}.`;
      render();
    } catch (error) {
      status.textContent = describe(error);
    } finally {
      button.disabled = false;
    }
  });
  render();
  return h("span", { class: "follow" }, button, status);
}

/** The writers I follow (a page of them), each with a way to stop. */
export function followingList(page) {
  if (!page.items.length) return h("p", { class: "muted" }, "You follow no one yet. Follow a writer from their profile to hear of their new entries.");
  const more = page.total - page.items.length;
  return h(
    "div",
    {},
    h(
      "ul",
      { class: "plain-list following" },
      page.items.map((writer) =>
        h("li", {}, picture(writer, 64), " ", h("a", { href: userHref(writer.user_id) }, writer.username), " ", followButton(writer, true)),
      ),
    ),
    more > 0 ? h("p", { class: "muted" }, `and ${plural(more, "more writer")}`) : null,
  );
}

/** A writer's public page: picture, name (once), bio, medals, follow, entries. */
export function writerPage(profile) {
  const me = session();
  const canFollow = me && me.user_id !== profile.user_id;
  return [
    h(
      "div",
      { class: "card profile" },
      picture(profile),
      h(
        "div",
        {},
        h("p", { class: "meta" }, "Joined ", dateTime(profile.created_at)),
        profile.bio ? h("p", { class: "bio" }, profile.bio) : h("p", { class: "muted" }, "No bio yet."),
        profile.medals ? medals(profile.medals) : null,
        canFollow ? followButton(profile, profile.following) : null,
      ),
    ),
    h("section", { "aria-labelledby": "portfolio-heading" }, h("h2", { id: "portfolio-heading" }, "Entries"), portfolio(profile.entries)),
  ];
}

function medals({ first, second, third }) {
  if (!first && !second && !third) return h("p", { class: "muted medals" }, "No medals yet.");
  const counts = [
    [first, "1st", "gold"],
    [second, "2nd", "silver"],
    [third, "3rd", "bronze"],
  ].filter(([count]) => count > 0);
  return h(
    "ul",
    { class: "medals", "aria-label": "Medals" },
    counts.map(([count, place, metal]) => h("li", { class: `medal ${metal}` }, `${count} × ${place} place`)),
  );
}

function portfolio(entries) {
  // null while the competitions service cannot answer: the rest of the page still shows.
  if (entries === null) return h("p", { class: "muted" }, "Their entries cannot be shown right now. Try again in a moment.");
  if (!entries.length) return h("p", { class: "muted" }, "No entries to show yet.");
  return h(
    "ul",
    { class: "plain-list portfolio" },
    entries.map((entry) =>
      h(
        "li",
        {},
        h("a", { href: competitionHref(entry.competition_id, `/entries/${encodeURIComponent(entry.submission_id)}`) }, entry.title),
        " in ",
        h("a", { href: competitionHref(entry.competition_id) }, entry.competition_title),
        " ",
        h(
          "small",
          { class: "muted" },
          entry.place ? `${ordinal(entry.place)} place · ` : "",
          entry.likes === null ? "" : `${plural(entry.likes, "like")} · `,
          dateTime(entry.created_at),
        ),
      ),
    ),
  );
}
