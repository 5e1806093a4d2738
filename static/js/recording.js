/* Recording pages: upload progress bar, live pipeline progress reload, and the
   audio player synced to the transcript (click a word to seek, current word
   highlighted, keyboard controls). No markup is built here: the server renders it. */
(function () {
  "use strict";

  // --- upload: client-side size check and the progress bar (htmx's xhr progress events) ---
  document.addEventListener("change", function (event) {
    var input = event.target;
    if (!input.matches || !input.matches("#recording-upload input[type=file]")) return;
    var form = input.form, error = form.querySelector("[data-testid=upload-client-error]");
    var max = parseInt(form.dataset.maxBytes || "0", 10);
    var file = input.files && input.files[0];
    if (file && max && file.size > max) {
      error.textContent = "The file is too large (" + (file.size / 1048576).toFixed(1) + " MB); the limit is " + Math.round(max / 1048576) + " MB.";
      error.hidden = false;
      input.value = "";
    } else {
      error.hidden = true;
    }
  });
  document.addEventListener("htmx:xhr:progress", function (event) {
    var form = event.target.closest && event.target.closest("#recording-upload");
    if (!form || !event.detail.lengthComputable) return;
    var bar = form.querySelector("[data-testid=upload-progress]");
    bar.hidden = false;
    bar.value = Math.round(100 * event.detail.loaded / event.detail.total);
  });
  document.addEventListener("htmx:responseError", function (event) {
    var form = event.target.closest && event.target.closest("#recording-upload");
    if (!form) return;
    var error = form.querySelector("[data-testid=upload-client-error]");
    error.textContent = event.detail.xhr.status === 413 ? "The file is too large for this server." : "The upload failed (" + event.detail.xhr.status + "). Please try again.";
    error.hidden = false;
  });
  document.addEventListener("submit", function (event) {
    var message = event.target.dataset && event.target.dataset.confirm;
    if (message && !window.confirm(message)) event.preventDefault();
  });

  // --- live progress: when the pipeline finishes, load the review ---
  var page = document.getElementById("recording-page");
  if (page) {
    document.body.addEventListener("htmx:wsAfterMessage", function () {
      var progress = document.getElementById("recording-progress");
      if (progress && progress.dataset.status !== page.dataset.status && progress.dataset.status !== "processing") {
        window.location.reload();
      }
    });
  }

  // --- player synced to the transcript ---
  var audio = document.getElementById("recording-audio");
  if (!audio) return;
  var words = Array.prototype.slice.call(document.querySelectorAll(".word[data-start]"));
  var turns = Array.prototype.slice.call(document.querySelectorAll(".turn[data-start]"));
  var current = null;

  function seek(seconds, play) {
    audio.currentTime = Math.max(0, seconds);
    if (play) audio.play().catch(function () { /* autoplay may be blocked: the seek stands */ });
  }
  function findWord(t) {
    var lo = 0, hi = words.length - 1, found = null;
    while (lo <= hi) {
      var mid = (lo + hi) >> 1, w = words[mid];
      if (parseFloat(w.dataset.start) <= t) { found = w; lo = mid + 1; } else { hi = mid - 1; }
    }
    return found && t <= parseFloat(found.dataset.end) + 0.3 ? found : null;
  }
  audio.addEventListener("timeupdate", function () {
    var w = findWord(audio.currentTime);
    if (w === current) return;
    if (current) current.classList.remove("current");
    current = w;
    if (w) {
      w.classList.add("current");
      w.setAttribute("aria-current", "true");
    }
  });
  document.addEventListener("click", function (event) {
    var target = event.target.closest && event.target.closest("[data-start].word, .block[data-seek]");
    if (!target) return;
    seek(parseFloat(target.dataset.seek || target.dataset.start), true);
  });
  document.addEventListener("keydown", function (event) {
    var tag = (event.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select" || event.target.isContentEditable) return;
    if (event.key === " " && tag !== "button" && tag !== "audio" && tag !== "summary") {
      event.preventDefault();
      if (audio.paused) audio.play(); else audio.pause();
    } else if (event.key === "ArrowLeft") {
      seek(audio.currentTime - 5, false);
    } else if (event.key === "ArrowRight") {
      seek(audio.currentTime + 5, false);
    } else if (event.key === "[" || event.key === "]") {
      var now = audio.currentTime, starts = turns.map(function (t) { return parseFloat(t.dataset.start); });
      var next = event.key === "]" ? starts.find(function (s) { return s > now + 0.05; })
                                   : starts.filter(function (s) { return s < now - 0.5; }).pop();
      if (next !== undefined) seek(next, false);
    }
  });
})();
