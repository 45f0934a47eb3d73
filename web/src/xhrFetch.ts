// `fetch` cannot report upload progress; XMLHttpRequest can. apollo-upload-client takes a
// custom fetch, and passes the operation context's `fetchOptions` to it, so an upload
// mutation sends `context: { fetchOptions: { onUploadProgress } }` to get bytes sent.

export interface UploadProgress {
  loaded: number;
  total: number;
}

export interface XhrFetchInit extends RequestInit {
  onUploadProgress?: (progress: UploadProgress) => void;
}

export function xhrFetch(input: RequestInfo | URL, init: XhrFetchInit = {}): Promise<Response> {
  const { onUploadProgress } = init;
  if (!onUploadProgress) return fetch(input, init);
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(init.method ?? "POST", String(input));
    new Headers(init.headers).forEach((value, name) => xhr.setRequestHeader(name, value));
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable) onUploadProgress({ loaded: event.loaded, total: event.total });
    };
    xhr.onload = () => {
      const headers = new Headers();
      for (const line of xhr.getAllResponseHeaders().trim().split(/[\r\n]+/)) {
        const at = line.indexOf(":");
        if (at > 0) headers.append(line.slice(0, at).trim(), line.slice(at + 1).trim());
      }
      resolve(new Response(xhr.responseText, { status: xhr.status, statusText: xhr.statusText, headers }));
    };
    xhr.onerror = () => reject(new TypeError("Network error: the upload did not reach the server"));
    xhr.onabort = () => reject(new DOMException("The upload was cancelled", "AbortError"));
    init.signal?.addEventListener("abort", () => xhr.abort(), { once: true });
    xhr.send(init.body as XMLHttpRequestBodyInit | null);
  });
}
