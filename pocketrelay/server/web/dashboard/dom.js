// Building the page. Every value from the server goes into the DOM as a
// text node or an attribute value, never as HTML.

const PROPERTIES = new Set(["value", "checked", "disabled", "selected", "hidden", "required"]);

// h("p", {class: "note", onclick: fn}, "text", child, [more children])
export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) {
      continue;
    }
    if (key === "class") {
      element.className = value;
    } else if (key.startsWith("on") && typeof value === "function") {
      element.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (PROPERTIES.has(key)) {
      element[key] = value;
    } else if (value === true) {
      element.setAttribute(key, "");
    } else {
      element.setAttribute(key, String(value));
    }
  }
  append(element, children);
  return element;
}

export function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) {
      continue;
    }
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

export function replace(element, ...children) {
  element.replaceChildren();
  return append(element, children);
}

let nextId = 0;
export function uniqueId(prefix = "f") {
  nextId += 1;
  return `${prefix}-${nextId}`;
}

// A labelled input: returns {row, input}.
export function field(label, inputProps = {}, hint = null) {
  const id = uniqueId("field");
  const hintId = hint ? `${id}-hint` : null;
  const tag = inputProps.tag || "input";
  const props = { ...inputProps, id, "aria-describedby": hintId };
  delete props.tag;
  const input = h(tag, props);
  const row = h(
    "div",
    { class: "field" },
    h("label", { for: id }, label),
    input,
    hint ? h("p", { class: "hint", id: hintId }, hint) : null,
  );
  return { row, input };
}

export function select(label, options, current, props = {}) {
  const { row, input } = field(label, { ...props, tag: "select" });
  for (const [value, text] of options) {
    input.append(h("option", { value, selected: String(value) === String(current) }, text));
  }
  return { row, input };
}

// A status line for a form: errors are announced (role=alert), successes
// politely (role=status).
export function statusLine() {
  const element = h("p", { class: "status", role: "status", "aria-live": "polite" });
  return {
    element,
    clear() {
      element.className = "status";
      element.setAttribute("role", "status");
      element.textContent = "";
    },
    error(error) {
      element.className = "status error";
      element.setAttribute("role", "alert");
      element.textContent = errorText(error);
    },
    ok(message) {
      element.className = "status ok";
      element.setAttribute("role", "status");
      element.textContent = message;
    },
    busy(message = "Working…") {
      element.className = "status busy";
      element.setAttribute("role", "status");
      element.textContent = message;
    },
  };
}

export function errorText(error) {
  if (error && typeof error.message === "string" && error.message) {
    return `Error: ${error.message}`;
  }
  return "Error: something went wrong";
}

export function errorBox(error) {
  return h("p", { class: "status error", role: "alert" }, errorText(error));
}

export function loading(text = "Loading…") {
  return h("p", { class: "loading", role: "status" }, text);
}

// Runs an async action for a form, disabling its buttons meanwhile.
export async function submitting(form, status, action) {
  const buttons = [...form.querySelectorAll("button, input[type=submit]")];
  for (const button of buttons) {
    button.disabled = true;
  }
  status.busy();
  try {
    return await action();
  } catch (error) {
    status.error(error);
    return undefined;
  } finally {
    for (const button of buttons) {
      button.disabled = false;
    }
  }
}

const numberFormat = new Intl.NumberFormat();
export function formatNumber(value) {
  return typeof value === "number" && Number.isFinite(value) ? numberFormat.format(value) : "—";
}

export function formatDate(iso) {
  if (!iso) {
    return "never";
  }
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) {
    return String(iso);
  }
  return date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

export function timeElement(iso) {
  if (!iso) {
    return h("span", { class: "muted" }, "never");
  }
  return h("time", { datetime: String(iso), title: String(iso) }, formatDate(iso));
}

export function formatDuration(seconds) {
  if (typeof seconds !== "number" || !Number.isFinite(seconds) || seconds < 0) {
    return "—";
  }
  const hours = Math.floor(seconds / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  if (hours > 0) {
    return `${numberFormat.format(hours)} h ${minutes} min`;
  }
  return `${minutes} min`;
}

// Paging controls (nothing when all fits on one page). total: number of
// items; page: 0-based; onPage(n).
export function pager({ page, count, total, onPage, label }) {
  const pages = Math.max(1, Math.ceil(total / count));
  if (pages === 1 && page === 0) {
    return null;
  }
  const nav = h("nav", { class: "pager", "aria-label": label || "Pages" });
  nav.append(
    h(
      "button",
      { type: "button", disabled: page <= 0, onclick: () => onPage(page - 1) },
      "Previous",
    ),
    h("span", { "aria-live": "polite" }, `Page ${page + 1} of ${pages}`),
    h(
      "button",
      { type: "button", disabled: page + 1 >= pages, onclick: () => onPage(page + 1) },
      "Next",
    ),
  );
  return nav;
}

// A table: columns [{label, class?}], rows of cell arrays (or {cells,
// class}). props.hideCaption keeps the caption for screen readers only
// (when a heading right above says the same).
export function table(caption, columns, rows, { hideCaption = false, ...props } = {}) {
  return h(
    "div",
    { class: "table-wrap", tabindex: "0", role: "region", "aria-label": caption },
    h(
      "table",
      props,
      h("caption", { class: hideCaption ? "visually-hidden" : null }, caption),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          columns.map((column) => h("th", { scope: "col", class: column.class }, column.label)),
        ),
      ),
      h(
        "tbody",
        {},
        rows.map((row) =>
          h(
            "tr",
            { class: row.class },
            (row.cells || row).map((cell, index) =>
              index === 0 && row.header !== false
                ? h("th", { scope: "row", class: columns[index].class }, cell)
                : h("td", { class: columns[index].class }, cell),
            ),
          ),
        ),
      ),
    ),
  );
}
