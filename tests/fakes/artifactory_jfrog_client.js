// Drives JFrog's official JavaScript client (npm `jfrog-client-js`) against an Artifactory
// server, to show that the wire fake answers the way that client expects.
//
// Environment: JFROG_URL (base URL ending in /artifactory), JFROG_TOKEN, JFROG_FILE (repo path
// of an existing file), JFROG_MISSING (repo path of a file that does not exist).
// Prints one JSON object with what the client observed; exits 0 unless the client crashed.
'use strict';

const { JfrogClient } = require('jfrog-client-js');

const logger = { debug() {}, info() {}, warn() {}, error() {} };

function client(token) {
  return new JfrogClient({
    artifactoryUrl: process.env.JFROG_URL + '/',
    accessToken: token,
    retries: 0,
    timeout: 5000,
    logger,
  }).artifactory();
}

async function status(promise) {
  try {
    await promise;
    return 'ok';
  } catch (e) {
    return e.response ? e.response.status : String(e.code || e.message);
  }
}

(async () => {
  const good = client(process.env.JFROG_TOKEN);
  const bad = client('not-the-token');
  const out = {};
  out.ping = await good.system().ping();
  out.version = (await good.system().version()).version;
  const content = await good.download().downloadArtifact(process.env.JFROG_FILE);
  // axios decodes a JSON body; report what the client handed back.
  out.content = content;
  const sums = await good.download().getArtifactChecksum(process.env.JFROG_FILE);
  out.header_sha256 = sums.sha256;
  out.header_sha1 = sums.sha1;
  out.missing = await status(good.download().downloadArtifact(process.env.JFROG_MISSING));
  out.missing_head = await status(good.download().getArtifactChecksum(process.env.JFROG_MISSING));
  out.bad_token = await status(bad.download().downloadArtifact(process.env.JFROG_FILE));
  process.stdout.write(JSON.stringify(out) + '\n');
})().catch((e) => {
  process.stderr.write('jfrog-client-js failed: ' + (e && e.message) + '\n');
  process.exit(2);
});
