// The home page, the server log (super admins) and the error pages.

import { api } from "./api.js";
import { errorBox, field, formatNumber, h, loading, replace, statusLine } from "./dom.js";
import { BOARDS } from "./pages-games.js";
import { isAdmin, isSuperAdmin, roleLabel, session } from "./state.js";

// For admins: whether the server has the game data (from the health check).
function gameDataCard() {
  const holder = h("p", { class: "muted" }, "Checking the game data…");
  api.health().then(
    (health) => {
      const data = health.game_data || { complete: false, missing: ["unknown"] };
      const missing = data.missing || [];
      const unusable = data.unusable || [];
      if (data.complete && unusable.length === 0) {
        replace(holder, "Game data: complete.");
        return;
      }
      holder.className = "";
      const parts = [];
      if (missing.length > 0) {
        parts.push(
          h("strong", {}, "Game data missing: "),
          missing.join(", "),
          ". The game may not be playable. Install it on the server with ",
          h("code", {}, "pocketrelay-admin game-data install"),
          " (see the game data documentation).",
        );
      }
      if (unusable.length > 0) {
        if (parts.length > 0) parts.push(" ");
        parts.push(
          h("strong", {}, "Game data unusable: "),
          unusable.map((u) => `${u.file} (${u.reason})`).join("; "),
          ". The game gets the built-in fallback instead. Replace it on the server with ",
          h("code", {}, "pocketrelay-admin game-data install --force"),
          " (see the game data documentation).",
        );
      }
      if (parts.length === 0) parts.push("Game data: incomplete.");
      replace(holder, ...parts);
    },
    () => replace(holder, "Game data: unknown (the health check did not answer)."),
  );
  return h("div", { class: "card", "data-game-data": "" }, holder);
}

export function homePage(ctx) {
  ctx.setTitle("Home");
  const user = session.user;
  const version = session.server && session.server.version ? session.server.version : "unknown";
  if (!user) {
    return h(
      "section",
      { class: "narrow" },
      h("h1", { tabindex: "-1" }, "Pocket Relay"),
      h("p", {}, "The community server for Mass Effect 3 multiplayer."),
      h("p", {}, h("a", { href: "/login", class: "button primary" }, "Log in"), " ",
        session.dashboard && session.dashboard.disable_registration ? null : h("a", { href: "/register", class: "button" }, "Create an account"), " ",
        h("a", { href: "/leaderboard/n7", class: "button" }, "Leaderboards")),
      h("p", { class: "muted" }, `Server version ${version}`),
    );
  }
  const rank = (board) => {
    const value = h("span", { class: "stat-value" }, "…");
    api.leaderboardEntry(board, user.id).then(
      (entry) => replace(value, `#${formatNumber(entry.rank)} (${formatNumber(entry.value)})`),
      (error) => replace(value, error.status === 404 ? "Not yet ranked" : "—"),
    );
    return h("div", { class: "stat" }, h("span", { class: "stat-label" }, BOARDS[board].title), value);
  };
  const links = [
    ["/profile", "My profile", "Credits, classes, characters and Galaxy at War."],
    ["/games", "Live games", "Who is playing where, right now."],
    ["/leaderboard/n7", "Leaderboards", "N7 rating and challenge points."],
    ["/account", "My account", "Name, email and password."],
  ];
  if (isAdmin(user)) {
    links.push(["/players", "Players", "Find, edit and manage accounts."]);
  }
  if (isSuperAdmin(user)) {
    links.push(["/log", "Server log", "Recent messages of the server."]);
  }
  return h(
    "section",
    {},
    h("h1", { tabindex: "-1" }, `Welcome, ${user.display_name}`),
    h(
      "div",
      { class: "card stats" },
      h("div", { class: "stat" }, h("span", { class: "stat-label" }, "Role"), h("span", { class: "stat-value" }, roleLabel(user.role))),
      rank("n7"),
      rank("cp"),
      h("div", { class: "stat" }, h("span", { class: "stat-label" }, "Server version"), h("span", { class: "stat-value" }, version)),
    ),
    isAdmin(user) ? gameDataCard() : null,
    h(
      "ul",
      { class: "tiles" },
      links.map(([href, title, text]) =>
        h("li", { class: "card" }, h("a", { href }, title), h("p", { class: "muted" }, text)),
      ),
    ),
  );
}

export function logPage(ctx) {
  ctx.setTitle("Server log");
  const status = statusLine();
  const output = h("pre", { class: "log", tabindex: "0", "aria-label": "Server log" });
  const holder = h("div", {}, loading());
  const filter = field("Show lines containing", { type: "search" });
  let text = "";

  const draw = () => {
    const needle = filter.input.value.toLowerCase();
    const lines = text.split("\n");
    const shown = needle ? lines.filter((line) => line.toLowerCase().includes(needle)) : lines;
    output.textContent = shown.join("\n");
    replace(holder, text.length === 0 ? h("p", { class: "card" }, "The log is empty.") : output);
    output.scrollTop = output.scrollHeight;
  };

  async function load() {
    try {
      text = await api.log();
      status.ok(`${formatNumber(text.length)} characters, ${formatNumber(text ? text.split("\n").filter(Boolean).length : 0)} lines.`);
      draw();
    } catch (error) {
      replace(holder, errorBox(error));
    }
  }

  const refresh = h("button", { type: "button", onclick: () => load() }, "Refresh");
  const clear = h("button", {
    type: "button",
    class: "danger",
    onclick: async () => {
      if (!window.confirm("Clear the server log?")) {
        return;
      }
      try {
        await api.clearLog();
        await load();
        status.ok("The log was cleared.");
      } catch (error) {
        status.error(error);
      }
    },
  }, "Clear the log");
  filter.input.addEventListener("input", draw);
  load();
  return h(
    "section",
    {},
    h("h1", { tabindex: "-1" }, "Server log"),
    h("div", { class: "toolbar" }, filter.row, h("div", { class: "actions" }, refresh, clear)),
    status.element,
    holder,
  );
}

export function notFoundPage(ctx) {
  ctx.setTitle("Not found");
  return h(
    "section",
    { class: "narrow" },
    h("h1", { tabindex: "-1" }, "Page not found"),
    h("p", {}, "There is no page here. ", h("a", { href: "/" }, "Go to the home page"), "."),
  );
}

export function forbiddenPage(ctx) {
  ctx.setTitle("Not allowed");
  return h(
    "section",
    { class: "narrow" },
    h("h1", { tabindex: "-1" }, "Not allowed"),
    h("p", {}, "Your role does not give access to this page. ", h("a", { href: "/" }, "Go to the home page"), "."),
  );
}
