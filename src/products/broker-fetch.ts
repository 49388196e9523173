/**
 * One request of a token broker's step: within `timeoutMs`, and never following a redirect (it
 * would carry the product's credentials or the bearer elsewhere). The response, or the words
 * for why there is none (the outbound guard's refusal names the address and why, never a secret);
 * each broker wraps those words in its own step error.
 */
export async function brokerFetch(
  fetchFn: typeof fetch,
  url: string,
  init: RequestInit,
  timeoutMs: number,
  words: { unreachable: string; redirected: (status: number) => string },
): Promise<Response | { problem: string }> {
  let res: Response;
  try {
    res = await fetchFn(url, { ...init, signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
  } catch (e) {
    // AbortSignal.timeout rejects with a DOMException named TimeoutError (not an Error subclass everywhere).
    const name = (e as { name?: unknown } | null)?.name;
    const timedOut = name === 'TimeoutError' || name === 'AbortError';
    const refused = (e as { outboundRefusal?: unknown } | null)?.outboundRefusal;
    return { problem: timedOut ? `no answer within ${timeoutMs} ms` : typeof refused === 'string' ? refused : words.unreachable };
  }
  if (res.status >= 300 && res.status < 400) return { problem: words.redirected(res.status) };
  return res;
}
