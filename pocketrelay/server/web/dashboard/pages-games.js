// Live games and the two leaderboards.

import { api } from "./api.js";
import { errorBox, formatNumber, h, loading, pager, replace, select, table } from "./dom.js";
import {
  difficultyName,
  enemyName,
  gameStateName,
  ipv4,
  mapLocation,
  mapName,
  natTypeName,
  privacyName,
} from "./me3.js";
import { PAGE_SIZES, pageQuery, withQuery } from "./pages-players.js";
import { isAdmin, navigate, session } from "./state.js";

const REFRESH_MS = 15000;

export function gamesPage(ctx) {
  ctx.setTitle("Live games");
  const { page, count } = pageQuery(ctx.query, 20);
  const go = (values) => navigate(withQuery("/games", { page: page + 1, count, ...values }));
  const summary = h("p", { class: "muted", "aria-live": "polite" });
  const results = h("div", { class: "results" }, loading());
  const refresh = h("button", { type: "button", onclick: () => load() }, "Refresh");

  async function load() {
    try {
      const answer = await api.games({ offset: page, count });
      const games = Array.isArray(answer.games) ? answer.games : [];
      const total = Number(answer.total_items) || 0;
      replace(summary, total === 1 ? "1 game is running." : `${total} games are running.`);
      if (games.length === 0) {
        replace(results, h("p", { class: "card" }, "No games are running right now."));
        return;
      }
      replace(
        results,
        h("ul", { class: "games" }, games.map(gameCard)),
        pager({ page, count, total, onPage: (n) => go({ page: n + 1 }), label: "Games pages" }),
      );
    } catch (error) {
      replace(results, errorBox(error));
    }
  }

  load();
  const timer = window.setInterval(load, REFRESH_MS);
  ctx.onLeave(() => window.clearInterval(timer));

  return h(
    "section",
    {},
    h("h1", { tabindex: "-1" }, "Live games"),
    h("div", { class: "toolbar" }, summary, refresh),
    results,
  );
}

function gameCard(game) {
  const attributes = game.attributes && typeof game.attributes === "object" ? game.attributes : {};
  const map = attributes.ME3map;
  const location = mapLocation(map);
  const state = gameStateName(attributes.ME3gameState);
  const players = Array.isArray(game.players) ? game.players : null;
  const total = Number.isFinite(game.total_players) ? game.total_players : players ? players.length : null;
  return h(
    "li",
    { class: "card game" },
    h("h2", {}, mapName(map), location ? h("span", { class: "muted" }, ` · ${location}`) : null),
    h(
      "dl",
      { class: "game-facts" },
      h("dt", {}, "Enemy"), h("dd", { class: "enemy" }, enemyName(attributes.ME3gameEnemyType)),
      h("dt", {}, "Difficulty"), h("dd", { class: `difficulty ${String(attributes.ME3gameDifficulty || "")}` }, difficultyName(attributes.ME3gameDifficulty)),
      h("dt", {}, "Privacy"), h("dd", {}, privacyName(attributes.ME3privacy)),
      state ? [h("dt", {}, "State"), h("dd", {}, state)] : null,
      h("dt", {}, "Players"), h("dd", {}, total === null ? "—" : `${total} of 4`),
    ),
    players === null
      ? h("p", { class: "hint" }, "The player list is hidden.")
      : h(
        "ol",
        { class: "game-players", "aria-label": "Players" },
        players.map((player, index) =>
          h(
            "li",
            {},
            h("span", { class: "player-name" }, player.display_name || `Player ${player.player_id}`),
            index === 0 ? [" ", h("span", { class: "badge" }, "Host")] : null,
            isAdmin(session.user) ? network(player.net) : null,
          ),
        ),
      ),
  );
}

function network(net) {
  if (!net || !net.groups) {
    return null;
  }
  const pair = (entry) => (entry ? `${ipv4(entry.address)}:${entry.port}` : "?");
  const natt = net.qos && net.qos.natt;
  return h(
    "span",
    { class: "net muted" },
    ` external ${pair(net.groups.external)}, internal ${pair(net.groups.internal)}, NAT ${natTypeName(natt)}`,
  );
}

export const BOARDS = {
  n7: { title: "N7 rating", valueLabel: "N7 rating" },
  cp: { title: "Challenge points", valueLabel: "Challenge points" },
};

export function leaderboardPage(ctx) {
  const board = ctx.params.board;
  const info = BOARDS[board];
  ctx.setTitle(`Leaderboard: ${info.title}`);
  const { page, count } = pageQuery(ctx.query, 20);
  const go = (values) => navigate(withQuery(`/leaderboard/${board}`, { page: page + 1, count, ...values }));

  const tabs = h(
    "nav",
    { class: "tabs", "aria-label": "Leaderboards" },
    Object.entries(BOARDS).map(([key, value]) =>
      h("a", { href: `/leaderboard/${key}`, "aria-current": key === board ? "page" : null }, value.title),
    ),
  );
  const size = select("Per page", PAGE_SIZES.map((n) => [n, String(n)]), count);
  size.input.addEventListener("change", () => go({ page: 1, count: size.input.value }));
  const results = h("div", { class: "results" }, loading());
  const mine = h("p", { class: "muted" });

  api.leaderboard(board, { offset: page, count }).then(
    (answer) => {
      const entries = Array.isArray(answer.entries) ? answer.entries : [];
      const total = Number(answer.total) || 0;
      if (entries.length === 0) {
        replace(results, h("p", { class: "card" }, "Nobody is ranked yet: players appear after finishing a match."));
        return;
      }
      const me = session.user;
      replace(
        results,
        table(
          `${info.title}, ${total} ranked player${total === 1 ? "" : "s"}`,
          [{ label: "Rank", class: "num rank" }, { label: "Player" }, { label: info.valueLabel, class: "num" }],
          entries.map((entry) => ({
            cells: [formatNumber(entry.rank), entry.player_name, formatNumber(entry.value)],
            class: me && entry.player_id === me.id ? "mine" : null,
          })),
          { class: "leaderboard" },
        ),
        pager({ page, count, total, onPage: (n) => go({ page: n + 1 }), label: "Leaderboard pages" }),
      );
    },
    (error) => replace(results, errorBox(error)),
  );
  if (session.user) {
    api.leaderboardEntry(board, session.user.id).then(
      (entry) => replace(mine, `Your rank: ${formatNumber(entry.rank)} (${formatNumber(entry.value)}).`),
      (error) => replace(mine, error.status === 404 ? "You are not ranked yet." : ""),
    );
  }

  return h(
    "section",
    {},
    h("h1", { tabindex: "-1" }, "Leaderboard"),
    tabs,
    h("div", { class: "toolbar" }, mine, size.row),
    results,
  );
}
