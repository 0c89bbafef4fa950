// The API reference: Swagger UI rendering the OpenAPI document this server describes itself
// with (/openapi.json, built from the method registry). Loaded as a file, as the pages' CSP
// runs no inline script.
const status = document.getElementById('api-status');
if (typeof window.SwaggerUIBundle !== 'function') {
  status.textContent = 'The API reference viewer could not be loaded; the description is at ';
  const link = document.createElement('a');
  link.href = '../../openapi.json';
  link.textContent = 'openapi.json';
  status.append(link, '.');
} else {
  window.SwaggerUIBundle({
    url: new URL('../../openapi.json', window.location.href).href,
    domNode: document.getElementById('api-reference'),
    // No badge from the public validator service: the CSP loads no outside image, and the
    // document is validated by the tests.
    validatorUrl: null,
    deepLinking: true,
    onComplete: () => status.remove(),
  });
}
