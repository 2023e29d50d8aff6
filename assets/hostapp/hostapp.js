// Progressive enhancements only: every page works without this script.
document.documentElement.classList.add("js");

document.addEventListener("click", (event) => {
  const fill = event.target.closest("button.fill");
  if (!fill) return;
  const form = document.getElementById("login-form");
  form.elements.email.value = fill.dataset.email;
  form.elements.password.value = fill.dataset.password;
  form.elements.password.focus();
});

document.addEventListener("change", (event) => {
  if (event.target.matches("select.autosubmit")) event.target.form.requestSubmit();
});
