// mem-mcp console: progressive enhancement only; every page works without it except the import
// progress bar. Loaded from the console itself (the CSP allows no inline script).
"use strict";
(function () {
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const dialog = document.getElementById("confirm");

  // Deleting asks first, in a dialog; the server asks again (a confirmation page) when there is no script.
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (form.dataset.confirmed === "1") return;
      event.preventDefault();
      if (form.dataset.needSelection && !document.querySelector('input[name="item"][form="' + form.id + '"]:checked')) {
        alert(form.dataset.needSelection);
        return;
      }
      document.getElementById("confirm-title").textContent = form.dataset.confirm;
      dialog.returnValue = "";
      dialog.showModal();
      dialog.addEventListener("close", function onClose() {
        dialog.removeEventListener("close", onClose);
        if (dialog.returnValue !== "confirm") return;
        const confirmed = document.createElement("input");
        confirmed.type = "hidden"; confirmed.name = "confirmed"; confirmed.value = "1";
        form.appendChild(confirmed);
        form.dataset.confirmed = "1";
        form.requestSubmit();
      });
    });
  });

  const all = document.getElementById("select-all");
  if (all) {
    all.addEventListener("change", function () {
      document.querySelectorAll('input[type="checkbox"][name="item"]').forEach(function (box) { box.checked = all.checked; });
    });
  }

  // The edit form opens from its Edit button.
  const edit = document.getElementById("edit-form");
  const editButton = document.getElementById("edit-button");
  if (edit && editButton) {
    if (edit.dataset.collapsed === "1") edit.hidden = true; else document.getElementById("edit-text").focus();
    editButton.addEventListener("click", function () {
      edit.hidden = !edit.hidden;
      editButton.setAttribute("aria-expanded", String(!edit.hidden));
      if (!edit.hidden) document.getElementById("edit-text").focus();
    });
  }

  // Import: send the file as the request body and show the progress the server streams back.
  const importForm = document.getElementById("import");
  if (importForm) {
    importForm.addEventListener("submit", async function (event) {
      event.preventDefault();
      const file = document.getElementById("import-file").files[0];
      if (!file) return;
      const bar = document.getElementById("import-progress");
      const status = document.getElementById("import-status");
      const button = importForm.querySelector('button[type="submit"]');
      bar.hidden = false; bar.value = 0; status.textContent = ""; status.classList.remove("error"); button.disabled = true;
      try {
        const response = await fetch(importForm.action, {
          method: "POST", body: file, credentials: "same-origin",
          headers: { "Content-Type": "application/x-ndjson", "X-CSRF-Token": csrf },
        });
        const reader = response.body.getReader();
        const decoder = new TextDecoder();
        let buffered = "";
        for (;;) {
          const chunk = await reader.read();
          if (chunk.done) break;
          buffered += decoder.decode(chunk.value, { stream: true });
          let newline;
          while ((newline = buffered.indexOf("\n")) >= 0) {
            const event = JSON.parse(buffered.slice(0, newline));
            buffered = buffered.slice(newline + 1);
            if ("total" in event) { bar.max = Math.max(event.total, 1); bar.value = event.done; }
            if ("imported" in event) { bar.value = bar.max; status.textContent = status.dataset.done.replace("{n}", event.imported); }
            if ("error" in event) { status.textContent = event.error; status.classList.add("error"); }
          }
        }
        if (buffered.trim()) {
          const event = JSON.parse(buffered);
          if ("error" in event) { status.textContent = event.error; status.classList.add("error"); }
        }
      } catch (error) {
        status.textContent = String(error); status.classList.add("error");
      } finally {
        button.disabled = false;
      }
    });
  }
})();
