// Branding and trust links on every page: the service's name, logo and colours, and its
// terms, privacy and support links, all from service info (the operator's configuration).
// Pages carry the placeholders (`data-brand="…"`); this fills them and shows what is set.
import { serviceInfo } from './api.js';

const HEX_COLOR = /^#(?:[0-9a-f]{3}|[0-9a-f]{6})$/i;

/** An http(s) URL, or a `mailto:` for a bare email address; undefined for anything else. */
function linkFor(value) {
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  const text = value.trim();
  if (/^[^\s@/:]+@[^\s@/]+\.[^\s@/]+$/.test(text)) return `mailto:${text}`;
  try {
    const url = new URL(text);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.toString() : undefined;
  } catch {
    return undefined;
  }
}

/** Only images the pages' CSP allows: this origin, or a data: image. */
function logoFor(value) {
  if (typeof value !== 'string' || value === '') return undefined;
  if (/^data:image\//i.test(value)) return value;
  try {
    const url = new URL(value, location.origin);
    return url.origin === location.origin ? url.toString() : undefined;
  } catch {
    return undefined;
  }
}

function setLink(name, href) {
  for (const a of document.querySelectorAll(`a[data-brand="${name}"]`)) {
    if (href) {
      a.href = href;
      a.hidden = false;
    } else {
      a.hidden = true;
    }
  }
}

/** Applies the service's branding to the page; a page without service info keeps its defaults. */
export async function applyBranding() {
  let info;
  try {
    info = await serviceInfo();
  } catch {
    return undefined; // the page reports the unreachable server itself
  }
  const branding = info.branding ?? {};
  // CSSOM properties, not a style attribute: allowed under the pages' strict CSP.
  if (HEX_COLOR.test(branding.accentColor ?? '')) document.documentElement.style.setProperty('--accent', branding.accentColor);
  if (HEX_COLOR.test(branding.backgroundColor ?? '')) document.documentElement.style.setProperty('--bg', branding.backgroundColor);
  const name = typeof info.name === 'string' && info.name ? info.name : undefined;
  if (name) {
    for (const el of document.querySelectorAll('[data-brand="name"]')) el.textContent = name;
    if (!document.title.endsWith(name)) document.title = `${document.title} · ${name}`;
  }
  const logo = logoFor(branding.logo);
  for (const img of document.querySelectorAll('img[data-brand="logo"]')) {
    if (logo) {
      img.src = logo;
      img.hidden = false;
    }
  }
  const home = linkFor(info.home);
  if (home) for (const a of document.querySelectorAll('a[data-brand="home"]')) a.href = home;
  setLink('terms', linkFor(info.terms));
  setLink('privacy', linkFor(info.privacy ?? info.terms));
  setLink('support', linkFor(info.support));
  return info;
}
