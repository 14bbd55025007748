// What the specs against LiveKit's real server share: the environment the
// conformance suite hands them, the SIP phone's (baresip's) control port,
// what a page's <audio> plays, and a network that can be cut.
import * as http from 'node:http';
import * as net from 'node:net';
import type { Page } from '@playwright/test';

/** A variable the conformance suite sets (`by` names the test that runs the spec). */
export function env(name: string, by = 'conformance/livekit'): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: ${by} runs this spec`);
  return v;
}

/** A command to baresip's ctrl_tcp (netstrings of JSON); its answer's text. */
export function phone(phoneCtrl: number, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(phoneCtrl, '127.0.0.1');
    const body = JSON.stringify({ command, params: '', token: 'e2e' });
    let buf = '';
    sock.setTimeout(5000, () => sock.destroy(new Error('baresip did not answer')));
    sock.on('connect', () => sock.write(`${Buffer.byteLength(body)}:${body},`));
    sock.on('data', (d) => {
      buf += d.toString();
      // Events may come first; the answer is the message with `response`.
      for (;;) {
        const colon = buf.indexOf(':');
        if (colon < 0) return;
        const len = Number(buf.slice(0, colon));
        if (buf.length < colon + 1 + len + 1) return;
        const msg = JSON.parse(buf.slice(colon + 1, colon + 1 + len));
        buf = buf.slice(colon + 1 + len + 1);
        if (msg.response) {
          sock.end();
          return resolve(String(msg.data ?? ''));
        }
      }
    });
    sock.on('error', reject);
  });
}

/**
 * What `testid`'s <audio> elements play, through Web Audio: whether they all
 * play, the loudest frequency and its level (dB), and the level at `probeHz`.
 */
export async function heard(page: Page, testid: string, probeHz = 0) {
  return page.evaluate(
    async ([testid, probeHz]) => {
      const els = [...document.querySelectorAll<HTMLAudioElement>(`[data-testid="${testid}"]`)];
      const ctx = new AudioContext();
      await ctx.resume();
      const analyser = ctx.createAnalyser();
      analyser.fftSize = 8192;
      for (const el of els) ctx.createMediaStreamSource(el.srcObject as MediaStream).connect(analyser);
      await new Promise((r) => setTimeout(r, 500));
      const bins = new Float32Array(analyser.frequencyBinCount);
      analyser.getFloatFrequencyData(bins);
      let best = 2;
      for (let i = 2; i < bins.length; i++) if (bins[i] > bins[best]) best = i;
      const result = {
        elements: els.length,
        playing: els.length > 0 && els.every((el) => !el.paused),
        hz: (best * ctx.sampleRate) / analyser.fftSize,
        db: bins[best],
        probe: bins[Math.round((probeHz * analyser.fftSize) / ctx.sampleRate)],
      };
      await ctx.close();
      return result;
    },
    [testid, probeHz] as const,
  );
}

/**
 * baresip's events from now on (CALL_DTMF_START…), read from its control
 * port. baresip keeps one control connection: a command sent meanwhile
 * (`phone`) takes it over, so open this after the last command.
 */
export class PhoneEvents {
  private readonly sock: net.Socket;
  private buf = '';
  readonly seen: { type: string; param?: string }[] = [];

  constructor(phoneCtrl: number) {
    this.sock = net.connect(phoneCtrl, '127.0.0.1');
    this.sock.on('data', (d) => {
      this.buf += d.toString();
      for (;;) {
        const colon = this.buf.indexOf(':');
        if (colon < 0) return;
        const len = Number(this.buf.slice(0, colon));
        if (this.buf.length < colon + 1 + len + 1) return;
        const msg = JSON.parse(this.buf.slice(colon + 1, colon + 1 + len));
        this.buf = this.buf.slice(colon + 1 + len + 1);
        if (msg.event) this.seen.push({ type: msg.type, param: msg.param });
      }
    });
    this.sock.on('error', () => {});
  }

  /** Resolves once the socket is connected. */
  ready(): Promise<void> {
    return new Promise((resolve, reject) => {
      if (!this.sock.connecting) return resolve();
      this.sock.once('connect', () => resolve());
      this.sock.once('error', reject);
    });
  }

  /** The params of the events of `type` so far, in order. */
  params(type: string): string[] {
    return this.seen.filter((e) => e.type === type).map((e) => e.param ?? '');
  }

  close() {
    this.sock.destroy();
  }
}

/**
 * An HTTP proxy for one browser (Playwright's `proxy` launch option; it
 * proxies loopback too) whose network can be cut: `cut(ms)` drops every
 * connection through it and refuses new ones for `ms`, as when a laptop's
 * Wi-Fi drops. Page loads, server-sent events and WebSockets (LiveKit's
 * signalling, tunnelled with CONNECT) go through it; WebRTC's media does
 * not (UDP, straight to LiveKit).
 */
export class CuttableProxy {
  private readonly server: http.Server;
  private readonly sockets = new Set<net.Socket>();
  private downUntil = 0;
  /** Connections refused while the network was down. */
  refused = 0;

  constructor() {
    this.server = http.createServer((req, res) => {
      const target = new URL(req.url ?? '/');
      const up = http.request(
        { host: target.hostname, port: target.port, path: target.pathname + target.search, method: req.method, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      up.on('socket', (s) => this.track(s));
      up.on('error', () => res.destroy());
      req.pipe(up);
    });
    this.server.on('connect', (req, client: net.Socket, head: Buffer) => {
      const [host, port] = (req.url ?? '').split(':');
      const up = net.connect(Number(port), host, () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        up.write(head);
        up.pipe(client);
        client.pipe(up);
      });
      this.track(up);
      up.on('error', () => client.destroy());
      client.on('error', () => up.destroy());
    });
    this.server.on('connection', (s: net.Socket) => {
      if (Date.now() < this.downUntil) {
        this.refused += 1;
        return s.destroy();
      }
      this.track(s);
    });
  }

  private track(s: net.Socket) {
    this.sockets.add(s);
    s.on('close', () => this.sockets.delete(s));
  }

  /** Listens on a free loopback port; its address for `proxy.server`. */
  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as net.AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  /** Drops every connection now and refuses new ones for `ms`. */
  cut(ms: number) {
    this.downUntil = Date.now() + ms;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  stop() {
    this.cut(0);
    this.server.close();
  }
}
