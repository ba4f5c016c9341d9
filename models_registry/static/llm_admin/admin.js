/* LLM Admin: network retries, the session-expiry warning, unsaved-form recovery,
   immediate name checks and industry settings fields. No dependencies. */
(function () {
  "use strict";

  var network = null;
  function say(message) {
    network = network || document.getElementById("llm-network");
    if (!network) { return; }
    network.textContent = message || "";
    network.hidden = !message;
  }

  /* fetch() that retries on network failure (not on HTTP errors) and says when it gives up. */
  function fetchWithRetry(url, options, attempts) {
    attempts = attempts === undefined ? 3 : attempts;
    return fetch(url, Object.assign({credentials: "same-origin"}, options || {})).then(function (response) {
      say("");
      return response;
    }, function (error) {
      if (attempts > 1) {
        say("Connection problem, retrying…");
        return new Promise(function (resolve) { setTimeout(resolve, 800); })
          .then(function () { return fetchWithRetry(url, options, attempts - 1); });
      }
      say("The server cannot be reached. Check your connection; nothing you entered is lost.");
      throw error;
    });
  }
  window.llmAdmin = {fetchWithRetry: fetchWithRetry};

  /* Session expiry: warn two minutes before the idle timeout, offer to stay signed in. */
  function watchSession() {
    var box = document.getElementById("llm-session");
    if (!box) { return; }
    var idle = parseInt(box.dataset.idleSeconds, 10) * 1000;
    var endsAt = parseInt(box.dataset.endsAt, 10) * 1000;
    var warnBefore = Math.min(120000, idle / 4);
    var lastActivity = Date.now();
    function deadline() { return Math.min(lastActivity + idle, endsAt || Infinity); }
    function tick() {
      var left = deadline() - Date.now();
      if (left <= 0) {
        saveDraft();
        box.querySelector(".llm-session-detail").textContent = "It has ended. Sign in again; your unsaved changes will be restored.";
        box.querySelector(".llm-stay").hidden = true;
        box.hidden = false;
        return;
      }
      if (left <= warnBefore) {
        var absolute = endsAt && endsAt <= lastActivity + idle;
        box.querySelector(".llm-session-detail").textContent = absolute
          ? "It reaches its maximum length in " + Math.ceil(left / 1000) + " s. Save your work."
          : "It ends in " + Math.ceil(left / 1000) + " s without activity.";
        box.querySelector(".llm-stay").hidden = absolute;
        box.hidden = false;
      } else {
        box.hidden = true;
      }
      setTimeout(tick, 1000);
    }
    box.querySelector(".llm-stay").addEventListener("click", function () {
      // A session that already ended answers with a redirect to the sign-in page, not {ok: true}.
      fetchWithRetry(box.dataset.keepaliveUrl, {method: "GET", headers: {"Accept": "application/json"}})
        .then(function (response) {
          if (!response.ok || response.redirected) { return {ok: false}; }
          return response.json().catch(function () { return {ok: false}; });
        })
        .then(function (result) {
          if (result.ok) {
            lastActivity = Date.now();
            box.hidden = true;
          } else {
            lastActivity = 0;
            endsAt = 1;
            tick();
          }
        });
    });
    tick();
  }

  /* Unsaved work: every edit form keeps a draft in this browser. If the session ends and
     the save is turned away to the sign-in page, the form comes back filled in after it. */
  var draftForm = null;
  var submitting = false;
  function draftKey(path) { return "llm-draft:" + (path || location.pathname); }
  /* A draft submitted and not turned away: the save went through, so it is not restored later. */
  function forgetSavedDrafts() {
    if (location.pathname.indexOf("/admin/login/") !== -1) { return; }
    for (var i = localStorage.length - 1; i >= 0; i--) {
      var key = localStorage.key(i);
      if (!key || key.indexOf("llm-draft:") !== 0 || key === draftKey()) { continue; }
      try {
        if (JSON.parse(localStorage.getItem(key)).submitted) { localStorage.removeItem(key); }
      } catch (e) { localStorage.removeItem(key); }
    }
  }
  function saveDraft() {
    if (!draftForm) { return; }
    var values = [];
    Array.prototype.forEach.call(draftForm.elements, function (field) {
      if (!field.name || field.type === "file" || field.type === "password" || field.name === "csrfmiddlewaretoken") { return; }
      if (field.type === "checkbox" || field.type === "radio") {
        values.push([field.name, field.value, field.checked]);
      } else if (field.tagName === "SELECT" && field.multiple) {
        values.push([field.name, Array.prototype.map.call(field.selectedOptions, function (o) { return o.value; }), null]);
      } else {
        values.push([field.name, field.value, null]);
      }
    });
    try {
      localStorage.setItem(draftKey(), JSON.stringify({savedAt: Date.now(), submitted: submitting, values: values}));
    } catch (e) { /* storage full or disabled: nothing to keep */ }
  }
  function restoreDraft(form) {
    var raw = localStorage.getItem(draftKey());
    var fromSignIn = document.referrer.indexOf("/admin/login/") !== -1;
    if (!raw) { return; }
    if (!fromSignIn || form.querySelector(".errornote")) { localStorage.removeItem(draftKey()); return; }
    var draft = JSON.parse(raw);
    if (Date.now() - draft.savedAt > 24 * 3600 * 1000) { localStorage.removeItem(draftKey()); return; }
    draft.values.forEach(function (item) {
      var fields = form.querySelectorAll('[name="' + CSS.escape(item[0]) + '"]');
      Array.prototype.forEach.call(fields, function (field) {
        if (field.type === "checkbox" || field.type === "radio") {
          if (field.value === item[1]) { field.checked = item[2]; }
        } else if (field.tagName === "SELECT" && field.multiple) {
          Array.prototype.forEach.call(field.options, function (o) { o.selected = item[1].indexOf(o.value) !== -1; });
        } else {
          field.value = item[1];
        }
      });
    });
    localStorage.removeItem(draftKey());
    var notice = document.createElement("p");
    notice.className = "llm-restored";
    notice.setAttribute("role", "status");
    notice.textContent = "Your session had ended before you saved. What you entered is restored below; nothing was saved yet. Review it and save.";
    form.parentNode.insertBefore(notice, form);
  }
  function watchForms() {
    forgetSavedDrafts();
    var form = document.querySelector("#content-main form[method=post]:not(#changelist-form)");
    if (!form || !form.querySelector("[name=csrfmiddlewaretoken]") || document.body.classList.contains("delete-confirmation")) { return; }
    if (form.querySelector("[type=password]")) { return; }  // never keep sign-in forms
    draftForm = form;
    restoreDraft(form);
    form.addEventListener("input", saveDraft);
    form.addEventListener("change", saveDraft);
    form.addEventListener("submit", function () { submitting = true; saveDraft(); });
  }

  /* The model name: "already taken" or "bad characters" as you type, before submitting. */
  function watchName() {
    var input = document.querySelector("input[data-name-check-url]");
    if (!input) { return; }
    var note = document.createElement("span");
    note.className = "llm-name-feedback";
    note.setAttribute("aria-live", "polite");
    input.insertAdjacentElement("afterend", note);
    var timer = null;
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var url = input.dataset.nameCheckUrl + "?name=" + encodeURIComponent(input.value) +
          "&id=" + encodeURIComponent(input.dataset.modelId || "");
        fetchWithRetry(url).then(function (response) { return response.json(); }).then(function (result) {
          note.textContent = result.message;
          note.className = "llm-name-feedback " + (result.ok ? "llm-good" : "llm-bad");
        }).catch(function () { /* said by fetchWithRetry */ });
      }, 250);
    });
  }

  /* Industry settings: each profile shows the setting fields of the industry it has chosen. */
  var fieldsByIndustry = null;
  function refreshProfile(profile) {
    var select = profile.querySelector("select[name$='-industry']");
    var allowed = (select && fieldsByIndustry[select.value]) || [];
    profile.querySelectorAll("[class*='field-setting__']").forEach(function (row) {
      var match = row.className.match(/field-setting__(\S+)/);
      row.hidden = !match || allowed.indexOf(match[1]) === -1;
    });
  }
  function watchIndustrySettings() {
    var data = document.getElementById("llm-industry-fields");
    if (!data) { return; }
    fieldsByIndustry = JSON.parse(data.textContent);
    document.querySelectorAll(".inline-related").forEach(refreshProfile);
    document.addEventListener("change", function (event) {
      if (event.target.matches("select[name$='-industry']")) {
        refreshProfile(event.target.closest(".inline-related"));
      }
    });
    document.addEventListener("formset:added", function (event) { refreshProfile(event.target); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    watchSession();
    watchForms();
    watchName();
    watchIndustrySettings();
  });
})();
