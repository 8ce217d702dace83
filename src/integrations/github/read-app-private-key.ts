import { createPrivateKey } from 'node:crypto';
import { PatchbayError } from '../../domain/errors.js';

const HINT =
  'Paste the whole .pem file GitHub gave for the App (BEGIN/END lines included); in a .env file write it on one line with \\n for each line break.';

/**
 * `GITHUB_APP_PRIVATE_KEY` → a PKCS#8 PEM that the JWT signer accepts. The value may hold real line
 * breaks or `\n` escapes (one-line .env values); GitHub hands out PKCS#1 keys, which are converted
 * here. A value that is not an RSA private key fails at start-up, naming the variable and never
 * echoing it: the error lands in logs and in the terminal.
 */
export function readAppPrivateKey(raw: string): string {
  const text = raw.replace(/\\r/g, '').replace(/\\n/g, '\n').trim();
  let key: ReturnType<typeof createPrivateKey>;
  try {
    key = createPrivateKey(text);
  } catch {
    // The cause is dropped on purpose: OpenSSL's errors are vague and some parsers quote their input.
    throw new PatchbayError('invalid_config', 'GITHUB_APP_PRIVATE_KEY is not a readable PEM private key', {
      hint: HINT,
    });
  }
  if (key.asymmetricKeyType !== 'rsa') {
    throw new PatchbayError('invalid_config', 'GITHUB_APP_PRIVATE_KEY is not an RSA private key', {
      hint: HINT,
    });
  }
  return key.export({ type: 'pkcs8', format: 'pem' }).toString();
}
