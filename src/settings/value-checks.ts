import { hasUrlCredentials, redactUrl } from '../core/redact.js';
import type { OptionKey } from './options.js';
import { settingsError } from './parse-values.js';
import type { PerShimValue } from './settings.js';

/** The longest value any setting takes; a longer one is a mistake or an attack, never a config. */
export const MAX_SETTING_LENGTH = 8192;

/** Settings read as whitespace-separated lists, where a tab or newline between words is fine. */
const WORD_LISTS: ReadonlySet<OptionKey> = new Set(['shims', 'allowedHypervisorAnnotations', 'startupTaints']);

/**
 * The checks every raw value gets before its own parser sees it: bounded length, and no control
 * characters (outside whitespace between the words of a list). Paths, names and URLs end up in TOML
 * files, kernel command lines and log lines, where a newline or NUL changes what they mean.
 */
export function checkRawValue(key: OptionKey, source: string, raw: string): void {
  if (raw.length > MAX_SETTING_LENGTH) {
    throw settingsError(
      source,
      `the value is ${raw.length} characters, more than ${MAX_SETTING_LENGTH}`,
      `at most ${MAX_SETTING_LENGTH} characters`,
    );
  }
  const allowed = WORD_LISTS.has(key) ? /[\t\n\r]/ : /$^/;
  for (const [index, char] of [...raw.trim()].entries()) {
    const code = char.codePointAt(0)!;
    if ((code < 0x20 || code === 0x7f || (code >= 0x80 && code < 0xa0)) && !allowed.test(char)) {
      throw settingsError(
        source,
        `control character U+${code.toString(16).padStart(4, '0')} at position ${index}`,
        'printable text only',
      );
    }
  }
}

const PROXY_SCHEMES = new Set(['http:', 'https:', 'socks5:', 'socks5h:']);

/**
 * A proxy URL as the guest agent and our payload fetch take it: one absolute http(s)/socks5 URL with a
 * host and nothing that could end a kernel parameter (whitespace, quotes).
 */
export function checkProxyUrl(source: string, value: string): string {
  const accepted = 'a URL like http://proxy.example:3128 (http, https, socks5), no spaces or quotes';
  let url: URL | undefined;
  try {
    url = /[\s"'\\]/.test(value) ? undefined : new URL(value);
  } catch {
    url = undefined;
  }
  if (url === undefined || !PROXY_SCHEMES.has(url.protocol) || url.hostname === '')
    throw settingsError(source, `"${redactUrl(value)}" is not a proxy URL`, accepted);
  return value;
}

const NO_PROXY_ENTRY =
  /^(\*|\*?\.?[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.?|[0-9a-fA-F:.]+(\/\d{1,3})?|\[[0-9a-fA-F:.]+\])(:\d+)?$/;

/** A NO_PROXY list: comma-separated hosts, `.domains`, `*.domains`, addresses and CIDRs, nothing else. */
export function checkNoProxyList(source: string, value: string): string {
  for (const entry of value.split(',').map((part) => part.trim())) {
    if (entry === '') continue;
    if (!NO_PROXY_ENTRY.test(entry)) {
      throw settingsError(
        source,
        `"${entry}" is not a host, domain or address`,
        'comma-separated hosts, .domains, addresses or CIDRs (localhost,.svc,10.0.0.0/8)',
      );
    }
  }
  return value;
}

/** Applies a value check to the global value and to every per-shim one of a PerShimValue. */
export function checkPerShim(
  value: PerShimValue,
  source: string,
  check: (source: string, value: string) => string,
): PerShimValue {
  if (value.global !== undefined) check(source, value.global);
  for (const [shim, item] of value.perShim) check(`${source} (shim ${shim})`, item);
  return value;
}

/**
 * A payload location: a path, or an https URL without credentials (they would be logged, recorded in
 * the manifest and shown by `status`; a signed URL's query token is redacted everywhere instead).
 */
export function checkPayloadLocation(source: string, value: string): string {
  if (hasUrlCredentials(value)) {
    throw settingsError(
      source,
      `"${redactUrl(value)}" has credentials in the URL, which kata-deploy would have to log and record`,
      'a path, or an https:// URL without user:password@ (a signed URL with a query token is fine)',
    );
  }
  return value;
}
