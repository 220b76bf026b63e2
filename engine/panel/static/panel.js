"use strict";
// The panel's behaviour: live pages (server-sent events, resync after a lost connection), the
// board's moves (buttons and drag and drop), the chime for new orders. Every page also works
// without this file: the forms post and the server answers with a page.
(() => {
  const csrf = () => document.querySelector('meta[name="csrf"]').content;

  // ------------------------------------------------------------------ posting forms

  async function post(form, extra) {
    const body = new URLSearchParams(new FormData(form));
    for (const [key, value] of Object.entries(extra || {})) body.set(key, value);
    let response;
    try {
      response = await fetch(form.action, {
        method: "POST",
        body,
        headers: { "X-CSRF-Token": csrf(), Accept: "application/json", "X-Panel-Script": "1" },
        credentials: "same-origin",
      });
    } catch (error) {
      toast("Sin conexión con el servidor: no se hizo el cambio. Intenta otra vez.");
      return null;
    }
    if (response.status === 401) { window.location.href = "/panel/entrar"; return null; }
    const data = await response.json().catch(() => ({}));
    if (!response.ok) { toast(data.error || "No se pudo hacer el cambio."); return null; }
    return data;
  }

  document.addEventListener("submit", async (event) => {
    const form = event.target;
    if (!form.matches("form[data-js]")) return;
    event.preventDefault();
    const button = event.submitter;
    if (button && button.dataset.confirm && !window.confirm(button.dataset.confirm)) return;
    const extra = button && button.name ? { [button.name]: button.value } : {};
    form.classList.add("busy");
    try {
      const data = await post(form, extra);
      if (data) {
        if (data.notice) toast(data.notice);
        if (form.dataset.reset !== undefined) form.reset();
        await refreshAll();
      }
    } finally {
      form.classList.remove("busy");
    }
  });

  // ------------------------------------------------------------------ live regions

  const known = new Set();
  let firstBoard = true;

  async function refresh(region) {
    let response;
    try {
      response = await fetch(region.dataset.src, {
        credentials: "same-origin", headers: { Accept: "text/html", "X-Panel-Script": "1" },
      });
    } catch (error) {
      return; // the server is away: the live feed resyncs when it is back
    }
    if (response.status === 401) { window.location.href = "/panel/entrar"; return; }
    if (!response.ok) return;
    const html = await response.text().catch(() => null);
    if (html === null) return;
    const focused = document.activeElement;
    const keep = focused && region.contains(focused) && focused.id ? [focused.id, focused.value] : null;
    region.innerHTML = html;
    if (keep) {
      const again = document.getElementById(keep[0]);
      if (again) { again.value = keep[1]; again.focus(); }
    }
    if (region.id === "board") noticeNewOrders(region);
    region.dispatchEvent(new CustomEvent("panel:refreshed", { bubbles: true }));
  }

  async function refreshAll() {
    await Promise.all([...document.querySelectorAll("[data-live]")].map(refresh));
  }

  function noticeNewOrders(region) {
    const columns = region.querySelector(".columns");
    if (!columns) return;
    const numbers = (columns.dataset.numbers || "").split(",").filter(Boolean);
    const fresh = numbers.filter((n) => !known.has(n));
    numbers.forEach((n) => known.add(n));
    if (firstBoard) { firstBoard = false; return; }
    if (fresh.length === 0) return;
    for (const number of fresh) {
      const card = document.getElementById("pedido-" + number);
      if (card) card.classList.add("fresh");
    }
    toast("🛎️ Pedido nuevo " + fresh.map((n) => "#" + n).join(", "));
    chime();
  }

  // ------------------------------------------------------------------ sound

  function soundWanted() { return window.localStorage.getItem("panel-sound") !== "off"; }

  function showSound(on) {
    const button = document.getElementById("sound");
    if (!button) return;
    button.setAttribute("aria-pressed", on ? "true" : "false");
    button.textContent = on ? "🔔 Sonido activado" : "🔕 Activar sonido";
  }

  function chime() {
    const audio = document.getElementById("chime");
    if (!audio || !soundWanted()) return;
    audio.currentTime = 0;
    audio.play().then(() => showSound(true), () => showSound(false)); // blocked until a tap
  }

  function soundButton() {
    const button = document.getElementById("sound");
    if (!button) return;
    // Browsers play sounds only after a tap on the page, unless they say they allow it.
    const policy = navigator.getAutoplayPolicy ? navigator.getAutoplayPolicy("mediaelement") : "disallowed";
    showSound(soundWanted() && policy === "allowed");
    button.addEventListener("click", () => {
      const on = button.getAttribute("aria-pressed") !== "true";
      window.localStorage.setItem("panel-sound", on ? "on" : "off");
      showSound(on);
      if (on) chime(); // this tap lets the browser play sounds from now on
    });
  }

  // Keep a kitchen tablet's screen on while the board is open (where the browser allows it).
  function keepAwake() {
    if (!navigator.wakeLock || !document.getElementById("board")) return;
    const ask = () => navigator.wakeLock.request("screen").catch(() => {});
    ask();
    document.addEventListener("visibilitychange", () => { if (document.visibilityState === "visible") ask(); });
  }

  // ------------------------------------------------------------------ toast

  let toastTimer = null;
  function toast(text) {
    const box = document.getElementById("toast");
    if (!box) return;
    box.textContent = text;
    box.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { box.hidden = true; }, 8000);
  }

  // ------------------------------------------------------------------ drag and drop on the board

  function dragAndDrop() {
    const board = document.getElementById("board");
    if (!board) return;
    board.addEventListener("dragstart", (event) => {
      const card = event.target.closest && event.target.closest(".card");
      if (!card) return;
      event.dataTransfer.setData("text/plain", card.dataset.number);
      event.dataTransfer.effectAllowed = "move";
    });
    board.addEventListener("dragover", (event) => {
      const column = event.target.closest && event.target.closest(".column");
      if (column) { event.preventDefault(); column.classList.add("over"); }
    });
    board.addEventListener("dragleave", (event) => {
      const column = event.target.closest && event.target.closest(".column");
      if (column) column.classList.remove("over");
    });
    board.addEventListener("drop", async (event) => {
      const column = event.target.closest && event.target.closest(".column");
      if (!column) return;
      event.preventDefault();
      column.classList.remove("over");
      const number = event.dataTransfer.getData("text/plain");
      const card = document.getElementById("pedido-" + number);
      if (!card || card.dataset.status === column.dataset.status) return;
      const form = card.querySelector("form.move");
      if (!form) return;
      form.action = "/panel/pedidos/" + encodeURIComponent(number) + "/estado";
      if (await post(form, { status: column.dataset.status })) await refreshAll();
    });
  }

  // ------------------------------------------------------------------ the live feed

  function live() {
    if (!document.querySelector("[data-live]")) return;
    const light = document.getElementById("live");
    if (light) light.hidden = false;
    const show = (state, text) => {
      if (!light) return;
      light.dataset.state = state;
      light.querySelector(".live-text").textContent = text;
    };
    let version = null;
    let source = null;
    const connect = () => {
      source = new EventSource("/panel/eventos");
      source.addEventListener("open", () => show("on", "en vivo"));
      source.addEventListener("cambio", async (event) => {
        // The first event after (re)connecting is the state now: resync if anything changed.
        if (event.data !== version) {
          version = event.data;
          await refreshAll();
        }
        show("on", "en vivo");
      });
      source.addEventListener("error", () => {
        show("off", "reconectando…");
        if (source.readyState === EventSource.CLOSED) {
          // Refused (an expired sign-in answers 401): a refresh finds out and goes to sign in.
          source.close();
          refreshAll().finally(() => setTimeout(connect, 3000));
        }
      });
    };
    connect();
  }

  // The preview's buttons send their own form: it takes the date and time chosen meanwhile.
  const previewTaps = () => {
    const taps = document.getElementById("preview-taps");
    if (!taps) return;
    taps.addEventListener("submit", () => {
      for (const [name, id] of [["fecha", "preview-day"], ["hora", "preview-time"]]) {
        const chosen = document.getElementById(id);
        if (chosen) taps.elements.namedItem(name).value = chosen.value;
      }
    });
  };

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("form.move, form.js").forEach((form) => form.setAttribute("data-js", ""));
    const board = document.getElementById("board");
    if (board) noticeNewOrders(board);
    soundButton();
    keepAwake();
    dragAndDrop();
    live();
    const chat = document.getElementById("chat");
    if (chat) chat.scrollTop = chat.scrollHeight; // the preview shows its latest messages
    previewTaps();
  });
  // Forms that arrive with a refreshed region are handled by the same delegated listener.
  document.addEventListener("panel:refreshed", (event) => {
    event.target.querySelectorAll("form.move, form.js").forEach((form) => form.setAttribute("data-js", ""));
  });
})();
