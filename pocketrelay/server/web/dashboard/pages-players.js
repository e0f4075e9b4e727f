// The players list (search, paging) and one player's account page with
// the admin actions the API allows: details, password, role, delete.

import { api } from "./api.js";
import {
  errorBox,
  field,
  h,
  loading,
  pager,
  replace,
  select,
  statusLine,
  submitting,
  table,
  timeElement,
} from "./dom.js";
import {
  canDelete,
  canSetRole,
  hasPermissionOver,
  navigate,
  roleLabel,
  session,
} from "./state.js";

export const PAGE_SIZES = [5, 10, 20, 30, 50];

export function pageQuery(query, defaultCount = 20) {
  const page = Math.max(0, (parseInt(query.get("page"), 10) || 1) - 1);
  const count = PAGE_SIZES.includes(Number(query.get("count"))) ? Number(query.get("count")) : defaultCount;
  return { page, count };
}

export function withQuery(path, values) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(values)) {
    if (value !== undefined && value !== null && value !== "") {
      params.set(key, String(value));
    }
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

export function playersPage(ctx) {
  ctx.setTitle("Players");
  const { page, count } = pageQuery(ctx.query);
  const search = ctx.query.get("q") || "";
  const go = (values) => navigate(withQuery("/players", { q: search, page: page + 1, count, ...values }));

  const searchField = field("Name or email contains", { type: "search", name: "q", value: search, maxlength: "254" });
  const sizeField = select("Per page", PAGE_SIZES.map((n) => [n, String(n)]), count);
  const form = h(
    "form",
    { class: "toolbar", role: "search" },
    searchField.row,
    sizeField.row,
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Search")),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    go({ q: searchField.input.value.trim(), page: 1, count: sizeField.input.value });
  });
  sizeField.input.addEventListener("change", () => go({ page: 1, count: sizeField.input.value }));

  const results = h("div", { class: "results" }, loading());
  api.players({ offset: page, count, query: search || undefined }).then(
    (answer) => {
      const players = Array.isArray(answer.players) ? answer.players : [];
      const total = Number(answer.total_items) || 0;
      if (players.length === 0) {
        replace(results, h("p", { class: "card" }, search ? "No player matches this search." : "No players yet."));
        return;
      }
      replace(
        results,
        h("p", { class: "muted" }, `${total} player${total === 1 ? "" : "s"}${search ? " found" : ""}`),
        table(
          "Players",
          [{ label: "Name" }, { label: "Email" }, { label: "Role" }, { label: "Last login" }, { label: "Number", class: "num" }],
          players.map((player) => [
            h("a", { href: `/players/${player.id}` }, player.display_name),
            player.email,
            roleLabel(player.role),
            timeElement(player.last_login_at),
            String(player.id),
          ]),
          { class: "players", hideCaption: true },
        ),
        pager({ page, count, total, onPage: (n) => go({ page: n + 1 }), label: "Players pages" }),
      );
    },
    (error) => replace(results, errorBox(error)),
  );

  return h("section", {}, h("h1", { tabindex: "-1" }, "Players"), form, results);
}

export function playerPage(ctx) {
  ctx.setTitle("Player");
  const heading = h("h1", { tabindex: "-1" }, "Player");
  const body = h("div", {}, loading());

  async function load(notice = null) {
    try {
      const player = await api.player(ctx.params.id);
      replace(heading, player.display_name);
      ctx.setTitle(player.display_name);
      replace(body, ...render(player, notice));
    } catch (error) {
      replace(body, errorBox(error));
    }
  }

  function render(player, notice) {
    const me = session.user;
    const parts = [
      h(
        "dl",
        { class: "facts card" },
        h("dt", {}, "Email"), h("dd", {}, player.email),
        h("dt", {}, "Role"), h("dd", { class: "role" }, roleLabel(player.role)),
        h("dt", {}, "Last login"), h("dd", {}, timeElement(player.last_login_at)),
        h("dt", {}, "Account number"), h("dd", {}, String(player.id)),
      ),
      h("p", {}, h("a", { href: `/players/${player.id}/profile` }, "Mass Effect 3 profile"), " · ",
        h("a", { href: "/players" }, "All players")),
    ];
    if (notice) {
      parts.push(h("p", { class: "status ok", role: "status" }, notice));
    }
    const forms = [];
    if (hasPermissionOver(me, player)) {
      // One's own email and password need the current password: the account
      // page asks for it.
      if (!me || me.id !== player.id) {
        forms.push(detailsForm(player, load));
        forms.push(passwordForm(player));
      } else {
        forms.push(h("p", {}, "Change your own name, email and password on ", h("a", { href: "/account" }, "your account page"), "."));
      }
    }
    if (canSetRole(me, player)) {
      forms.push(roleForm(player, load));
    }
    if (forms.length) {
      parts.push(h("div", { class: "grid" }, forms));
    } else {
      parts.push(h("p", { class: "hint" }, "You can view this account but not change it: that needs a higher role than the player's."));
    }
    if (canDelete(me, player)) {
      parts.push(deleteForm(player));
    }
    return parts;
  }

  load();
  return h("section", {}, heading, body);
}

function detailsForm(player, reload) {
  const status = statusLine();
  const username = field("Display name", { value: player.display_name, required: true, maxlength: "99", name: "username" });
  const email = field("Email", { type: "email", value: player.email, required: true, name: "email" });
  const form = h(
    "form",
    { class: "card form", "aria-labelledby": "edit-details" },
    h("h2", { id: "edit-details" }, "Name and email"),
    username.row,
    email.row,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Save")),
    status.element,
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submitting(form, status, async () => {
      await api.setDetails(player.id, username.input.value.trim(), email.input.value.trim());
      await reload("Name and email saved.");
    });
  });
  return form;
}

function passwordForm(player) {
  const status = statusLine();
  const password = field("New password", { type: "password", autocomplete: "new-password", required: true });
  const form = h(
    "form",
    { class: "card form", "aria-labelledby": "edit-password" },
    h("h2", { id: "edit-password" }, "Password"),
    password.row,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Set the password")),
    status.element,
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submitting(form, status, async () => {
      await api.setPassword(player.id, password.input.value);
      form.reset();
      status.ok("Password set.");
    });
  });
  return form;
}

function roleForm(player, reload) {
  const status = statusLine();
  const role = select("Role", [["Default", roleLabel("Default")], ["Admin", roleLabel("Admin")]], player.role, { name: "role" });
  const form = h(
    "form",
    { class: "card form", "aria-labelledby": "edit-role" },
    h("h2", { id: "edit-role" }, "Role"),
    role.row,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Set the role")),
    status.element,
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submitting(form, status, async () => {
      await api.setRole(player.id, role.input.value);
      await reload(`Role set to ${roleLabel(role.input.value)}.`);
    });
  });
  return form;
}

function deleteForm(player) {
  const status = statusLine();
  const form = h(
    "form",
    { class: "card form danger", "aria-labelledby": "delete-player" },
    h("h2", { id: "delete-player" }, "Delete this account"),
    h("p", {}, "The account, its multiplayer progress and its leaderboard entries are removed. This cannot be undone."),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "danger" }, `Delete ${player.display_name}`)),
    status.element,
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!window.confirm(`Delete the account of ${player.display_name}?`)) {
      return;
    }
    submitting(form, status, async () => {
      await api.deletePlayer(player.id);
      navigate("/players", { replace: true });
    });
  });
  return form;
}
