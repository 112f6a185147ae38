/**
 * A URL as it may be shown: user and password replaced by `***`, every query value by `***` (signed
 * mirror URLs carry their token there). Text that does not parse as a URL gets the same treatment by
 * pattern (`//user:pass@`, `?key=value`); a plain path comes back unchanged.
 */
export function redactUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return text.replace(/(\/\/)[^/\s@]+@/, '$1***@').replace(/([?&][^=&\s]+=)[^&\s]*/g, '$1***');
  }
  if (url.username === '' && url.password === '' && url.search === '') return text;
  const auth = url.username === '' && url.password === '' ? '' : `***${url.password === '' ? '' : ':***'}@`;
  const query =
    url.search === ''
      ? ''
      : `?${url.search
          .slice(1)
          .split('&')
          .map((pair) => (pair.includes('=') ? `${pair.slice(0, pair.indexOf('='))}=***` : pair))
          .join('&')}`;
  const host = url.host === '' ? '' : `//${auth}${url.host}`;
  return `${url.protocol}${host}${url.pathname}${query}${url.hash === '' ? '' : '#***'}`;
}

/** Text (an error message) with every URL in it redacted by redactUrl. */
export function redactUrls(text: string): string {
  return text.replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]+/gi, (found) => redactUrl(found));
}

/** True when a URL carries a user name or password, which must never reach a log or a file. */
export function hasUrlCredentials(text: string): boolean {
  try {
    const url = new URL(text);
    return url.username !== '' || url.password !== '';
  } catch {
    return false;
  }
}
