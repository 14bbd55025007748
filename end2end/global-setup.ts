// The server is started by scripts/e2e; wait until it answers.
export default async function globalSetup() {
  const port = process.env.HANDOO_E2E_PORT ?? '3107';
  const url = `http://127.0.0.1:${port}/api/v1/health`;
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`server did not answer at ${url}`);
}
