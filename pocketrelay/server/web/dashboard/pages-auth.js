// Logging in, creating an account, and the account settings page.

import { api, clearToken, setToken } from "./api.js";
import { field, h, statusLine, submitting } from "./dom.js";
import { loadUser, logOut, navigate, roleLabel, session, setUser } from "./state.js";

function safeNext(query) {
  const next = query.get("next");
  // Only paths of this app, never another origin ("//host").
  return next && next.startsWith("/") && !next.startsWith("//") ? next : "/";
}

async function loggedIn(token, query) {
  setToken(token);
  await loadUser();
  navigate(safeNext(query), { replace: true });
}

export function loginPage(ctx) {
  ctx.setTitle("Log in");
  const status = statusLine();
  const email = field("Email", { type: "email", name: "email", autocomplete: "username", required: true });
  const password = field("Password", {
    type: "password",
    name: "password",
    autocomplete: "current-password",
    required: true,
  });
  const form = h(
    "form",
    { class: "card form", novalidate: false },
    email.row,
    password.row,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Log in")),
    status.element,
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submitting(form, status, async () => {
      const answer = await api.login(email.input.value.trim(), password.input.value);
      await loggedIn(answer.token, ctx.query);
    });
  });

  // Logging in with a code sent into the game (for accounts made in game).
  const codeStatus = statusLine();
  const codeEmail = field("Email of your game account", { type: "email", autocomplete: "username", required: true });
  const requestForm = h(
    "form",
    { class: "form" },
    codeEmail.row,
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Send a code to my game")),
  );
  const code = field("Code shown in the game", {
    type: "text",
    autocomplete: "one-time-code",
    inputmode: "text",
    maxlength: "5",
    minlength: "5",
    pattern: "[A-Za-z0-9]{5}",
    required: true,
    class: "code",
  }, "Five letters or digits, valid for 30 minutes.");
  const exchangeForm = h(
    "form",
    { class: "form" },
    code.row,
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Log in with the code")),
  );
  requestForm.addEventListener("submit", (event) => {
    event.preventDefault();
    submitting(requestForm, codeStatus, async () => {
      await api.requestCode(codeEmail.input.value.trim());
      codeStatus.ok("A code was sent to your game. Enter it below.");
      code.input.focus();
    });
  });
  exchangeForm.addEventListener("submit", (event) => {
    event.preventDefault();
    submitting(exchangeForm, codeStatus, async () => {
      const answer = await api.exchangeCode(code.input.value);
      await loggedIn(answer.token, ctx.query);
    });
  });

  const registration = session.dashboard && session.dashboard.disable_registration
    ? null
    : h("p", {}, "No account yet? ", h("a", { href: "/register" }, "Create an account"), ".");

  return h(
    "section",
    { class: "narrow" },
    h("h1", { tabindex: "-1" }, "Log in"),
    form,
    registration,
    h(
      "details",
      { class: "card" },
      h("summary", {}, "Log in with a code from the game"),
      h(
        "p",
        { class: "hint" },
        "While you are logged in to Mass Effect 3 on this server, a one-time code can be sent into the game.",
      ),
      requestForm,
      exchangeForm,
      codeStatus.element,
    ),
  );
}

export function registerPage(ctx) {
  ctx.setTitle("Create an account");
  if (session.dashboard && session.dashboard.disable_registration) {
    return h(
      "section",
      { class: "narrow" },
      h("h1", { tabindex: "-1" }, "Create an account"),
      h("p", { class: "card" }, "Registration is disabled on this server. ",
        h("a", { href: "/login" }, "Log in"), " with an existing account instead."),
    );
  }
  const status = statusLine();
  const username = field("Display name", { name: "username", autocomplete: "nickname", required: true, maxlength: "99" },
    "The name other players see in game.");
  const email = field("Email", { type: "email", name: "email", autocomplete: "email", required: true });
  const password = field("Password", { type: "password", autocomplete: "new-password", required: true });
  const confirm = field("Repeat the password", { type: "password", autocomplete: "new-password", required: true });
  const form = h(
    "form",
    { class: "card form" },
    username.row,
    email.row,
    password.row,
    confirm.row,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Create the account")),
    status.element,
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (password.input.value !== confirm.input.value) {
      status.error(new Error("The passwords do not match"));
      confirm.input.focus();
      return;
    }
    submitting(form, status, async () => {
      const answer = await api.create(username.input.value.trim(), email.input.value.trim(), password.input.value);
      await loggedIn(answer.token, ctx.query);
    });
  });
  return h(
    "section",
    { class: "narrow" },
    h("h1", { tabindex: "-1" }, "Create an account"),
    h("p", {}, "Use the same email and password to log in from Mass Effect 3."),
    form,
    h("p", {}, "Already registered? ", h("a", { href: "/login" }, "Log in"), "."),
  );
}

export function accountPage(ctx) {
  ctx.setTitle("My account");
  const user = session.user;

  const detailsStatus = statusLine();
  const username = field("Display name", { value: user.display_name, autocomplete: "nickname", required: true, maxlength: "99" });
  const email = field("Email", { type: "email", value: user.email, autocomplete: "email", required: true });
  // The server asks for the current password to change the email (and then
  // revokes the account's other tokens); a new display name needs none.
  const detailsPassword = field("Current password (to change the email)", { type: "password", autocomplete: "current-password", name: "current_password" });
  const details = h(
    "form",
    { class: "card form", "aria-labelledby": "details-heading" },
    h("h2", { id: "details-heading" }, "Name and email"),
    username.row,
    email.row,
    detailsPassword.row,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Save")),
    detailsStatus.element,
  );
  details.addEventListener("submit", (event) => {
    event.preventDefault();
    const newEmail = email.input.value.trim();
    const emailChanged = newEmail.toLowerCase() !== String(session.user.email).toLowerCase();
    if (emailChanged && !detailsPassword.input.value) {
      detailsStatus.error(new Error("Enter your current password to change the email"));
      detailsPassword.input.focus();
      return;
    }
    submitting(details, detailsStatus, async () => {
      const answer = await api.setOwnDetails(
        username.input.value.trim(),
        newEmail,
        emailChanged ? detailsPassword.input.value : "",
      );
      if (answer && answer.token) {
        setToken(answer.token);
      }
      detailsPassword.input.value = "";
      await loadUser();
      detailsStatus.ok(emailChanged ? "Saved. Your other logins were signed out." : "Saved.");
    });
  });

  const passwordStatus = statusLine();
  const current = field("Current password", { type: "password", autocomplete: "current-password", required: true });
  const next = field("New password", { type: "password", autocomplete: "new-password", required: true });
  const repeat = field("Repeat the new password", { type: "password", autocomplete: "new-password", required: true });
  const passwordForm = h(
    "form",
    { class: "card form", "aria-labelledby": "password-heading" },
    h("h2", { id: "password-heading" }, "Password"),
    current.row,
    next.row,
    repeat.row,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Change the password")),
    passwordStatus.element,
  );
  passwordForm.addEventListener("submit", (event) => {
    event.preventDefault();
    if (next.input.value !== repeat.input.value) {
      passwordStatus.error(new Error("The new passwords do not match"));
      repeat.input.focus();
      return;
    }
    submitting(passwordForm, passwordStatus, async () => {
      const answer = await api.setOwnPassword(current.input.value, next.input.value);
      if (answer && answer.token) {
        setToken(answer.token);
      }
      passwordForm.reset();
      passwordStatus.ok("Password changed.");
    });
  });

  const deleteStatus = statusLine();
  const deletePassword = field("Password", { type: "password", autocomplete: "current-password", required: true });
  const deleteForm = h(
    "form",
    { class: "card form danger", "aria-labelledby": "delete-heading" },
    h("h2", { id: "delete-heading" }, "Delete my account"),
    h("p", {}, "This removes your account and all your multiplayer progress from this server. It cannot be undone."),
    deletePassword.row,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "danger" }, "Delete my account")),
    deleteStatus.element,
  );
  deleteForm.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!window.confirm("Delete your account and all its progress?")) {
      return;
    }
    submitting(deleteForm, deleteStatus, async () => {
      await api.deleteSelf(deletePassword.input.value);
      clearToken();
      setUser(null);
      navigate("/login", { replace: true });
    });
  });

  return h(
    "section",
    {},
    h("h1", { tabindex: "-1" }, "My account"),
    h(
      "dl",
      { class: "facts card" },
      h("dt", {}, "Account number"),
      h("dd", {}, String(user.id)),
      h("dt", {}, "Role"),
      h("dd", {}, roleLabel(user.role)),
    ),
    h("div", { class: "grid" }, details, passwordForm),
    deleteForm,
    h(
      "p",
      {},
      h("button", { type: "button", onclick: () => { logOut(); navigate("/login"); } }, "Log out"),
      " ",
      // Revokes every token of the account (other browsers, the game's).
      h("button", {
        type: "button",
        onclick: async () => {
          try {
            await api.logoutEverywhere();
          } finally {
            logOut();
            navigate("/login");
          }
        },
      }, "Log out everywhere"),
    ),
  );
}
