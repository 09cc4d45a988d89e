// Talking to /api/v1 with the bearer token the user signed in with. The token lives in session
// storage: it survives a reload of the tab but not the tab itself, and is never put in a URL.
const KEY = 'lifeboat.token';

export const session = {
  token: () => sessionStorage.getItem(KEY),
  set: (token) => sessionStorage.setItem(KEY, token),
  clear: () => sessionStorage.removeItem(KEY),
};

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export async function api(method, path, body) {
  const headers = { authorization: `Bearer ${session.token() ?? ''}`, accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res;
  try {
    res = await fetch(`/api/v1${path}`, { method, headers, cache: 'no-store', ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  } catch {
    throw new ApiError(0, 'UNREACHABLE', 'The daemon does not answer. Is it running, and is this the address of its api.listen?');
  }
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new ApiError(res.status, data.error?.code ?? 'HTTP', data.error?.message ?? `the daemon answered HTTP ${res.status}`);
  return data;
}

export const enc = encodeURIComponent;
