// @ts-check
/*
 * The dashboard's filters apply as soon as a choice changes; the form still works without this
 * script (a plain GET with a Filter button).
 */
const form = document.getElementById('filters');
if (form instanceof HTMLFormElement) {
  for (const select of form.querySelectorAll('select')) {
    select.addEventListener('change', () => form.requestSubmit());
  }
}
