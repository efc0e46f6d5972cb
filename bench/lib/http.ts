import { Agent, request } from 'node:http';

/** A response: status and body text. */
export interface HttpResponse {
  status: number;
  body: string;
}

/** A keep-alive HTTP client for one server (the paced and sequential posts of the bench). */
export class HttpClient {
  readonly #base: URL;
  readonly #agent: Agent;

  /** `maxSockets`: connections kept to the server (requests beyond it queue in the agent). */
  constructor(baseUrl: string, options: { maxSockets: number }) {
    this.#base = new URL(baseUrl);
    this.#agent = new Agent({ keepAlive: true, maxSockets: options.maxSockets });
  }

  /** POSTs `body` to `path`; resolves with the whole response, rejects on a socket error. */
  post(path: string, body: string, contentType: string): Promise<HttpResponse> {
    return new Promise<HttpResponse>((resolve, reject) => {
      const req = request(
        {
          agent: this.#agent,
          host: this.#base.hostname,
          port: this.#base.port,
          method: 'POST',
          path,
          headers: { 'content-type': contentType, 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
          );
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  /** Closes the kept connections. */
  close(): void {
    this.#agent.destroy();
  }
}

/** One JSON POST (own connection); the body is parsed as JSON when it is. */
export async function postJson(
  url: string,
  value: unknown,
): Promise<{ status: number; body: unknown }> {
  const target = new URL(url);
  const client = new HttpClient(target.origin, { maxSockets: 1 });
  try {
    const res = await client.post(target.pathname, JSON.stringify(value), 'application/json');
    let body: unknown = res.body;
    try {
      body = JSON.parse(res.body) as unknown;
    } catch {
      // not JSON: keep the text
    }
    return { status: res.status, body };
  } finally {
    client.close();
  }
}
