// GOV.UK Frontend's page template sets these classes with an inline script; TAC's CSP allows
// no inline script, so the same line runs from this file (loaded, not deferred, at body start).
document.body.className += ' js-enabled' + ('noModule' in HTMLScriptElement.prototype ? ' govuk-frontend-supported' : '');
