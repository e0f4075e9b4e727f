// What every page shares: the logged-in account, the server's public
// settings, the role rules the API enforces and navigation.

import { api, clearToken, getToken } from "./api.js";

export const ROLES = ["Default", "Admin", "SuperAdmin"];
export const ROLE_LABELS = { Default: "Player", Admin: "Admin", SuperAdmin: "Super admin" };

export const session = {
  user: null,
  server: null,
  dashboard: null,
};

const listeners = [];

export function onSessionChange(listener) {
  listeners.push(listener);
}

export function setUser(user) {
  session.user = user;
  for (const listener of listeners) {
    listener(session);
  }
}

export function roleRank(role) {
  const index = ROLES.indexOf(role);
  return index < 0 ? 0 : index;
}

export function roleLabel(role) {
  return ROLE_LABELS[role] || String(role);
}

export function isAdmin(user = session.user) {
  return Boolean(user) && roleRank(user.role) >= 1;
}

export function isSuperAdmin(user = session.user) {
  return Boolean(user) && user.role === "SuperAdmin";
}

// "Permission over": the same account, or a strictly higher role.
export function hasPermissionOver(actor, target) {
  return Boolean(actor && target) &&
    (actor.id === target.id || roleRank(actor.role) > roleRank(target.role));
}

// Deleting another account needs a strictly higher role (never oneself).
export function canDelete(actor, target) {
  return Boolean(actor && target) && actor.id !== target.id &&
    roleRank(actor.role) > roleRank(target.role);
}

// Only a super admin sets roles, and never a super admin's.
export function canSetRole(actor, target) {
  return isSuperAdmin(actor) && Boolean(target) && target.role !== "SuperAdmin";
}

// Player data may be changed by admins with permission over the player.
export function canEditData(actor, target) {
  return isAdmin(actor) && hasPermissionOver(actor, target);
}

// Loads the account of the stored token; a refused token is forgotten.
export async function loadUser() {
  if (!getToken()) {
    setUser(null);
    return null;
  }
  try {
    const user = await api.self();
    setUser(user);
    return user;
  } catch (error) {
    if (error.status >= 400 && error.status < 500) {
      clearToken();
      setUser(null);
      return null;
    }
    throw error;
  }
}

export function logOut() {
  clearToken();
  setUser(null);
}

let navigator = null;

export function setNavigator(fn) {
  navigator = fn;
}

export function navigate(path, options = {}) {
  navigator(path, options);
}
