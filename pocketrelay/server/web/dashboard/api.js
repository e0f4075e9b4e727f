// The JSON API below /api on this origin (docs/api.md). Every call sends
// the stored token as X-Token; errors are thrown as ApiError carrying the
// plain-text body the server answered.

const TOKEN_KEY = "pocketrelay.token";
const TIMEOUT_MS = 20000;

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.name = "ApiError";
    this.status = status;
  }
}

export function getToken() {
  try {
    return window.localStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function setToken(token) {
  window.localStorage.setItem(TOKEN_KEY, token);
}

export function clearToken() {
  try {
    window.localStorage.removeItem(TOKEN_KEY);
  } catch {
    // Storage may be disabled; nothing to clear then.
  }
}

function segment(value) {
  return encodeURIComponent(String(value));
}

async function request(method, path, { body, query, text = false } = {}) {
  let url = "/api/" + path;
  if (query) {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined && value !== null && value !== "") {
        params.set(key, String(value));
      }
    }
    const encoded = params.toString();
    if (encoded) {
      url += "?" + encoded;
    }
  }
  const headers = {};
  const token = getToken();
  if (token) {
    headers["X-Token"] = token;
  }
  const init = { method, headers, cache: "no-store", credentials: "omit" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const controller = new AbortController();
  init.signal = controller.signal;
  const timer = window.setTimeout(() => controller.abort(), TIMEOUT_MS);
  let response;
  try {
    response = await fetch(url, init);
  } catch (error) {
    throw new ApiError(
      0,
      error && error.name === "AbortError"
        ? "The server did not answer in time"
        : "Cannot reach the server",
    );
  } finally {
    window.clearTimeout(timer);
  }
  const payload = await response.text();
  if (!response.ok) {
    throw new ApiError(
      response.status,
      payload.trim() || `${response.status} ${response.statusText}`.trim(),
    );
  }
  if (text) {
    return payload;
  }
  try {
    return JSON.parse(payload);
  } catch {
    throw new ApiError(response.status, "Invalid server response");
  }
}

function page({ offset = 0, count = 20, ...rest } = {}) {
  return { offset, count, ...rest };
}

export const api = {
  server: () => request("GET", "server"),
  dashboard: () => request("GET", "server/dashboard"),
  health: () => request("GET", "server/health"),

  login: (email, password) =>
    request("POST", "auth/login", { body: { email, password } }),
  create: (username, email, password) =>
    request("POST", "auth/create", { body: { username, email, password } }),
  requestCode: (email) =>
    request("POST", "auth/request-code", { body: { email }, text: true }),
  exchangeCode: (code) =>
    request("POST", "auth/exchange-code", {
      body: { login_code: code.trim().toUpperCase() },
    }),

  self: () => request("GET", "players/self"),
  // Changing the email needs the current password; the answer then carries
  // a new token: the change revokes the earlier ones.
  setOwnDetails: (username, email, currentPassword) =>
    request("PUT", "players/self/details", {
      body: currentPassword
        ? { username, email, current_password: currentPassword }
        : { username, email },
    }),
  // The answer carries a new token: the change revokes the earlier ones.
  setOwnPassword: (currentPassword, newPassword) =>
    request("PUT", "players/self/password", {
      body: { current_password: currentPassword, new_password: newPassword },
    }),
  logoutEverywhere: () => request("POST", "players/self/logout", { text: true }),
  deleteSelf: (password) =>
    request("DELETE", "players/self", { body: { password }, text: true }),

  players: (options) => request("GET", "players", { query: page(options) }),
  player: (id) => request("GET", `players/${segment(id)}`),
  deletePlayer: (id) => request("DELETE", `players/${segment(id)}`, { text: true }),
  setDetails: (id, username, email) =>
    request("PUT", `players/${segment(id)}/details`, {
      body: { username, email },
      text: true,
    }),
  setPassword: (id, password) =>
    request("PUT", `players/${segment(id)}/password`, { body: { password }, text: true }),
  setRole: (id, role) =>
    request("PUT", `players/${segment(id)}/role`, { body: { role }, text: true }),

  playerData: (id) => request("GET", `players/${segment(id)}/data`),
  putPlayerData: (id, key, value) =>
    request("PUT", `players/${segment(id)}/data/${segment(key)}`, {
      body: { value },
      text: true,
    }),
  galaxyAtWar: (id) => request("GET", `players/${segment(id)}/galaxy_at_war`),

  games: (options) => request("GET", "games", { query: page(options) }),

  leaderboard: (board, options) =>
    request("GET", `leaderboard/${segment(board)}`, { query: page(options) }),
  leaderboardEntry: (board, playerId) =>
    request("GET", `leaderboard/${segment(board)}/${segment(playerId)}`),

  log: () => request("GET", "server/log", { text: true }),
  clearLog: () => request("DELETE", "server/log", { text: true }),
};
