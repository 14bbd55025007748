// Open-loop latency: requests sent on a fixed schedule, whatever the server
// is doing, over a fixed number of keep-alive connections.
//
//   node scripts/open-loop.mjs <url> <cookie header> <connections> <duration s> <rate> [rate...]
//
// wrk's closed loop (each connection sends its next request when the last
// answer arrives) measures throughput: at saturation its latency is only
// connections ÷ throughput (Little's law), the time a request waits behind
// the 49 others. This measures what a request costs at a given load, the way
// traffic really arrives. Request i is due at start + i/rate; its latency
// runs from that due time, not from when a free connection took it, so a
// server that falls behind is charged for the queue it builds (no
// "coordinated omission").
import http from 'node:http';

const [url, cookie, conns, secs, ...rates] = process.argv.slice(2);
if (!url || !rates.length) {
  console.error('usage: open-loop.mjs <url> <cookie> <connections> <duration s> <rate> [rate...]');
  process.exit(2);
}
const connections = Number(conns);
const duration = Number(secs) * 1000;
const target = new URL(url);

function once(agent) {
  return new Promise((resolve) => {
    const req = http.request(
      { host: target.hostname, port: target.port, path: target.pathname, agent, headers: { cookie } },
      (res) => {
        res.on('data', () => {});
        res.on('end', () => resolve(res.statusCode));
      },
    );
    req.on('error', () => resolve(0));
    req.end();
  });
}

async function run(rate) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  // Open the connections first, so the run does not measure TCP set-up.
  await Promise.all(Array.from({ length: connections }, () => once(agent)));
  const latencies = [];
  let failed = 0;
  const pending = new Set();
  const start = performance.now();
  let sent = 0;
  await new Promise((done) => {
    const tick = () => {
      const now = performance.now();
      const due = Math.min(Math.floor(((now - start) * rate) / 1000), Math.floor((duration * rate) / 1000));
      for (; sent < due; sent++) {
        const dueAt = start + (sent * 1000) / rate;
        const p = once(agent).then((status) => {
          if (status === 200) latencies.push(performance.now() - dueAt);
          else failed++;
          pending.delete(p);
        });
        pending.add(p);
      }
      if (now - start < duration) setTimeout(tick, 1);
      else Promise.all(pending).then(done);
    };
    tick();
  });
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const q = (p) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
  const ms = (v) => `${v.toFixed(2)} ms`;
  const achieved = latencies.length / (duration / 1000);
  console.log(
    `  ${rate} req/s offered, ${achieved.toFixed(0)} answered/s: p50 ${ms(q(0.5))}  p90 ${ms(q(0.9))}  p99 ${ms(q(0.99))}` +
      (failed ? `  (${failed} failed)` : ''),
  );
}

for (const rate of rates) await run(Number(rate));
