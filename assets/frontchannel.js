// Front-Channel Logout: once every app's logout frame has loaded (or after at most
// three seconds, so a slow app cannot hold the user), go where the sign-out ends.
(function () {
  var next = document.getElementById("gatehouse-continue");
  var frames = Array.prototype.slice.call(document.querySelectorAll("iframe.frontchannel"));
  var left = frames.length;
  var gone = false;
  function go() {
    if (!gone) {
      gone = true;
      window.location.replace(next.href);
    }
  }
  frames.forEach(function (frame) {
    frame.addEventListener("load", function () {
      left -= 1;
      if (left <= 0) go();
    });
  });
  if (left === 0) go();
  setTimeout(go, 3000);
})();
