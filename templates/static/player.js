// Chapter and transcript links seek the player; the current cue is highlighted.
// Without JavaScript the page still has a plain <audio controls> player.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) { return; }
    var field = document.querySelector(button.getAttribute("data-copy"));
    if (!field) { return; }
    field.select();
    var done = function () { button.textContent = "Copied"; };
    if (navigator.clipboard) { navigator.clipboard.writeText(field.value).then(done, function () {}); }
  });
  var audio = document.getElementById("player");
  if (!audio) { return; }
  document.addEventListener("click", function (event) {
    var link = event.target.closest("[data-seek]");
    if (!link) { return; }
    event.preventDefault();
    audio.currentTime = parseFloat(link.getAttribute("data-seek"));
    var playing = audio.play();
    if (playing && playing.catch) { playing.catch(function () {}); }
  });
  var cues = Array.prototype.slice.call(document.querySelectorAll(".cue[data-start]"));
  audio.addEventListener("timeupdate", function () {
    var now = audio.currentTime;
    cues.forEach(function (cue) {
      var on = now >= parseFloat(cue.dataset.start) && now < parseFloat(cue.dataset.end);
      cue.classList.toggle("current", on);
    });
  });
  var match = /^#t=(\d+)/.exec(window.location.hash);
  if (match) { audio.currentTime = parseInt(match[1], 10); }
})();
