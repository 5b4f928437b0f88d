// Verifies every case of cordon's interop matrix (cases.json, written by
// `cargo xtask test`) with sigstore-js (@sigstore/verify), offline, against the case's
// trusted_root.json. Prints one line per case: "sigstore-js <name> accepted" or
// "sigstore-js <name> rejected: <reason>". Exit status 0: the caller judges the verdicts.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(process.cwd() + '/');
const { bundleFromJSON } = require('@sigstore/bundle');
const { TrustedRoot } = require('@sigstore/protobuf-specs');
// CORDON_SIGSTORE_VERIFY picks another installed version (e.g. @sigstore/verify-4).
const { Verifier, toSignedEntity, toTrustMaterial } = require(process.env.CORDON_SIGSTORE_VERIFY || '@sigstore/verify');

const cases = JSON.parse(readFileSync(process.argv[2], 'utf8'));
for (const c of cases) {
  let verdict;
  try {
    const root = TrustedRoot.fromJSON(JSON.parse(readFileSync(c.trusted_root, 'utf8')));
    const verifier = new Verifier(toTrustMaterial(root), { tlogThreshold: 1, ctlogThreshold: 1, timestampThreshold: 1 });
    const bundle = bundleFromJSON(JSON.parse(readFileSync(c.bundle, 'utf8')));
    const artifact = readFileSync(c.artifact);
    const entity = toSignedEntity(bundle, bundle.content.$case === 'messageSignature' ? artifact : undefined);
    const signer = verifier.verify(entity, { subjectAlternativeName: c.identity, extensions: { issuer: c.issuer } });
    if (bundle.content.$case === 'dsseEnvelope') {
      // sigstore-js checks the envelope, not the statement's subjects: do that here, as
      // its CLI and every in-toto consumer do.
      const statement = JSON.parse(Buffer.from(bundle.content.dsseEnvelope.payload).toString('utf8'));
      const { createHash } = await import('node:crypto');
      const digest = createHash('sha256').update(artifact).digest('hex');
      if (!statement.subject.some((s) => s.digest && s.digest.sha256 === digest)) {
        throw new Error('artifact digest is not a subject of the statement');
      }
    }
    verdict = signer ? 'accepted' : 'rejected: no signer';
  } catch (error) {
    verdict = `rejected: ${error.message}`;
  }
  console.log(`sigstore-js ${c.name} ${verdict}`);
}
