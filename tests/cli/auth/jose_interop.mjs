// JWTs between llmspell's auth namespace and jose (a JWT library we did not write), both ways.
//   node jose_interop.mjs NODE_MODULES DIR make    -> keys (PEM) and jose-signed tokens in DIR
//   node jose_interop.mjs NODE_MODULES DIR check   -> verifies DIR/llmspell_tokens.json with jose
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import fs from 'node:fs';
import path from 'node:path';

const [, , nodeModules, dir, mode] = process.argv;
const jose = await import(pathToFileURL(createRequire(path.join(nodeModules, 'x.js')).resolve('jose')).href);
const secret = 'an HS256 secret of at least 32 bytes!!';
const algs = { RS256: 'rsa', ES256: 'ec', EdDSA: 'ed' };

if (mode === 'make') {
  const tokens = {};
  tokens.HS256 = await new jose.SignJWT({ sub: 'ann', role: 'admin' })
    .setProtectedHeader({ alg: 'HS256' }).setIssuer('jose').setAudience('llmspell').setIssuedAt().setExpirationTime('5m')
    .sign(new TextEncoder().encode(secret));
  for (const [alg, name] of Object.entries(algs)) {
    const { publicKey, privateKey } = await jose.generateKeyPair(alg, alg === 'EdDSA' ? { crv: 'Ed25519', extractable: true } : { extractable: true });
    fs.writeFileSync(path.join(dir, `${name}.pem`), await jose.exportPKCS8(privateKey));
    fs.writeFileSync(path.join(dir, `${name}.pub`), await jose.exportSPKI(publicKey));
    tokens[alg] = await new jose.SignJWT({ sub: 'ann', n: 42 })
      .setProtectedHeader({ alg }).setIssuer('jose').setAudience('llmspell').setIssuedAt().setExpirationTime('5m')
      .sign(privateKey);
  }
  tokens.expired = await new jose.SignJWT({ sub: 'old' }).setProtectedHeader({ alg: 'HS256' })
    .setIssuedAt(1000).setExpirationTime(2000).sign(new TextEncoder().encode(secret));
  fs.writeFileSync(path.join(dir, 'jose_tokens.json'), JSON.stringify(tokens));
  fs.writeFileSync(path.join(dir, 'secret.txt'), secret);
} else {
  const tokens = JSON.parse(fs.readFileSync(path.join(dir, 'llmspell_tokens.json'), 'utf8'));
  for (const [alg, token] of Object.entries(tokens)) {
    const key = alg === 'HS256' ? new TextEncoder().encode(secret)
      : await jose.importSPKI(fs.readFileSync(path.join(dir, `${algs[alg]}.pub`), 'utf8'), alg);
    try {
      const { payload, protectedHeader } = await jose.jwtVerify(token, key, { issuer: 'llmspell', audience: 'jose', algorithms: [alg] });
      console.log(`jose verified ${protectedHeader.alg} sub=${payload.sub} n=${payload.n}`);
    } catch (e) {
      console.log(`jose refused ${alg}: ${e.code} ${e.message}`);
    }
  }
}
