// Voice enrolment page: record with MediaRecorder into the form's file input, then the form posts
// as usual (the file input is also the no-microphone alternative). Recording waits for consent.
(function () {
  "use strict";
  const root = document.getElementById("voice-recorder");
  if (!root) return;
  const form = root.querySelector("form");
  const consent = form.querySelector("input[name=consent]");
  const fileInput = form.querySelector("input[type=file][name=audio]");
  const button = document.getElementById("voice-record");
  const timer = document.getElementById("voice-timer");
  const state = document.getElementById("voice-recorder-state");
  const preview = document.getElementById("voice-preview");
  const minSeconds = Number(root.dataset.minSeconds || 8);
  const maxSeconds = Number(root.dataset.maxSeconds || 30);
  let recorder = null;
  let startedAt = 0;
  let ticking = null;

  function say(text) { state.textContent = text; }
  function clock(seconds) { timer.textContent = Math.floor(seconds / 60) + ":" + String(Math.floor(seconds % 60)).padStart(2, "0"); }
  function recorderMime() {
    const options = ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/mp4", "audio/webm"];
    return options.find((t) => window.MediaRecorder && MediaRecorder.isTypeSupported(t)) || "";
  }
  function canRecord() { return Boolean(window.MediaRecorder && navigator.mediaDevices && navigator.mediaDevices.getUserMedia); }
  function syncButton() {
    const recording = recorder && recorder.state === "recording";
    button.disabled = !recording && (!consent.checked || !canRecord());
    if (!recording) {
      if (!canRecord()) say("This browser cannot record here; choose an audio file instead.");
      else if (!consent.checked) say("Tick the consent box to record.");
      else if (!fileInput.files.length) say("Ready. Press Start recording and read the text aloud.");
    }
  }

  function attach(blob, seconds) {
    const mime = (blob.type || "audio/webm").split(";")[0];
    const ext = mime.includes("ogg") ? "ogg" : mime.includes("mp4") ? "m4a" : "webm";
    const transfer = new DataTransfer();
    transfer.items.add(new File([blob], "voice." + ext, { type: mime }));
    fileInput.files = transfer.files;
    preview.src = URL.createObjectURL(blob);
    preview.hidden = false;
    if (seconds < minSeconds) say("That was only " + Math.round(seconds) + " s; record again and read the whole text (about 10 s).");
    else say("Recording ready (" + Math.round(seconds) + " s). Listen back if you like, then press Save voice print.");
    root.dataset.recorded = "true";
  }

  function stop() { if (recorder && recorder.state === "recording") recorder.stop(); }

  async function start() {
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch (e) {
      say("The microphone is not available (" + (e && e.name ? e.name : "permission denied") + "). You can choose an audio file instead.");
      return;
    }
    const mime = recorderMime();
    const chunks = [];
    recorder = new MediaRecorder(stream, mime ? { mimeType: mime } : undefined);
    recorder.addEventListener("dataavailable", (e) => { if (e.data && e.data.size) chunks.push(e.data); });
    recorder.addEventListener("stop", () => {
      clearInterval(ticking);
      stream.getTracks().forEach((t) => t.stop());
      const seconds = (Date.now() - startedAt) / 1000;
      button.textContent = "Start recording";
      button.setAttribute("aria-pressed", "false");
      attach(new Blob(chunks, { type: recorder.mimeType || mime || "audio/webm" }), seconds);
      syncButton();
    });
    startedAt = Date.now();
    recorder.start(250);
    clock(0);
    ticking = setInterval(() => {
      const seconds = (Date.now() - startedAt) / 1000;
      clock(seconds);
      if (seconds >= maxSeconds) stop();
    }, 250);
    button.textContent = "Stop recording";
    button.setAttribute("aria-pressed", "true");
    say("Recording… read the text aloud, then press Stop recording.");
  }

  button.addEventListener("click", () => {
    if (recorder && recorder.state === "recording") stop();
    else start();
  });
  consent.addEventListener("change", syncButton);
  fileInput.addEventListener("change", () => { if (!root.dataset.recorded) return; preview.hidden = true; delete root.dataset.recorded; });
  syncButton();
})();
