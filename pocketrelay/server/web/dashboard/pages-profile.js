// A player's Mass Effect 3 profile, decoded from their player data:
// credits and games from Base, the six classes, the characters and the
// Galaxy at War readiness. Admins with permission over the player can
// change credits, class levels and promotions.

import { api } from "./api.js";
import {
  errorBox,
  formatDuration,
  formatNumber,
  h,
  loading,
  replace,
  statusLine,
  submitting,
  table,
  timeElement,
  uniqueId,
} from "./dom.js";
import { CLASS_NAMES, GAW_GROUPS, kitLabel } from "./me3.js";
import {
  BASE,
  CLASS,
  MAX_CREDITS,
  MAX_LEVEL,
  MAX_PROMOTIONS,
  decodeProfile,
  parseInteger,
  withField,
} from "./playerdata.js";
import { canEditData, isAdmin, session } from "./state.js";

export function profilePage(ctx) {
  const self = ctx.params.id === undefined;
  const container = h("section", { class: "profile" });
  const heading = h("h1", { tabindex: "-1" }, self ? "My profile" : "Player profile");
  const body = h("div", {}, loading());
  container.append(heading, body);
  ctx.setTitle(self ? "My profile" : "Player profile");

  async function load(notice = null) {
    try {
      const target = self ? session.user : await api.player(ctx.params.id);
      if (!self) {
        replace(heading, `Profile of ${target.display_name}`);
        ctx.setTitle(`Profile of ${target.display_name}`);
      }
      const data = await api.playerData(target.id);
      replace(body, ...render(target, data, notice));
    } catch (error) {
      replace(body, errorBox(error));
    }
  }

  function render(target, data, notice) {
    const profile = decodeProfile(data || {});
    const editable = canEditData(session.user, target);
    const parts = [];
    if (!self) {
      parts.push(h("p", {}, h("a", { href: `/players/${target.id}` }, `Account of ${target.display_name}`)));
    }
    parts.push(summary(profile));
    parts.push(classes(profile));
    if (editable) {
      parts.push(editor(target, profile, load, notice));
    }
    parts.push(galaxyAtWar(target, profile));
    parts.push(characters(profile));
    return parts;
  }

  load();
  return container;
}

function summary(profile) {
  const base = profile.base;
  if (!base) {
    return h(
      "div",
      { class: "card" },
      h("h2", {}, "Summary"),
      h("p", {}, "No multiplayer progress yet: it appears after the first login from the game."),
    );
  }
  const stat = (label, value, id) =>
    h("div", { class: "stat" }, h("span", { class: "stat-label", id }, label), h("span", { class: "stat-value", "aria-labelledby": id }, value));
  return h(
    "div",
    { class: "card" },
    h("h2", {}, "Summary"),
    h(
      "div",
      { class: "stats" },
      stat("Credits", formatNumber(base.credits), uniqueId("stat")),
      stat("Credits spent", formatNumber(base.creditsSpent), uniqueId("stat")),
      stat("Games played", formatNumber(base.gamesPlayed), uniqueId("stat")),
      stat("Time played", formatDuration(base.secondsPlayed), uniqueId("stat")),
      stat("Promotions", formatNumber(profile.promotions), uniqueId("stat")),
    ),
  );
}

function classes(profile) {
  const rows = profile.classes.map(({ key, number, parsed }) =>
    parsed
      ? [parsed.name, formatNumber(parsed.level), formatNumber(parsed.promotions),
        parsed.exp === null ? "—" : formatNumber(Math.round(parsed.exp))]
      : { cells: [CLASS_NAMES[number - 1], "—", "—", "—"], class: `muted ${key}` },
  );
  return h(
    "div",
    { class: "card" },
    h("h2", {}, "Classes"),
    table(
      "Classes",
      [{ label: "Class" }, { label: "Level", class: "num" }, { label: "Promotions", class: "num" }, { label: "Experience", class: "num" }],
      rows,
      { class: "classes", hideCaption: true },
    ),
  );
}

function characters(profile) {
  const list = profile.characters;
  if (list.length === 0) {
    return h("div", { class: "card" }, h("h2", {}, "Characters"), h("p", {}, "No characters yet."));
  }
  const deployedOnly = h("input", { type: "checkbox", id: uniqueId("deployed"), checked: true });
  const holder = h("div");
  const draw = () => {
    const shown = list.filter((entry) => !deployedOnly.checked || entry.parsed.deployed);
    replace(
      holder,
      shown.length === 0
        ? h("p", {}, "No deployed characters.")
        : table(
          `Characters (${shown.length} of ${list.length})`,
          [{ label: "Kit" }, { label: "Name" }, { label: "Deployed" }, { label: "Time played", class: "num" }],
          shown.map(({ parsed }) => [
            kitLabel(parsed.kit),
            parsed.name || "—",
            parsed.deployed ? "Yes" : "No",
            formatDuration(parsed.secondsPlayed),
          ]),
          { class: "characters" },
        ),
    );
  };
  deployedOnly.addEventListener("change", draw);
  draw();
  return h(
    "div",
    { class: "card" },
    h("h2", {}, "Characters"),
    h("p", { class: "inline-field" }, deployedOnly, h("label", { for: deployedOnly.id }, "Only deployed characters")),
    holder,
  );
}

function galaxyAtWar(target, profile) {
  const box = h("div", { class: "card" }, h("h2", {}, "Galaxy at War"));
  const holder = h("div", {}, loading());
  box.append(holder);
  api.galaxyAtWar(target.id).then(
    (ratings) => {
      const values = GAW_GROUPS.map(([key]) => Number(ratings[key]));
      const known = values.filter((value) => Number.isFinite(value));
      const level = known.length ? Math.floor(known.reduce((a, b) => a + b, 0) / known.length) : null;
      replace(
        holder,
        h(
          "ul",
          { class: "gaw" },
          GAW_GROUPS.map(([key, label], index) => {
            const value = values[index];
            const percent = Number.isFinite(value) ? value / 100 : null;
            return h(
              "li",
              {},
              h("span", { class: "gaw-label" }, label),
              h("meter", { min: "50", max: "101", low: "60", high: "90", optimum: "101", value: percent === null ? 0 : percent, "aria-label": `${label} readiness` }),
              h("span", { class: "gaw-value" }, percent === null ? "—" : `${percent.toFixed(2)} %`),
              h("span", { class: "gaw-raw muted", "data-key": key }, formatNumber(value)),
            );
          }),
        ),
        h("p", {}, "Readiness level: ", h("strong", {}, level === null ? "—" : `${(level / 100).toFixed(2)} %`),
          ` (${formatNumber(level)})`, " · promotions counted as assets: ", formatNumber(profile.promotions)),
        h("p", { class: "hint" }, "Last changed: ", timeElement(ratings.last_modified)),
      );
    },
    (error) => replace(holder, errorBox(error)),
  );
  return box;
}

// Edit form for admins: every input names one field of one key; on save
// only the keys whose fields changed are re-encoded and sent.
function editor(target, profile, reload, notice) {
  const status = statusLine();
  if (notice) {
    status.ok(notice);
  }
  const inputs = [];
  const numberInput = (label, key, fields, index, value, min, max) => {
    const id = uniqueId("edit");
    const input = h("input", {
      id,
      type: "number",
      inputmode: "numeric",
      min: String(min),
      max: String(max),
      step: "1",
      required: true,
      value: value === null ? "" : String(value),
      disabled: value === null,
      "data-key": key,
      "data-index": String(index),
    });
    inputs.push({ input, key, fields, index, original: value, min, max, label });
    return h("div", { class: "field" }, h("label", { for: id }, label), input);
  };

  const rows = [];
  if (profile.base) {
    rows.push(h(
      "fieldset",
      { class: "class-edit" },
      h("legend", {}, "Account"),
      numberInput("Credits", "Base", profile.base.fields, BASE.credits, profile.base.credits, 0, MAX_CREDITS),
    ));
  }
  const classFields = profile.classes
    .filter((entry) => entry.parsed)
    .map(({ key, parsed }) =>
      h(
        "fieldset",
        { class: "class-edit" },
        h("legend", {}, parsed.name),
        numberInput(`${parsed.name} level`, key, parsed.fields, CLASS.level, parsed.level, 1, MAX_LEVEL),
        numberInput(`${parsed.name} promotions`, key, parsed.fields, CLASS.promotions, parsed.promotions, 0, MAX_PROMOTIONS),
      ),
    );
  if (rows.length === 0 && classFields.length === 0) {
    return h("div", { class: "card" }, h("h2", {}, "Edit"), h("p", {}, "There is no player data to edit yet."));
  }

  const form = h(
    "form",
    { class: "form editor" },
    h("div", { class: "edit-grid" }, rows, classFields),
    h("div", { class: "actions" },
      h("button", { type: "submit", class: "primary" }, "Save changes"),
      h("button", { type: "reset" }, "Undo")),
    status.element,
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    // Collect per key: the parsed fields with every changed field set.
    const changes = new Map();
    for (const item of inputs) {
      if (item.input.disabled) {
        continue;
      }
      const value = parseInteger(item.input.value);
      if (value === null || value < item.min || value > item.max) {
        status.error(new Error(`${item.label} must be a whole number from ${item.min} to ${item.max}`));
        item.input.focus();
        return;
      }
      if (value === item.original) {
        continue;
      }
      const fields = changes.get(item.key) || item.fields.slice();
      const encoded = withField(fields, item.index, value);
      if (encoded === null) {
        continue;
      }
      changes.set(item.key, encoded.split(";"));
    }
    if (changes.size === 0) {
      status.ok("Nothing changed.");
      return;
    }
    submitting(form, status, async () => {
      const keys = [...changes.keys()];
      for (const key of keys) {
        await api.putPlayerData(target.id, key, changes.get(key).join(";"));
      }
      // Redraw from what the server now holds.
      await reload(`Saved ${keys.join(", ")}.`);
    });
  });
  return h(
    "div",
    { class: "card" },
    h("h2", {}, "Edit player data"),
    h("p", { class: "hint" }, "Changes are written into the game's own data strings; everything else in them is kept as it is. The game reads them at its next login."),
    form,
  );
}
