// The game's settings strings (server-behaviour §5.2). Each value is split
// on ";" and kept whole: an edit replaces single fields and joins the rest
// back unchanged, so unknown fields, formatting and the inventory survive
// byte for byte.
//
//   Base   20;4;credits;nextPack;copies;creditsSpent;platformSpent;
//          gamesPlayed;secondsPlayed;lastLevelUp;inventoryHex
//   classN 20;4;Name;Level;Exp;Promotions
//   charN  20;4;Kit;Name;tint1;tint2;pattern;patternColor;phong;emissive;
//          skinTone;secondsPlayed;year;month;day;seconds;powers;hotkeys;
//          weapons;weaponMods;deployed;leveledUp

import { CLASS_NAMES } from "./me3.js";

export const BASE = { credits: 2, creditsSpent: 5, gamesPlayed: 7, secondsPlayed: 8, inventory: 10 };
export const CLASS = { name: 2, level: 3, exp: 4, promotions: 5 };
export const CHARACTER = { kit: 2, name: 3, secondsPlayed: 11, deployed: 20, leveledUp: 21 };

export const MAX_LEVEL = 20;
export const MAX_CREDITS = 2147483647;
export const MAX_PROMOTIONS = 1000000;

const INTEGER = /^-?\d{1,15}$/;

export function parseInteger(text) {
  return typeof text === "string" && INTEGER.test(text.trim()) ? Number(text.trim()) : null;
}

function fieldsOf(value) {
  return typeof value === "string" && value !== "" ? value.split(";") : null;
}

export function parseBase(value) {
  const fields = fieldsOf(value);
  if (!fields) {
    return null;
  }
  const inventory = fields[BASE.inventory] || "";
  return {
    fields,
    credits: parseInteger(fields[BASE.credits]),
    creditsSpent: parseInteger(fields[BASE.creditsSpent]),
    gamesPlayed: parseInteger(fields[BASE.gamesPlayed]),
    secondsPlayed: parseInteger(fields[BASE.secondsPlayed]),
    inventoryItems: Math.floor(inventory.length / 2),
  };
}

export function parseClass(value, number) {
  const fields = fieldsOf(value);
  if (!fields) {
    return null;
  }
  const exp = Number(fields[CLASS.exp]);
  return {
    fields,
    name: fields[CLASS.name] || CLASS_NAMES[number - 1] || `Class ${number}`,
    level: parseInteger(fields[CLASS.level]),
    exp: Number.isFinite(exp) && fields[CLASS.exp] !== "" ? exp : null,
    promotions: parseInteger(fields[CLASS.promotions]),
  };
}

export function parseCharacter(value) {
  const fields = fieldsOf(value);
  if (!fields) {
    return null;
  }
  const deployed = (fields[CHARACTER.deployed] || "").trim().toLowerCase();
  return {
    fields,
    kit: fields[CHARACTER.kit] || "",
    name: fields[CHARACTER.name] || "",
    secondsPlayed: parseInteger(fields[CHARACTER.secondsPlayed]),
    deployed: deployed === "true" || deployed === "1",
  };
}

// The value with field `index` set to `text`; null when the value has no
// such field (a value of another shape is never padded or reshaped).
export function withField(fields, index, text) {
  if (!fields || index >= fields.length) {
    return null;
  }
  const copy = fields.slice();
  copy[index] = String(text);
  return copy.join(";");
}

// Every known key of a player's data, decoded.
export function decodeProfile(data) {
  const classes = [];
  for (let number = 1; number <= 6; number += 1) {
    const key = `class${number}`;
    classes.push({ key, number, parsed: parseClass(data[key], number) });
  }
  const characters = Object.keys(data)
    .map((key) => /^char(\d{1,3})$/.exec(key))
    .filter(Boolean)
    .map((match) => ({ key: match[0], number: Number(match[1]) }))
    .sort((a, b) => a.number - b.number)
    .map((entry) => ({ ...entry, parsed: parseCharacter(data[entry.key]) }))
    .filter((entry) => entry.parsed);
  const promotions = classes.reduce(
    (sum, entry) => sum + ((entry.parsed && entry.parsed.promotions) || 0),
    0,
  );
  return { base: parseBase(data.Base), classes, characters, promotions };
}
