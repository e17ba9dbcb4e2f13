import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Counter, createRegistry, startMetricsServer } from '@tiermail/core';

test('/metrics serves the registry in Prometheus text format and counters move', async () => {
  const registry = createRegistry({ service: 'test' });
  const deliveries = new Counter({ name: 'tiermail_test_deliveries_total', help: 'deliveries', labelNames: ['result'], registers: [registry] });
  const srv = await startMetricsServer(registry, '127.0.0.1', 0);
  try {
    deliveries.inc({ result: 'ok' }, 3);
    const res = await fetch(`http://127.0.0.1:${srv.port}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
    const body = await res.text();
    assert.match(body, /tiermail_test_deliveries_total\{result="ok",service="test"\} 3/);
    assert.match(body, /tiermail_process_cpu_user_seconds_total/);
    deliveries.inc({ result: 'ok' });
    assert.match(await (await fetch(`http://127.0.0.1:${srv.port}/metrics`)).text(), /deliveries_total\{result="ok",service="test"\} 4/);
    assert.equal((await fetch(`http://127.0.0.1:${srv.port}/nope`)).status, 404);
  } finally {
    await srv.close();
  }
});
