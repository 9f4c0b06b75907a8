// Passkeys on the sign-in page ("Sign in with a passkey"), the second-factor step
// ("Use a passkey or security key"), /account/passkeys ("Add a passkey") and setting
// up a second factor in sign-in ("Set up a passkey"). The server's options come as JSON with binary values in base64url;
// the browser's answer goes back in a plain form post, so the page that follows is an
// ordinary navigation. Without WebAuthn (or without this script) nothing is shown.

const fromB64 = (text) => {
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/");
  const raw = atob(b64 + "===".slice((b64.length + 3) % 4));
  return Uint8Array.from(raw, (c) => c.charCodeAt(0)).buffer;
};

const toB64 = (buffer) => {
  let raw = "";
  for (const byte of new Uint8Array(buffer)) raw += String.fromCharCode(byte);
  return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
};

const status = (form, message) => {
  const box = form.querySelector("#passkey-status") || document.getElementById("passkey-status");
  if (!box) return;
  box.textContent = message;
  box.hidden = false;
};

const options = async (url, form, names) => {
  const body = new URLSearchParams();
  for (const name of names) body.append(name, form.elements[name].value);
  const response = await fetch(url, { method: "POST", body, credentials: "same-origin" });
  if (!response.ok) throw new Error("options " + response.status);
  return response.json();
};

const descriptors = (list) => (list || []).map((c) => ({ ...c, id: fromB64(c.id) }));

// Asks for an assertion with the options `url` answers for `form`'s `names`, and posts
// the form with it: the sign-in page (any passkey, no username) and the second-factor
// step (the person's own passkeys).
const assertWith = (form, button, url, names, failed) => {
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const publicKey = await options(url, form, names);
      publicKey.challenge = fromB64(publicKey.challenge);
      publicKey.allowCredentials = descriptors(publicKey.allowCredentials);
      const credential = await navigator.credentials.get({ publicKey });
      const r = credential.response;
      form.elements.credential_id.value = toB64(credential.rawId);
      form.elements.client_data_json.value = toB64(r.clientDataJSON);
      form.elements.authenticator_data.value = toB64(r.authenticatorData);
      form.elements.signature.value = toB64(r.signature);
      form.elements.user_handle.value = r.userHandle ? toB64(r.userHandle) : "";
      form.submit();
    } catch (e) {
      status(form, failed);
      button.disabled = false;
    }
  });
};

const signIn = document.getElementById("passkey-sign-in");
if (signIn && window.PublicKeyCredential) {
  signIn.hidden = false;
  const button = document.getElementById("passkey-sign-in-button");
  assertWith(signIn, button, "/login/passkey/options", ["tx", "csrf"],
    "No passkey was used. Try again, or sign in with your password.");
}

const verify = document.getElementById("passkey-verify");
if (verify && window.PublicKeyCredential) {
  const button = document.getElementById("passkey-verify-button");
  assertWith(verify, button, "/signin/verify/passkey/options", ["tx", "csrf"],
    "No passkey was used. Try again, or use another method.");
} else if (verify) {
  status(verify, "This browser cannot use passkeys. Use another method.");
  document.getElementById("passkey-verify-button").disabled = true;
}

// Creates a passkey with the options `url` answers for `form`'s `names`, and posts the
// form with it: /account/passkeys ("Add a passkey") and the sign-in step's "Set up a
// passkey".
const createWith = (form, button, url, names, failed) => {
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const publicKey = await options(url, form, names);
      publicKey.challenge = fromB64(publicKey.challenge);
      publicKey.user.id = fromB64(publicKey.user.id);
      publicKey.excludeCredentials = descriptors(publicKey.excludeCredentials);
      const credential = await navigator.credentials.create({ publicKey });
      const r = credential.response;
      form.elements.client_data_json.value = toB64(r.clientDataJSON);
      form.elements.attestation_object.value = toB64(r.attestationObject);
      form.elements.transports.value = r.getTransports ? r.getTransports().join(",") : "";
      const props = credential.getClientExtensionResults().credProps;
      form.elements.resident_key.value = props && "rk" in props ? String(props.rk) : "";
      form.submit();
    } catch (e) {
      status(form, failed);
      button.disabled = false;
    }
  });
};

const add = document.getElementById("passkey-add");
if (add && window.PublicKeyCredential) {
  createWith(add, document.getElementById("passkey-add-button"), "/account/passkeys/options",
    ["csrf"], "The passkey was not added. Try again.");
} else if (add) {
  status(add, "This browser cannot create passkeys.");
  document.getElementById("passkey-add-button").disabled = true;
}

const enroll = document.getElementById("passkey-enroll");
if (enroll && window.PublicKeyCredential) {
  createWith(enroll, document.getElementById("passkey-enroll-button"),
    "/signin/enroll/passkey/options", ["tx", "csrf"],
    "The passkey was not set up. Try again, or choose another way.");
} else if (enroll) {
  status(enroll, "This browser cannot create passkeys. Choose another way.");
  document.getElementById("passkey-enroll-button").disabled = true;
}
