// What the specs against LiveKit's real server share: the environment the
// conformance suite hands them, and the SIP phone's (baresip's) control port.
import * as net from 'node:net';

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
