// The practice session page: websocket turns and streamed replies, voice
// recording, spoken replies, the countdown. Server pushes are htmx
// out-of-band swaps (applied with htmx.swap, swapStyle "none"); the script
// only dedupes (reconnects, resends) and handles what HTML cannot (speech).
(function () {
  "use strict";
  const root = document.getElementById("practice-session");
  if (!root) return;
  const log = document.getElementById("chat-log");
  const statusEl = document.getElementById("connection-status");
  const canWrite = root.dataset.canWrite === "true";
  const outbox = new Map(); // client_id -> text, until the server confirms the turn
  let socket = null;
  let retryDelay = 500;
  let leaving = false;

  const csrfToken = () => {
    try { return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || ""; }
    catch (e) { return ""; }
  };
  const newId = () => (window.crypto && crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random().toString(16).slice(2));
  const scrollDown = () => { log.scrollTop = log.scrollHeight; };
  const swapOob = (html) => { if (html) htmx.swap(document.body, html, { swapStyle: "none" }); };
  const setStatus = (text) => { if (statusEl) statusEl.textContent = text; };
  const clearNotice = () => { const n = document.getElementById("session-notice"); if (n) n.innerHTML = ""; };
  // A notice raised in the page (microphone errors): the server-rendered notice partial
  // (<template id="notice-template">) with its text set, never markup built here.
  function showNotice(message) {
    const template = document.getElementById("notice-template");
    const current = document.getElementById("session-notice");
    if (!template || !current) return;
    const notice = template.content.firstElementChild.cloneNode(true);
    notice.querySelector("[data-testid=session-notice-text]").textContent = message;
    current.replaceWith(notice);
  }

  // --- replies spoken with the browser's speech synthesis -----------------------
  const hintEl = document.getElementById("persona-voice-hint");
  const hint = hintEl ? JSON.parse(hintEl.textContent || "{}") : {};
  const speakToggle = document.getElementById("speak-replies");
  function pickVoice() {
    const voices = window.speechSynthesis ? speechSynthesis.getVoices() : [];
    const lang = (hint.lang || "").toLowerCase();
    const byLang = voices.filter((v) => lang && v.lang.toLowerCase().startsWith(lang.slice(0, 2)));
    const exact = byLang.filter((v) => v.lang.toLowerCase() === lang);
    const pool = exact.length ? exact : byLang.length ? byLang : voices;
    const gender = (hint.gender || "").toLowerCase();
    return pool.find((v) => gender && v.name.toLowerCase().includes(gender)) || pool[0] || null;
  }
  function speak(text) {
    if (!speakToggle || !speakToggle.checked || !window.speechSynthesis || !text) return;
    const utterance = new SpeechSynthesisUtterance(text);
    const voice = pickVoice();
    if (voice) utterance.voice = voice;
    if (hint.lang) utterance.lang = hint.lang;
    if (hint.pitch) utterance.pitch = Number(hint.pitch);
    if (hint.rate) utterance.rate = Number(hint.rate);
    speechSynthesis.speak(utterance);
  }

  // --- server pushes -------------------------------------------------------------
  // Every piece of markup comes from the server's templates (msg.html, data.append_html);
  // the script only appends streamed text and dedupes (reconnects, resends).
  const handlers = {
    turn(msg) {
      outbox.delete(msg.data.client_id);
      if (!document.getElementById("turn-" + msg.data.turn_id)) swapOob(msg.html);
    },
    transcript(msg) {
      const pending = document.getElementById("voice-pending-" + msg.data.clip_id);
      if (document.getElementById("turn-" + msg.data.turn_id)) { if (pending) pending.remove(); return; }
      swapOob(msg.html);
    },
    "reply-start"(msg) {
      const existing = document.getElementById("reply-text-" + msg.data.reply_for);
      if (!existing) swapOob(msg.html);
    },
    "reply-chunk"(msg) {
      const text = document.getElementById("reply-text-" + msg.data.reply_for);
      if (!text) return; // no bubble yet: its reply-start (with the text so far) or reply-done brings it
      const have = text.textContent.length;
      const offset = msg.data.offset;
      const chunk = msg.data.text;
      if (offset + chunk.length <= have) return; // already shown (rejoined mid-stream)
      text.append(document.createTextNode(offset < have ? chunk.slice(have - offset) : chunk));
    },
    "reply-done"(msg) {
      const bubble = document.getElementById("reply-" + msg.data.reply_for);
      if (bubble && !bubble.dataset.streaming) return; // already final (duplicate)
      swapOob(bubble ? msg.html : msg.data.append_html); // replace the streaming bubble, or append the reply
      speak(msg.data.text);
    },
    feedback(msg) {
      if (!feedbackShown(msg.data.assessments)) swapOob(msg.html);
    },
    ended(msg) {
      swapOob(msg.html);
      root.dataset.active = "false";
      const form = document.getElementById("chat-form");
      if (form) form.querySelectorAll("textarea,button,input").forEach((el) => (el.disabled = true));
    },
  };

  function lastAnsweredTurnId() {
    const turns = document.querySelectorAll('article.bubble.trainee[id^="turn-"]');
    for (let i = turns.length - 1; i >= 0; i--) {
      const id = Number(turns[i].id.slice(5));
      const reply = document.getElementById("reply-" + id);
      if (reply && !reply.dataset.streaming) return id;
    }
    return 0;
  }

  function feedbackShown(ids) {
    // Live feedback for these assessments is already on the page (a catch-up sends it again).
    if (!ids || !ids.length) return false;
    const shown = new Set();
    document.querySelectorAll(".feedback-turn[data-assessments]").forEach((el) => {
      el.dataset.assessments.split(",").forEach((id) => shown.add(Number(id)));
    });
    return ids.every((id) => shown.has(id));
  }

  function onMessage(event) {
    const msg = JSON.parse(event.data);
    if (msg.type === "error") {
      swapOob(msg.html);
      if (msg.client_id && ["busy", "overloaded", "unavailable"].includes(msg.code)) {
        // Not stored: the trainee's text goes back into the box to send again.
        const text = outbox.get(msg.client_id);
        const box = document.getElementById("chat-input");
        if (box && text && !box.value.trim()) box.value = text;
      }
      if (msg.client_id && msg.code !== "rate-limit") outbox.delete(msg.client_id);
      return;
    }
    if (msg.type !== "push") return;
    (handlers[msg.kind] || ((m) => swapOob(m.html)))(msg);
    scrollDown();
  }

  // Close code 4503: the server is up but Redis or its database is not (it sent an "unavailable"
  // notice first). The page keeps retrying, backing off; the notice goes once a connection holds.
  const CLOSE_UNAVAILABLE = 4503;
  let unavailable = false;

  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const ws = new WebSocket(scheme + location.host + root.dataset.wsPath);
    socket = ws;
    ws.addEventListener("open", () => {
      setStatus("Connected");
      root.dataset.connected = "true";
      // Catch up on what was pushed while away (a reply finished, feedback): the server sends
      // again everything from the last turn this page saw answered; the handlers drop duplicates.
      ws.send(JSON.stringify({ type: "sync", after: lastAnsweredTurnId() }));
      // Anything not confirmed before a drop is resent with its id: stored once.
      for (const [clientId, text] of outbox) ws.send(JSON.stringify({ type: "turn", text, client_id: clientId }));
      // A connection that holds (not accepted only to be closed with 4503) resets the back-off.
      setTimeout(() => {
        if (ws.readyState !== WebSocket.OPEN) return;
        retryDelay = 500;
        if (unavailable) { unavailable = false; clearNotice(); }
      }, 1000);
    });
    ws.addEventListener("message", onMessage);
    ws.addEventListener("close", (event) => {
      root.dataset.connected = "false";
      if (leaving) return;
      unavailable = event.code === CLOSE_UNAVAILABLE || (unavailable && event.code === 1006);
      setStatus(unavailable ? "Service unavailable — reconnecting…" : "Reconnecting…");
      setTimeout(connect, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 8000);
    });
  }
  window.addEventListener("beforeunload", () => { leaving = true; });

  // --- sending -------------------------------------------------------------------
  function send(payload) {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(payload));
  }
  const form = document.getElementById("chat-form");
  const input = document.getElementById("chat-input");
  if (form && canWrite) {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const text = (input && input.value || "").trim();
      if (!text) return;
      const clientId = newId();
      outbox.set(clientId, text);
      clearNotice();
      send({ type: "turn", text, client_id: clientId });
      input.value = "";
      input.focus();
    });
    if (input) input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); form.requestSubmit(); }
    });
  }
  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-action=retry]");
    if (!button) return;
    clearNotice();
    send({ type: "retry" });
  });

  // --- voice turns ---------------------------------------------------------------
  const mic = document.getElementById("mic-toggle");
  let recorder = null;
  let chunks = [];
  function recorderMime() {
    const options = ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/mp4", "audio/webm"];
    return options.find((t) => window.MediaRecorder && MediaRecorder.isTypeSupported(t)) || "";
  }
  async function upload(blob) {
    const data = new FormData();
    const mime = blob.type || "audio/webm";
    const ext = mime.includes("ogg") ? "ogg" : mime.includes("mp4") ? "m4a" : "webm";
    data.append("audio", new File([blob], "turn." + ext, { type: mime }));
    data.append("client_id", newId());
    const response = await fetch(root.dataset.voiceUrl, {
      method: "POST", body: data, headers: { "X-CSRFToken": csrfToken() }, credentials: "same-origin",
    });
    const html = await response.text();
    if (response.ok) {
      const holder = document.createElement("template");
      holder.innerHTML = html.trim();
      const el = holder.content.firstElementChild;
      if (el && !document.getElementById(el.id)) log.appendChild(el);
      scrollDown();
    } else {
      const notice = document.getElementById("session-notice");
      if (notice) notice.outerHTML = html;
    }
  }
  if (mic) {
    mic.addEventListener("click", async () => {
      if (recorder && recorder.state === "recording") { recorder.stop(); return; }
      try {
        const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
        const mime = recorderMime();
        recorder = new MediaRecorder(stream, mime ? { mimeType: mime } : undefined);
        chunks = [];
        recorder.addEventListener("dataavailable", (e) => { if (e.data && e.data.size) chunks.push(e.data); });
        recorder.addEventListener("stop", () => {
          stream.getTracks().forEach((t) => t.stop());
          mic.setAttribute("aria-pressed", "false");
          mic.textContent = "Record";
          const blob = new Blob(chunks, { type: (recorder.mimeType || mime || "audio/webm") });
          upload(blob).catch(() => showNotice("The recording could not be sent. Check your connection and try again."));
        });
        recorder.start();
        mic.setAttribute("aria-pressed", "true");
        mic.textContent = "Stop recording";
      } catch (e) {
        showNotice("The microphone is not available: " + (e && e.message ? e.message : "permission denied"));
      }
    });
  }

  // --- countdown -----------------------------------------------------------------
  const timer = document.querySelector("[data-testid=session-timer]");
  const endsAt = Date.parse(root.dataset.endsAt);
  function tick() {
    if (!timer || isNaN(endsAt)) return;
    const left = Math.max(0, Math.round((endsAt - Date.now()) / 1000));
    timer.textContent = left > 0 ? Math.floor(left / 60) + ":" + String(left % 60).padStart(2, "0") : "Time's up";
    timer.dataset.secondsLeft = String(left);
  }
  tick();
  setInterval(tick, 1000);

  if (root.dataset.active === "true" || !canWrite) connect();
  scrollDown();
})();
