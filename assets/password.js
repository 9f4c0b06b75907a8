// Show/hide for the sign-in page's password field. Without this script the button
// stays hidden and the field works as usual.
for (const button of document.querySelectorAll("button.reveal[aria-controls]")) {
  const field = document.getElementById(button.getAttribute("aria-controls"));
  if (!field) continue;
  button.hidden = false;
  button.addEventListener("click", () => {
    const show = field.type === "password";
    field.type = show ? "text" : "password";
    button.textContent = show ? "Hide" : "Show";
    field.focus();
  });
}
