/**
 * The passkey buttons' script (served at /login/mfa/assets/mfa.js, after
 * @simplewebauthn/browser's bundle, which defines `SimpleWebAuthnBrowser`): asks our server for
 * options, lets the browser's WebAuthn API talk to the authenticator, sends the answer back,
 * then goes where the server says. The buttons stay hidden without JavaScript.
 */
export const MFA_SCRIPT = `(function () {
  'use strict';
  var lib = window.SimpleWebAuthnBrowser;
  if (!lib || !lib.browserSupportsWebAuthn()) return;
  function post(url, body) {
    return fetch(url, { method: 'POST', credentials: 'same-origin', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
      .then(function (r) { return r.json().then(function (j) { if (!r.ok) throw new Error(j.message || 'That did not work. Try again.'); return j; }); });
  }
  document.querySelectorAll('[data-webauthn]').forEach(function (button) {
    button.hidden = false;
    var status = document.getElementById('passkey-status');
    button.addEventListener('click', function () {
      var register = button.getAttribute('data-webauthn') === 'register';
      var csrf = button.getAttribute('data-csrf');
      button.disabled = true;
      status.textContent = 'Follow the prompt from your browser or security key.';
      post(button.getAttribute('data-options'), { _csrf: csrf })
        .then(function (o) { return register ? lib.startRegistration({ optionsJSON: o.options }) : lib.startAuthentication({ optionsJSON: o.options }); })
        .then(function (response) {
          var name = document.getElementById('passkey-name');
          return post(button.getAttribute('data-verify'), { _csrf: csrf, response: response, name: name ? name.value : undefined });
        })
        .then(function (done) { status.textContent = 'Done.'; window.location.assign(done.redirect); })
        .catch(function (e) { status.textContent = (e && e.name === 'NotAllowedError') ? 'Cancelled or timed out. Try again.' : (e && e.message) || 'That did not work. Try again.'; button.disabled = false; });
    });
  });
})();
`;
