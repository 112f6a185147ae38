import { Agent } from 'node:https';
import type { Readable } from 'node:stream';
import fetch from 'node-fetch';
import { HttpsProxyAgent } from 'https-proxy-agent';
import { KataDeployError } from '../core/errors.js';

/** How to reach an https:// payload: proxy and extra CAs, given by the caller (settings read the env). */
export interface FetchOptions {
  readonly httpsProxy?: string | undefined;
  /** NO_PROXY as written: comma-separated hosts, `.domain` suffixes, or `*`. */
  readonly noProxy?: string | undefined;
  /** PEM certificates trusted in addition to the system ones (a private mirror's CA). */
  readonly caCertificates?: string | undefined;
}

/** True when NO_PROXY says to reach this host directly. */
export function bypassesProxy(host: string, noProxy: string | undefined): boolean {
  if (noProxy === undefined) return false;
  const name = host.toLowerCase();
  return noProxy
    .split(/[\s,]+/)
    .filter(Boolean)
    .some((raw) => {
      const entry = raw.toLowerCase().replace(/:\d+$/, '');
      if (entry === '*') return true;
      const bare = entry.startsWith('.') ? entry.slice(1) : entry;
      return name === bare || name.endsWith(`.${bare}`);
    });
}

/**
 * A CONNECT-proxy agent that also trusts our CA for the server behind the tunnel: https-proxy-agent
 * applies its own TLS options to the proxy connection only, and takes the endpoint's from the request.
 */
class TunnelAgent extends HttpsProxyAgent<string> {
  constructor(
    proxy: string,
    private readonly ca: string | undefined,
  ) {
    super(proxy);
  }

  override connect(
    request: Parameters<HttpsProxyAgent<string>['connect']>[0],
    options: Parameters<HttpsProxyAgent<string>['connect']>[1],
  ): ReturnType<HttpsProxyAgent<string>['connect']> {
    return super.connect(request, this.ca === undefined ? options : ({ ...options, ca: this.ca } as typeof options));
  }
}

function agentFor(url: URL, options: FetchOptions): Agent {
  if (options.httpsProxy !== undefined && options.httpsProxy !== '' && !bypassesProxy(url.hostname, options.noProxy)) {
    return new TunnelAgent(options.httpsProxy, options.caCertificates);
  }
  return new Agent(options.caCertificates === undefined ? {} : { ca: options.caCertificates });
}

function fetchError(url: string, problem: string, cause?: unknown): KataDeployError {
  return new KataDeployError('bad-payload', `cannot download payload ${url}: ${problem}`, {
    hint: 'check the URL, HTTPS_PROXY/NO_PROXY and the CA bundle; or ship the payload in the image',
    cause,
  });
}

async function get(url: string, options: FetchOptions): Promise<import('node-fetch').Response> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (error) {
    throw fetchError(url, 'not a URL', error);
  }
  if (parsed.protocol !== 'https:') throw fetchError(url, 'only https:// URLs are accepted');
  try {
    return await fetch(url, { agent: agentFor(parsed, options) });
  } catch (error) {
    throw fetchError(url, (error as Error).message, error);
  }
}

/** An open payload download: the body, and its length when the server sent a Content-Length. */
export interface RemotePayload {
  readonly body: Readable;
  readonly length: number | undefined;
}

/** Opens the payload download as a stream, with the length progress and ETA are computed from. */
export async function openRemotePayload(url: string, options: FetchOptions): Promise<RemotePayload> {
  const response = await get(url, options);
  if (!response.ok || response.body === null) throw fetchError(url, `HTTP ${response.status}`);
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  const encoded = (response.headers.get('content-encoding') ?? 'identity') !== 'identity';
  const length = Number.isSafeInteger(declared) && declared >= 0 && !encoded ? declared : undefined;
  return { body: response.body as unknown as Readable, length };
}

/**
 * Reads `<url>.sha256` (sha256sum format, or a bare digest). Undefined when the server has none (404),
 * so the caller can insist on an explicit opt-in before installing unverified bytes.
 */
export async function fetchPublishedChecksum(url: string, options: FetchOptions): Promise<string | undefined> {
  const response = await get(`${url}.sha256`, options);
  if (response.status === 404) return undefined;
  if (!response.ok) throw fetchError(`${url}.sha256`, `HTTP ${response.status}`);
  const digest = /^([0-9a-fA-F]{64})\b/.exec((await response.text()).trim())?.[1];
  if (digest === undefined) throw fetchError(`${url}.sha256`, 'does not start with a sha256 digest');
  return digest.toLowerCase();
}
