// The dashboard: shell, navigation and routing on the URL path (the
// server answers index.html for every page path).

import { api } from "./api.js";
import { errorBox, h, replace } from "./dom.js";
import { accountPage, loginPage, registerPage } from "./pages-auth.js";
import { gamesPage, leaderboardPage } from "./pages-games.js";
import { forbiddenPage, homePage, logPage, notFoundPage } from "./pages-home.js";
import { playerPage, playersPage } from "./pages-players.js";
import { profilePage } from "./pages-profile.js";
import {
  isAdmin,
  isSuperAdmin,
  loadUser,
  logOut,
  onSessionChange,
  roleLabel,
  session,
  setNavigator,
} from "./state.js";

// access: "any" (everyone), "guest" (logged out only), "user", "admin",
// "super".
const ROUTES = [
  { pattern: /^\/$/, view: homePage, access: "any" },
  { pattern: /^\/login$/, view: loginPage, access: "guest" },
  { pattern: /^\/register$/, view: registerPage, access: "guest" },
  { pattern: /^\/account$/, view: accountPage, access: "user" },
  { pattern: /^\/profile$/, view: profilePage, access: "user" },
  { pattern: /^\/players$/, view: playersPage, access: "admin" },
  { pattern: /^\/players\/(?<id>\d{1,18})$/, view: playerPage, access: "admin" },
  { pattern: /^\/players\/(?<id>\d{1,18})\/profile$/, view: profilePage, access: "admin" },
  { pattern: /^\/games$/, view: gamesPage, access: "user" },
  { pattern: /^\/leaderboard$/, redirect: "/leaderboard/n7" },
  { pattern: /^\/leaderboard\/(?<board>n7|cp)$/, view: leaderboardPage, access: "any" },
  { pattern: /^\/log$/, view: logPage, access: "super" },
];

const NAV = [
  { href: "/", label: "Home", show: () => true, match: /^\/$/ },
  { href: "/profile", label: "My profile", show: (u) => Boolean(u), match: /^\/profile$/ },
  { href: "/games", label: "Games", show: (u) => Boolean(u), match: /^\/games/ },
  { href: "/leaderboard/n7", label: "Leaderboards", show: () => true, match: /^\/leaderboard/ },
  { href: "/players", label: "Players", show: (u) => isAdmin(u), match: /^\/players/ },
  { href: "/log", label: "Server log", show: (u) => isSuperAdmin(u), match: /^\/log$/ },
];

const main = document.getElementById("main");
const navList = document.getElementById("nav-list");
const userBox = document.getElementById("user-box");
const menuButton = document.getElementById("menu-button");
const footerVersion = document.getElementById("server-version");

let leaving = [];
let firstRender = true;

function allowed(access, user) {
  switch (access) {
    case "guest":
    case "any":
      return true;
    case "user":
      return Boolean(user);
    case "admin":
      return isAdmin(user);
    case "super":
      return isSuperAdmin(user);
    default:
      return false;
  }
}

function drawNav() {
  const user = session.user;
  const path = window.location.pathname;
  replace(
    navList,
    NAV.filter((item) => item.show(user)).map((item) =>
      h("li", {}, h("a", { href: item.href, "aria-current": item.match.test(path) ? "page" : null }, item.label)),
    ),
  );
  if (user) {
    replace(
      userBox,
      h("a", { href: "/account", class: "user-name", "aria-current": path === "/account" ? "page" : null },
        user.display_name, " ", h("span", { class: "badge" }, roleLabel(user.role))),
      h("button", { type: "button", class: "link", onclick: () => { logOut(); navigate("/login"); } }, "Log out"),
    );
  } else {
    const registration = session.dashboard && session.dashboard.disable_registration
      ? null
      : h("a", { href: "/register", "aria-current": path === "/register" ? "page" : null }, "Create an account");
    replace(userBox, h("a", { href: "/login", "aria-current": path === "/login" ? "page" : null }, "Log in"), registration);
  }
}

function render() {
  for (const fn of leaving) {
    try {
      fn();
    } catch {
      // A page's clean-up must not stop the next page.
    }
  }
  leaving = [];
  const path = window.location.pathname.replace(/\/+$/, "") || "/";
  const query = new URLSearchParams(window.location.search);
  const user = session.user;
  let view = notFoundPage;
  let params = {};
  for (const route of ROUTES) {
    const match = route.pattern.exec(path);
    if (!match) {
      continue;
    }
    if (route.redirect) {
      navigate(route.redirect, { replace: true });
      return;
    }
    params = match.groups || {};
    if (route.access === "guest" && user) {
      navigate("/", { replace: true });
      return;
    }
    if (!allowed(route.access, user)) {
      if (!user) {
        navigate(`/login?next=${encodeURIComponent(path + window.location.search)}`, { replace: true });
        return;
      }
      view = forbiddenPage;
    } else {
      view = route.view;
    }
    break;
  }
  const ctx = {
    params,
    query,
    path,
    setTitle(title) {
      document.title = `${title} · Pocket Relay`;
    },
    onLeave(fn) {
      leaving.push(fn);
    },
  };
  drawNav();
  menuButton.setAttribute("aria-expanded", "false");
  let page;
  try {
    page = view(ctx);
  } catch (error) {
    page = errorBox(error);
  }
  replace(main, page);
  if (!firstRender) {
    // Move focus to the new page's heading for keyboard and screen
    // reader users.
    const heading = main.querySelector("h1");
    if (heading) {
      heading.focus({ preventScroll: true });
    }
    window.scrollTo(0, 0);
  }
  firstRender = false;
}

export function navigate(target, { replace: replaceEntry = false } = {}) {
  const url = new URL(target, window.location.origin);
  if (url.origin !== window.location.origin) {
    window.location.assign(url.href);
    return;
  }
  const next = url.pathname + url.search + url.hash;
  if (replaceEntry) {
    window.history.replaceState(null, "", next);
  } else if (next !== window.location.pathname + window.location.search + window.location.hash) {
    window.history.pushState(null, "", next);
  }
  render();
}

function linkClicked(event) {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) {
    return;
  }
  const link = event.target.closest("a[href]");
  if (!link || link.target || link.hasAttribute("download")) {
    return;
  }
  const url = new URL(link.href, window.location.href);
  if (url.origin !== window.location.origin || url.pathname.startsWith("/api/") || url.pathname.startsWith("/assets/")) {
    return;
  }
  event.preventDefault();
  navigate(url.pathname + url.search + url.hash);
}

async function start() {
  setNavigator(navigate);
  onSessionChange(drawNav);
  document.addEventListener("click", linkClicked);
  window.addEventListener("popstate", render);
  menuButton.addEventListener("click", () => {
    const open = menuButton.getAttribute("aria-expanded") === "true";
    menuButton.setAttribute("aria-expanded", open ? "false" : "true");
  });
  const [server, dashboard] = await Promise.allSettled([api.server(), api.dashboard()]);
  session.server = server.status === "fulfilled" ? server.value : null;
  session.dashboard = dashboard.status === "fulfilled" ? dashboard.value : null;
  if (session.server && session.server.version) {
    footerVersion.textContent = `Server version ${session.server.version}`;
  }
  try {
    await loadUser();
  } catch (error) {
    replace(main, h("section", { class: "narrow" }, h("h1", {}, "Cannot reach the server"), errorBox(error),
      h("p", {}, h("button", { type: "button", onclick: () => window.location.reload() }, "Try again"))));
    return;
  }
  render();
  document.documentElement.dataset.ready = "true";
}

start();
