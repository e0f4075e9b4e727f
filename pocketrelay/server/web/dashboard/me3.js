// Mass Effect 3 values in words: game attributes (server-behaviour §4.2),
// class order (§5.2), network details. Unknown values are shown as they
// are, marked unknown, never dropped.

export const MAPS = {
  map2: { name: "Firebase Dagger", location: "Ontarom" },
  map3: { name: "Firebase Ghost", location: "Benning" },
  map4: { name: "Firebase Giant", location: "Tuchanka" },
  map5: { name: "Firebase Reactor", location: "Cyone" },
  map7: { name: "Firebase Glacier", location: "Sanctum" },
  map8: { name: "Firebase White", location: "Noveria" },
  map9: { name: "Firebase Condor", location: "Palaven" },
  map10: { name: "Firebase Hydra", location: "Arvuna" },
  map11: { name: "Firebase Jade", location: "Sur'Kesh" },
  map13: { name: "Firebase Goddess", location: "Thessia" },
  map14: { name: "Firebase Rio", location: "Earth" },
  map15: { name: "Firebase Vancouver", location: "Earth" },
  map16: { name: "Firebase London", location: "Earth" },
  map17: { name: "Firebase Glacier (Hazard)", location: "Sanctum" },
  map18: { name: "Firebase Dagger (Hazard)", location: "Ontarom" },
  map19: { name: "Firebase Reactor (Hazard)", location: "Cyone" },
  map20: { name: "Firebase Ghost (Hazard)", location: "Benning" },
  map21: { name: "Firebase Giant (Hazard)", location: "Tuchanka" },
  map22: { name: "Firebase White (Hazard)", location: "Noveria" },
};

export const ENEMIES = {
  enemy1: "Cerberus",
  enemy2: "Geth",
  enemy3: "Reapers",
  enemy4: "Collectors",
};

export const DIFFICULTIES = {
  difficulty0: "Bronze",
  difficulty1: "Silver",
  difficulty2: "Gold",
  difficulty3: "Platinum",
};

export const PRIVACY = {
  PUBLIC: "Public",
  PRIVATE: "Private",
  FRIENDS: "Friends only",
};

// The ME3gameState attribute.
export const GAME_STATES = {
  IN_LOBBY: "In the lobby",
  IN_LOBBY_LONGTIME: "In the lobby",
  IN_GAME_STARTING: "Starting",
  IN_GAME_MIDGAME: "In a match",
  IN_GAME_FINISHING: "Finishing",
};

// class1 ... class6, in this order.
export const CLASS_NAMES = ["Adept", "Soldier", "Engineer", "Sentinel", "Infiltrator", "Vanguard"];

export const NAT_TYPES = ["Open", "Moderate", "Strict (sequential)", "Strict", "Unknown"];

// Galaxy at War readiness: every group is 5000 to 10099, 10000 = 100 %.
export const GAW_GROUPS = [
  ["group_a", "Group A"],
  ["group_b", "Group B"],
  ["group_c", "Group C"],
  ["group_d", "Group D"],
  ["group_e", "Group E"],
];

function isRandom(value) {
  return value === undefined || value === null || value === "" || value === "random";
}

export function mapName(value) {
  if (isRandom(value) || value === "map0") {
    return "Any map";
  }
  const known = MAPS[value];
  return known ? known.name : `Unknown map (${value})`;
}

export function mapLocation(value) {
  const known = MAPS[value];
  return known ? known.location : null;
}

export function enemyName(value) {
  if (isRandom(value)) {
    return "Any enemy";
  }
  return ENEMIES[value] || `Unknown enemy (${value})`;
}

export function difficultyName(value) {
  if (isRandom(value)) {
    return "Any difficulty";
  }
  return DIFFICULTIES[value] || `Unknown difficulty (${value})`;
}

export function privacyName(value) {
  if (isRandom(value)) {
    return "Public";
  }
  return PRIVACY[value] || String(value);
}

export function gameStateName(value) {
  if (isRandom(value)) {
    return null;
  }
  return GAME_STATES[value] || String(value);
}

export function natTypeName(value) {
  return typeof value === "number" && NAT_TYPES[value] ? NAT_TYPES[value] : "Unknown";
}

// "AdeptHumanMale" -> "Adept Human Male", "SoldierN7" -> "Soldier N7".
export function kitLabel(kitName) {
  if (!kitName) {
    return "Unknown kit";
  }
  return String(kitName)
    .replace(/([a-z])([A-Z0-9])/g, "$1 $2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1 $2");
}

// An IPv4 address as the API gives it: a dotted string or a u32.
export function ipv4(value) {
  if (typeof value === "number" && Number.isInteger(value) && value >= 0) {
    return [24, 16, 8, 0].map((shift) => (value >>> shift) & 255).join(".");
  }
  return value === undefined || value === null ? "?" : String(value);
}
