// modelreg console: the little JavaScript there is. Everything works
// without it but the folder upload; it only adds conveniences.
"use strict";

// A cascade delete's button stays disabled until the name is typed.
function wireTypedConfirm() {
  document.querySelectorAll("input[data-must-equal]").forEach(function (input) {
    var form = input.form;
    var button = form.querySelector("button[type=submit]");
    function check() { button.disabled = input.value !== input.dataset.mustEqual; }
    input.addEventListener("input", check);
    check();
  });
}

// Dialog pages put the keyboard focus on their first field, or else on
// Cancel: Enter on a fresh dialog never destroys anything.
function focusDialog() {
  var dialog = document.querySelector("[role=dialog]");
  if (!dialog) { return; }
  var first = dialog.querySelector("input:not([type=hidden])") || dialog.querySelector("a.button") || dialog.querySelector("button");
  if (first) { first.focus(); }
}

// errorText formats a ModelArts error answer with its code and request id.
async function errorText(resp) {
  var code = "HTTP " + resp.status, msg = resp.statusText;
  try {
    var body = await resp.json();
    code = body.error_code || code;
    msg = body.error_msg || body.error_message || msg;
  } catch (e) { /* not JSON: keep the status */ }
  return code + ": " + msg + " (request id " + (resp.headers.get("X-Request-Id") || "none") + ")";
}

// The folder upload: begin, one PUT per file with progress, commit; on a
// failure the upload is aborted and the error shown with its code.
function wireUpload() {
  var form = document.getElementById("upload-form");
  if (!form) { return; }
  var csrf = form.dataset.csrf;
  var progress = document.getElementById("u-progress");
  var status = document.getElementById("u-status");
  var errBox = document.getElementById("u-error");
  function headers(extra) {
    var h = { "X-Csrf-Token": csrf };
    for (var k in extra) { h[k] = extra[k]; }
    return h;
  }
  form.addEventListener("submit", async function (ev) {
    ev.preventDefault();
    errBox.hidden = true;
    var files = Array.from(document.getElementById("u-folder").files);
    if (files.length === 0) { return; }
    var total = files.reduce(function (n, f) { return n + f.size; }, 0) || 1;
    var done = 0, uploadID = null;
    var button = document.getElementById("upload");
    button.disabled = true;
    try {
      var resp = await fetch("/console/api/uploads", {
        method: "POST", credentials: "same-origin",
        headers: headers({ "Content-Type": "application/json" }),
        body: JSON.stringify({ model_name: form.elements.name.value, model_version: form.elements.version.value,
          model_type: form.elements.type.value }),
      });
      if (!resp.ok) { throw new Error(await errorText(resp)); }
      var up = await resp.json();
      uploadID = up.upload_id;
      for (var i = 0; i < files.length; i++) {
        var f = files[i];
        // webkitRelativePath starts with the folder's own name.
        var rel = (f.webkitRelativePath || f.name).split("/");
        if (rel.length > 1) { rel.shift(); }
        var path = rel.map(encodeURIComponent).join("/");
        status.textContent = "Sending " + rel.join("/") + " (" + (i + 1) + " of " + files.length + ")";
        var put = await fetch("/console/api/uploads/" + encodeURIComponent(uploadID) + "/files/" + path, {
          method: "PUT", credentials: "same-origin",
          headers: headers({ "Content-Type": "application/octet-stream" }), body: f,
        });
        if (!put.ok) { throw new Error(await errorText(put)); }
        done += f.size;
        progress.value = done / total;
      }
      status.textContent = "Committing…";
      var commit = await fetch("/console/api/uploads/" + encodeURIComponent(uploadID) + "/commit", {
        method: "POST", credentials: "same-origin",
        headers: headers({ "Content-Type": "application/json" }), body: "{}",
      });
      if (!commit.ok) { throw new Error(await errorText(commit)); }
      var model = await commit.json();
      progress.value = 1;
      status.textContent = "Uploaded.";
      window.location.assign("/console/models/" + encodeURIComponent(model.model_id));
    } catch (e) {
      errBox.textContent = e.message;
      errBox.hidden = false;
      status.textContent = "Upload failed.";
      if (uploadID) {
        fetch("/console/api/uploads/" + encodeURIComponent(uploadID), {
          method: "DELETE", credentials: "same-origin", headers: headers({}),
        }).catch(function () { /* the server expires abandoned uploads */ });
      }
    } finally {
      button.disabled = false;
    }
  });
}

document.addEventListener("DOMContentLoaded", function () {
  wireTypedConfirm();
  focusDialog();
  wireUpload();
});
