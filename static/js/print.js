// "Print" buttons: no inline handlers (the Content-Security-Policy allows no inline script).
document.addEventListener("click", (event) => {
  if (event.target.closest("[data-action=print]")) window.print();
});
