/* geo-service pages: the side panel as a drawer on a phone (a handle opens and closes it). */
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll(".gs-drawer-handle"), function (handle) {
      var panel = handle.closest(".gs-panel");
      function set(open) {
        panel.classList.toggle("gs-open", open);
        handle.setAttribute("aria-expanded", open ? "true" : "false");
      }
      set(panel.hasAttribute("data-open"));
      handle.addEventListener("click", function () { set(!panel.classList.contains("gs-open")); });
      window.geoServiceDrawer = {open: function () { set(true); }, close: function () { set(false); }};
    });
  });
})();
