// Small progressive enhancements; every page works without them.
document.addEventListener("DOMContentLoaded", () => {
  // Selects marked data-autosubmit (language, organisation) submit their form on change.
  document.querySelectorAll("select[data-autosubmit]").forEach((select) => {
    select.addEventListener("change", () => select.form.submit());
  });
  // Small screens: the navigation folds behind a toggle.
  const toggle = document.querySelector(".nav-toggle");
  const nav = document.getElementById("site-nav");
  if (toggle && nav) {
    toggle.addEventListener("click", () => {
      const open = nav.classList.toggle("open");
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
    });
  }
  // Forms that failed validation: move focus to the error summary so it is read out first.
  const summary = document.querySelector("[data-error-summary]");
  if (summary) summary.focus();
});

// Drawing uploads (htmx): show the upload's progress, then focus any error in the new fragment.
document.addEventListener("htmx:xhr:progress", (event) => {
  const form = event.target.closest && event.target.closest("[data-upload-form]");
  const bar = form && form.querySelector("progress");
  if (!bar || !event.detail.lengthComputable) return;
  bar.hidden = false;
  bar.value = Math.round((event.detail.loaded / event.detail.total) * 100);
});
document.addEventListener("htmx:afterSwap", (event) => {
  const summary = document.querySelector("#order-files [data-error-summary]");
  if (summary) summary.focus();
});
