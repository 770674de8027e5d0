// An SSE server on Node's `http` module: a set of responses per topic, and each published body
// written to all of them.
//
//   GET  /sub/{topic}  subscribe (text/event-stream)
//   POST /pub/{topic}  publish the body to the topic's subscribers
//
// A comment goes to every stream every HEARTBEAT_MS (default 15000). Part of leptos-live's
// benchmark (bench/), not of the app.
'use strict';
const http = require('http');

const [host, port] = (process.env.ADDR || '127.0.0.1:8080').split(':');
const heartbeat = Number(process.env.HEARTBEAT_MS) || 15000;
const topics = new Map();

const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url.startsWith('/sub/')) {
    const topic = req.url.slice('/sub/'.length);
    res.writeHead(200, {
      'Content-Type': 'text/event-stream',
      'Cache-Control': 'no-cache',
      Connection: 'keep-alive',
    });
    res.flushHeaders();
    let set = topics.get(topic);
    if (!set) topics.set(topic, (set = new Set()));
    set.add(res);
    req.on('close', () => {
      set.delete(res);
      if (set.size === 0 && topics.get(topic) === set) topics.delete(topic);
    });
  } else if (req.method === 'POST' && req.url.startsWith('/pub/')) {
    const topic = req.url.slice('/pub/'.length);
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      const frame = 'data: ' + Buffer.concat(chunks).toString() + '\n\n';
      for (const sub of topics.get(topic) || []) sub.write(frame);
      res.writeHead(204).end();
    });
  } else {
    res.writeHead(404).end();
  }
});

setInterval(() => {
  for (const set of topics.values()) for (const res of set) res.write(':\n\n');
}, heartbeat);

server.listen(Number(port), host, () => console.log(`listening on http://${host}:${port}`));
