/* Gatehouse passkeys (WebAuthn) for the hosted pages; loaded only where a passkey can be used.

   A form marked data-passkey="create" or "get" carries the ceremony options the server made for it (data-options,
   bound to the form's sealed state); on submit this script runs the ceremony and posts the result in the form's
   "credential" field, with the form's own CSRF token and state. It makes no requests of its own. Elements marked
   data-passkey-reveal are shown only when the browser supports passkeys and the page is not on an IP address (the
   pages work without this script; a ceremony the user asks for on an IP address fails with the form's message). */
(function () {
  "use strict";

  function toBuffer(text) {
    var base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (base64.length % 4) {
      base64 += "=";
    }
    var binary = atob(base64);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i += 1) {
      bytes[i] = binary.charCodeAt(i);
    }
    return bytes.buffer;
  }

  function toText(buffer) {
    var bytes = new Uint8Array(buffer);
    var binary = "";
    for (var i = 0; i < bytes.length; i += 1) {
      binary += String.fromCharCode(bytes[i]);
    }
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function withBuffers(options) {
    options.challenge = toBuffer(options.challenge);
    if (options.user) {
      options.user.id = toBuffer(options.user.id);
    }
    (options.excludeCredentials || []).concat(options.allowCredentials || []).forEach(function (descriptor) {
      descriptor.id = toBuffer(descriptor.id);
    });
    return options;
  }

  function serialize(credential) {
    var response = credential.response;
    var result = {
      id: credential.id,
      rawId: toText(credential.rawId),
      type: credential.type,
      clientExtensionResults: credential.getClientExtensionResults ? credential.getClientExtensionResults() : {},
      response: { clientDataJSON: toText(response.clientDataJSON) }
    };
    if (credential.authenticatorAttachment) {
      result.authenticatorAttachment = credential.authenticatorAttachment;
    }
    if (response.attestationObject) {
      result.response.attestationObject = toText(response.attestationObject);
      if (response.getTransports) {
        result.response.transports = response.getTransports();
      }
    } else {
      result.response.authenticatorData = toText(response.authenticatorData);
      result.response.signature = toText(response.signature);
      if (response.userHandle) {
        result.response.userHandle = toText(response.userHandle);
      }
    }
    return JSON.stringify(result);
  }

  function showFailure(form) {
    var status = form.querySelector("[data-passkey-status]");
    if (status) {
      status.hidden = false;
    }
  }

  function ceremony(form) {
    var options = withBuffers(JSON.parse(form.getAttribute("data-options")));
    var pending = form.getAttribute("data-passkey") === "create"
      ? navigator.credentials.create({ publicKey: options })
      : navigator.credentials.get({ publicKey: options });
    return pending.then(function (credential) {
      form.querySelector("input[name=credential]").value = serialize(credential);
      form.submit();
    });
  }

  function start(form) {
    var button = form.querySelector("button[type=submit]");
    if (button) {
      button.disabled = true;
    }
    ceremony(form).catch(function () {
      showFailure(form);
      if (button) {
        button.disabled = false;
      }
    });
  }

  if (!window.PublicKeyCredential || !navigator.credentials) {
    return;
  }
  // Browsers refuse an IP address as the relying party ID (http://127.0.0.1:8000 locally): offer nothing there.
  var host = location.hostname;
  if (!/^[0-9.]+$/.test(host) && host.indexOf(":") < 0 && host.charAt(0) !== "[") {
    Array.prototype.forEach.call(document.querySelectorAll("[data-passkey-reveal]"), function (element) {
      element.hidden = false;
    });
  }
  Array.prototype.forEach.call(document.querySelectorAll("form[data-passkey][data-options]"), function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      start(form);
    });
    if (form.hasAttribute("data-autostart")) {
      start(form);
    }
  });
}());
