// Saving to a server that wants an upload token: the first 401 opens a dialog asking the
// person for it (once per save), the token is kept for this tab (sessionStorage) and sent
// as `Authorization: Bearer <token>`; a refused token is forgotten and said so.

const STORAGE_KEY = "shadernet.uploadToken";
const dialog = document.getElementById("token-dialog");
const input = document.getElementById("token-input");
const reason = document.getElementById("token-reason");

export class UploadRefused extends Error {}

function storedToken() {
  try { return sessionStorage.getItem(STORAGE_KEY); } catch (_) { return null; }  // storage off
}

function storeToken(token) {
  try {
    if (token) sessionStorage.setItem(STORAGE_KEY, token);
    else sessionStorage.removeItem(STORAGE_KEY);
  } catch (_) { /* storage off: the token lives for this save only */ }
}

// Resolves with the token typed, or null when the person cancels (button or Escape).
function askForToken(why) {
  reason.textContent = why;
  input.value = "";
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => {
      resolve(dialog.returnValue === "ok" && input.value.trim() ? input.value.trim() : null);
    }, { once: true });
    dialog.returnValue = "";
    dialog.showModal();
    input.focus();
  });
}

async function detailOf(response) {
  try { return (await response.clone().json()).detail || ""; } catch (_) { return ""; }
}

function post(url, body, token) {
  const headers = token ? { Authorization: `Bearer ${token}` } : {};
  return fetch(url, { method: "POST", body, headers });
}

// POST `body` (FormData) to `url`; the response of the last try, unless the token was
// not given or refused (UploadRefused, with what the server said).
export async function postWithToken(url, body) {
  const sent = storedToken();
  const response = await post(url, body, sent);
  if (response.status !== 401) return response;
  const detail = await detailOf(response);
  storeToken(null);
  const token = await askForToken(sent
    ? `The server refused the upload token saved in this tab${detail ? ` (${detail})` : ""}. Enter it again to save.`
    : `This server needs an upload token to save models${detail ? ` (${detail})` : ""}.`);
  if (!token) throw new UploadRefused("the server needs an upload token, and none was given.");
  const retried = await post(url, body, token);
  if (retried.status === 401) {
    const again = await detailOf(retried);
    throw new UploadRefused(`the server refused that upload token${again ? `: ${again}` : ""}. Nothing was saved.`);
  }
  if (retried.ok) storeToken(token);
  return retried;
}
