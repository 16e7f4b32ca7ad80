#!/usr/bin/env node
// The npm package s3rver as the tests' S3 server: s3rver.js MODULES_DIR DATA_DIR BUCKET [KEY_ID SECRET].
// Binds a free loopback port, creates BUCKET, accepts only KEY_ID when given, else any key, as
// moto_server does (s3rver itself knows only its own key; it does not check SigV4 signatures), and logs one line per request in the format of
// moto_server's log ("METHOD PATH HTTP/1.1" STATUS), so that the tests read either server's log alike.
'use strict';
const path = require('path');
const [modules, directory, bucket, keyId, secret] = process.argv.slice(2);
const S3rver = require(path.join(modules, 's3rver'));
const AWSAccount = require(path.join(modules, 's3rver/lib/models/account'));

if (keyId) {
  AWSAccount.DUMMY_ACCOUNT.createKeyPair(keyId, secret);
} else {
  const known = AWSAccount.registry;
  AWSAccount.registry = { get: () => AWSAccount.DUMMY_ACCOUNT, set: (k, v) => known.set(k, v) };
}
const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  silent: true,
  directory,
  vhostBuckets: false,
  configureBuckets: [{ name: bucket }],
});
const pad = n => String(n).padStart(2, '0');
server.run().then(({ port }) => {
  server.httpServer.on('request', (req, res) => {
    res.on('finish', () => {
      const d = new Date();
      const when = `${pad(d.getUTCDate())}/${d.toLocaleString('en', { month: 'short', timeZone: 'UTC' })}/` +
        `${d.getUTCFullYear()} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
      process.stdout.write(`127.0.0.1 - - [${when}] "${req.method} ${req.url} HTTP/${req.httpVersion}" ${res.statusCode} -\n`);
    });
  });
  process.stdout.write(`Running on http://127.0.0.1:${port}\n`);
}, err => {
  process.stderr.write(`s3rver: ${err.message}\n`);
  process.exit(1);
});
