// Availability calendar: paint the weekly grid with the pointer or the keyboard.
// Without this script the grid is a plain form of checkboxes; with it, painting ticks the same
// checkboxes and Save posts the form through htmx (the server re-renders the fragment).
(() => {
  const SLOTS = 48;
  const DAYS = 7;

  function clock(slot) {
    const minutes = slot * 30;
    return String(Math.floor(minutes / 60)).padStart(2, "0") + ":" + String(minutes % 60).padStart(2, "0");
  }

  function setup(form) {
    if (form.dataset.ready) return;
    form.dataset.ready = "1";
    const table = form.querySelector(".cal-grid");
    const live = document.getElementById(form.dataset.live);
    const dirty = form.querySelector("[data-dirty]");
    const dayNames = Array.from(table.querySelectorAll("thead abbr")).map((abbr) => abbr.title);
    const cells = []; // cells[day][slot] = td
    for (let day = 0; day < DAYS; day++) cells.push([]);
    table.querySelectorAll("td[data-cell]").forEach((td) => {
      const [day, slot] = td.dataset.cell.split("-").map(Number);
      cells[day][slot] = td;
      const input = td.querySelector("input");
      input.tabIndex = -1;
      td.setAttribute("role", "gridcell");
      td.setAttribute("aria-selected", "false");
    });
    table.classList.add("is-enhanced");
    table.setAttribute("role", "grid");
    table.setAttribute("tabindex", "0");
    table.setAttribute("aria-label", form.dataset.msgGrid);

    const box = (day, slot) => cells[day][slot].querySelector("input");
    const isIdle = (day, slot) => box(day, slot).checked;
    let cursor = { day: 0, slot: 36 }; // Monday 18:00, where evening idle time usually starts
    let anchor = null; // start of a Shift+arrow selection

    function announce(text) {
      if (live) live.textContent = text;
    }

    function daySummary(day) {
      const ranges = [];
      let start = null;
      for (let slot = 0; slot <= SLOTS; slot++) {
        const on = slot < SLOTS && isIdle(day, slot);
        if (on && start === null) start = slot;
        if (!on && start !== null) {
          ranges.push(clock(start) + "–" + clock(slot));
          start = null;
        }
      }
      if (!ranges.length) return form.dataset.msgDayNone.replace("{day}", dayNames[day]);
      return form.dataset.msgDay.replace("{day}", dayNames[day]).replace("{ranges}", ranges.join(", "));
    }

    function markDirty() {
      if (dirty) {
        dirty.textContent = form.dataset.msgUnsaved;
        dirty.hidden = false;
      }
    }

    function selection() {
      const from = anchor || cursor;
      return {
        day0: Math.min(from.day, cursor.day),
        day1: Math.max(from.day, cursor.day),
        slot0: Math.min(from.slot, cursor.slot),
        slot1: Math.max(from.slot, cursor.slot),
      };
    }

    function render() {
      const sel = selection();
      table.querySelectorAll("td.is-cursor, td.is-selected").forEach((td) => {
        td.classList.remove("is-cursor", "is-selected");
        td.setAttribute("aria-selected", "false");
      });
      for (let day = sel.day0; day <= sel.day1; day++) {
        for (let slot = sel.slot0; slot <= sel.slot1; slot++) {
          cells[day][slot].classList.add("is-selected");
          cells[day][slot].setAttribute("aria-selected", "true");
        }
      }
      const td = cells[cursor.day][cursor.slot];
      td.classList.add("is-cursor");
      table.setAttribute("aria-activedescendant", td.id);
    }

    function describeCursor() {
      const label = cells[cursor.day][cursor.slot].querySelector("label").textContent.trim();
      const state = isIdle(cursor.day, cursor.slot) ? form.dataset.msgIdle : form.dataset.msgNotIdle;
      announce(label + ", " + state);
    }

    function paint(day, slot, on) {
      box(day, slot).checked = on;
    }

    // Keyboard: the grid is one tab stop; arrows move, Shift+arrows extend, Space/Enter toggle.
    table.addEventListener("keydown", (event) => {
      const moves = { ArrowUp: [0, -1], ArrowDown: [0, 1], ArrowLeft: [-1, 0], ArrowRight: [1, 0] };
      if (moves[event.key]) {
        event.preventDefault();
        if (event.shiftKey && !anchor) anchor = { ...cursor };
        if (!event.shiftKey) anchor = null;
        const [dd, ds] = moves[event.key];
        cursor = {
          day: Math.min(DAYS - 1, Math.max(0, cursor.day + dd)),
          slot: Math.min(SLOTS - 1, Math.max(0, cursor.slot + ds)),
        };
        render();
        describeCursor();
      } else if (event.key === " " || event.key === "Enter") {
        event.preventDefault();
        const sel = selection();
        const on = !isIdle((anchor || cursor).day, (anchor || cursor).slot);
        for (let day = sel.day0; day <= sel.day1; day++) {
          for (let slot = sel.slot0; slot <= sel.slot1; slot++) paint(day, slot, on);
        }
        anchor = null;
        render();
        markDirty();
        const days = [];
        for (let day = sel.day0; day <= sel.day1; day++) days.push(daySummary(day));
        announce(days.join("; "));
      } else if (event.key === "Escape" && anchor) {
        anchor = null;
        render();
      }
    });
    table.addEventListener("focus", () => {
      render();
      describeCursor();
    });

    // Pointer: press on a cell to paint (or erase, if it was idle) and drag across others.
    let painting = null; // true = paint, false = erase, null = not dragging
    const touched = new Set();
    function cellOf(target) {
      const td = target.closest && target.closest("td[data-cell]");
      return td && table.contains(td) ? td.dataset.cell.split("-").map(Number) : null;
    }
    table.addEventListener("pointerdown", (event) => {
      const found = cellOf(event.target);
      if (!found || event.button !== 0) return;
      event.preventDefault();
      if (event.target.hasPointerCapture && event.target.hasPointerCapture(event.pointerId)) {
        event.target.releasePointerCapture(event.pointerId); // touch captures implicitly; let pointerover fire
      }
      const [day, slot] = found;
      painting = !isIdle(day, slot);
      touched.clear();
      touched.add(day);
      paint(day, slot, painting);
      cursor = { day, slot };
      anchor = null;
      table.focus({ preventScroll: true });
      render();
      markDirty();
    });
    table.addEventListener("pointerover", (event) => {
      if (painting === null) return;
      const found = cellOf(event.target);
      if (!found) return;
      const [day, slot] = found;
      touched.add(day);
      paint(day, slot, painting);
      cursor = { day, slot };
      render();
    });
    document.addEventListener("pointerup", () => {
      if (painting === null) return;
      painting = null;
      announce(Array.from(touched).sort().map(daySummary).join("; "));
    });
    // The labels would toggle their checkbox a second time on click: pointer events did the work.
    table.addEventListener("click", (event) => {
      if (cellOf(event.target)) event.preventDefault();
    });
  }

  function init(root) {
    (root || document).querySelectorAll("form[data-calendar]").forEach(setup);
  }

  document.addEventListener("DOMContentLoaded", () => init(document));
  // htmx replaces the form after Save; refused input (400) is swapped in too, to show the error.
  document.addEventListener("htmx:afterSwap", () => init(document));
  document.addEventListener("htmx:beforeSwap", (event) => {
    if (event.detail.xhr.status === 400 && event.detail.elt.matches && event.detail.elt.matches("form[data-calendar]")) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
})();
