// One entry: its text, likes, and the threaded comments with replies. The page
// follows live notices about this entry (a like, a comment) by reloading it,
// unless the reader is in the middle of writing something.

import { api, describe } from "./api.js";
import { alertBox, busy, dateTime, field, fill, h, plural, rendered, uniqueId } from "./dom.js";
import { showProblems } from "./problems.js";
import { allows, authorLink, competitionHref, statusBadge } from "./competitions.js";
import { scoreControl } from "./judging.js";
import { reportButton } from "./moderation.js";
import { onNotification } from "./notify.js";
import { here, onLeave } from "./router.js";
import { session } from "./session.js";

export async function entryPage(ctx) {
  const { id, sid } = ctx.params;
  const [competition, entry] = await Promise.all([
    api(`/competitions/${id}`),
    api(`/competitions/${id}/submissions/${sid}`),
  ]);
  const scoring = await scoreControl(competition, entry);
  const likes = h("div", { class: "likes" });
  const comments = h("section", { class: "comments", "aria-labelledby": "comments-heading" });
  ctx.view.append(
    h("p", { class: "crumbs" }, h("a", { href: competitionHref(id) }, `← ${competition.title}`), " ", statusBadge(competition.status)),
    h(
      "article",
      { class: "entry" },
      h("h1", {}, entry.title),
      h(
        "p",
        { class: "meta" },
        "by ", authorLink(entry.author, entry.is_mine), " · ", dateTime(entry.created_at),
        entry.edited_at ? [" · edited ", dateTime(entry.edited_at)] : null,
        " · ", plural(entry.word_count, "word"),
        session() && !entry.is_mine ? [" · ", reportButton(`/competitions/${id}/submissions/${sid}/report`, "this entry")] : null,
      ),
      entry.disqualified_at
        ? h("p", { class: "alert", role: "alert" }, `Disqualified by a moderator: ${entry.disqualified_reason}. It is out of the lists and the results, and its likes are gone.`)
        : null,
      h("div", { class: "prose" }, rendered(entry.content_html)),
    ),
    scoring ?? "", // none outside judged competitions (append would write "null")
    likes,
    comments,
  );
  const show = (current) => {
    renderLikes(likes, current, competition);
    renderComments(comments, current, allows(competition, "comment"));
  };
  show(entry);
  const reload = async () => show(await api(`/competitions/${id}/submissions/${sid}`));
  comments.reload = reload;
  onLeave(
    onNotification((notice) => {
      if (notice.data.submission_id === sid && !writing(comments)) reload().catch(() => {});
    }),
  );
}

/** Is there unsent text (or focus) in a comment form? Then a reload would lose it. */
function writing(section) {
  return [...section.querySelectorAll("textarea")].some((area) => area.value.trim() || area === document.activeElement);
}

// Likes --------------------------------------------------------------------

function renderLikes(container, entry, competition) {
  // null: counts are hidden until the results (anonymous, or likes are not the vote).
  const count = h("span", { class: "like-count" }, entry.likes === null ? "Likes are counted but hidden until the results." : plural(entry.likes, "like"));
  const me = session();
  const own = entry.is_mine;
  let control = null;
  if (!me) control = h("a", { href: `/login?next=${encodeURIComponent(here())}` }, "Log in to like it");
  else if (allows(competition, "like") && !own) control = likeButton(entry, count);
  else if (competition.status === "open" && competition.voting_end_date) control = h("span", { class: "muted" }, "Likes open when voting starts.");
  container.replaceChildren(count, " ", control ?? "");
}

function likeButton(entry, count) {
  let liked = entry.liked_by_me;
  let likes = entry.likes;
  const problem = h("span", { class: "status", role: "status" });
  const button = h("button", { type: "button", class: "like" });
  // A toggle: its name says what it is ("Like"), aria-pressed whether it is on, and the
  // words seen follow the state ("Liked" once pressed).
  const render = () => {
    button.replaceChildren(h("span", { "aria-hidden": "true" }, liked ? "♥ " : "♡ "), liked ? "Liked" : "Like");
    button.setAttribute("aria-pressed", String(liked));
    button.title = liked ? "You like this entry: press to take your like back" : "Like this entry";
    if (likes !== null) count.textContent = plural(likes, "like");
  };
  button.addEventListener("click", async () => {
    button.disabled = true;
    problem.textContent = "";
    try {
      const path = `/competitions/${entry.competition_id}/like/${entry.submission_id}`;
      await api(path, { method: liked ? "DELETE" : "POST" });
      if (likes !== null) likes += liked ? -1 : 1;
      liked = !liked;
      render();
    } catch (error) {
      problem.textContent = describe(error);
    } finally {
      button.disabled = false;
    }
  });
  render();
  return h("span", {}, button, problem);
}

// Comments -----------------------------------------------------------------

function renderComments(section, entry, open) {
  const total = countComments(entry.comments);
  const status = h("p", { class: "status", role: "status" });
  fill(
    section,
    h("h2", { id: "comments-heading" }, `Comments (${total})`),
    entry.comments.length ? thread(entry.comments, entry, open, section) : h("p", { class: "muted" }, "No comments yet."),
    status,
    open && session() ? commentForm(entry, null, section, "Add a comment", "Post comment") : closedNote(open),
  );
}

function closedNote(open) {
  if (!open) return h("p", { class: "muted" }, "Comments are closed.");
  const next = encodeURIComponent(here());
  return h("p", {}, h("a", { href: `/login?next=${next}` }, "Log in"), " to comment.");
}

function countComments(comments) {
  return comments.reduce((sum, c) => sum + 1 + countComments(c.replies), 0);
}

function thread(comments, entry, open, section) {
  return h("ol", { class: "thread" }, comments.map((comment) => commentItem(comment, entry, open, section)));
}

function commentItem(comment, entry, open, section) {
  // The entry's author's comments name nobody while the entry is anonymous.
  const name = comment.author ? comment.author.username ?? "unknown writer" : comment.removed === "author" ? "someone" : "the author";
  const slot = h("div", { class: "reply-slot" });
  const reply = open && session() && !comment.removed
    ? h("button", {
        type: "button",
        class: "link-button",
        "aria-expanded": "false",
        "aria-label": `Reply to ${name}`,
        onclick: (event) => toggleReply(event.currentTarget, slot, comment, entry, section, name),
      }, "Reply")
    : null;
  return h(
    "li",
    {},
    h(
      "article",
      { class: "comment", "aria-label": `Comment by ${name}`, id: `comment-${comment.comment_id}`, tabindex: "-1" },
      h("p", { class: "meta" }, commenter(comment), " · ", dateTime(comment.created_at), comment.edited_at && !comment.removed ? " · edited" : null),
      comment.removed ? removedNote(comment) : h("div", { class: "comment-text" }, rendered(comment.content_html)),
      h("div", { class: "comment-actions" }, reply, ...ownActions(comment, entry, section, open, slot),
        session() && !comment.removed && !mine(comment) ? reportButton(`/competitions/${entry.competition_id}/comments/${comment.comment_id}/report`, `the comment by ${name}`) : null),
      slot,
    ),
    comment.replies.length ? thread(comment.replies, entry, open, section) : null,
  );
}

function removedNote(comment) {
  if (comment.removed === "author") return h("p", { class: "muted removed" }, "Deleted by its author.");
  const why = comment.removed_reason ? ` Reason: ${comment.removed_reason}` : "";
  return h("p", { class: "muted removed" }, `Removed by a moderator.${why}`);
}

/** Is this comment the signed-in reader's? (An anonymous author's is not shown as theirs.) */
function mine(comment) {
  return Boolean(comment.author && comment.author.user_id === session()?.user_id);
}

/** Edit (while comments are open) and Delete, on the reader's own comments. */
function ownActions(comment, entry, section, open, slot) {
  if (!mine(comment) || comment.removed) return [];
  const path = `/competitions/${entry.competition_id}/comments/${comment.comment_id}`;
  const editButton = h("button", { type: "button", class: "link-button", onclick: () => {
    const text = h("textarea", { name: "content", rows: 3, required: true, id: uniqueId("edit") });
    text.value = comment.content;
    const problem = alertBox();
    const form = h("form", { class: "reply-form", novalidate: true }, problem, field("Your comment", text), h("button", { type: "submit" }, "Save"));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        await busy(form, () => api(path, { method: "PATCH", body: { content: text.value } }));
        await section.reload();
      } catch (error) {
        showProblems(form, problem, error);
      }
    });
    slot.replaceChildren(form);
    text.focus();
  } }, "Edit");
  const deleteButton = h("button", { type: "button", class: "link-button", onclick: () => {
    const yes = h("button", { type: "button", class: "danger", onclick: async () => {
      try {
        await api(path, { method: "DELETE" });
        await section.reload();
      } catch (error) {
        slot.replaceChildren(h("p", { class: "alert", role: "alert" }, describe(error)));
      }
    } }, "Delete it");
    const no = h("button", { type: "button", class: "secondary", onclick: () => slot.replaceChildren() }, "Keep it");
    slot.replaceChildren(h("div", { class: "confirm", role: "group", "aria-label": "Delete your comment" }, h("p", {}, "Delete your comment? Its words are gone for good."), yes, " ", no));
  } }, "Delete");
  return open ? [editButton, deleteButton] : [deleteButton];
}

function commenter(comment) {
  const mark = comment.by_entry_author ? h("span", { class: "author-mark" }, "Author") : null;
  if (!comment.author) return mark ?? h("span", { class: "anonymous" }, "deleted");
  return mark ? [authorLink(comment.author), " ", mark] : authorLink(comment.author);
}

function toggleReply(button, slot, comment, entry, section, name) {
  const opening = !slot.firstChild;
  button.setAttribute("aria-expanded", String(opening));
  if (!opening) {
    slot.replaceChildren();
    button.focus();
    return;
  }
  const form = commentForm(entry, comment.comment_id, section, `Your reply to ${name}`, "Post reply");
  form.addEventListener("keydown", (event) => {
    if (event.key === "Escape") toggleReply(button, slot, comment, entry, section, name); // close it
  });
  slot.replaceChildren(form);
  form.querySelector("textarea").focus();
}

function commentForm(entry, parentId, section, label, action) {
  const text = h("textarea", { name: "content", rows: parentId ? 3 : 4, required: true, id: uniqueId("comment") });
  const problem = alertBox();
  const form = h("form", { class: parentId ? "reply-form" : "comment-form", novalidate: true }, problem, field(label, text), h("button", { type: "submit" }, action));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    problem.show("");
    try {
      const body = parentId ? { content: text.value, parent_id: parentId } : { content: text.value };
      const path = `/competitions/${entry.competition_id}/comment/${entry.submission_id}`;
      const posted = await busy(form, () => api(path, { method: "POST", body, idempotent: true }));
      text.value = "";
      await section.reload();
      section.querySelector(".status").textContent = parentId ? "Your reply is posted." : "Your comment is posted.";
      document.getElementById(`comment-${posted.comment_id}`)?.focus(); // the reader is where their words are
    } catch (error) {
      showProblems(form, problem, error);
    }
  });
  return form;
}
